import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// scripts/peer/reference_server.py as a child process on 127.0.0.1.
/// The python comes from env RTLUA_PEER_PYTHON, else <package root>/.venv-peer/bin/python
/// (made by scripts/setup); the script is found from this file's path.
final class PeerServer {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = packageRoot.appendingPathComponent("scripts/peer/reference_server.py").path

    static var python: String {
        if let env = ProcessInfo.processInfo.environment["RTLUA_PEER_PYTHON"], !env.isEmpty { return env }
        return packageRoot.appendingPathComponent(".venv-peer/bin/python").path
    }

    let arguments: [String]
    private(set) var port = 0
    private var process: Process?

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server with `arguments` (plus `--port 0`) and waits for `LISTENING <port>`.
    init(_ arguments: [String] = []) throws {
        self.arguments = arguments
        try start(port: 0)
    }

    deinit { stop() }

    /// (Re)starts on `port` (0: a free one).
    func start(port requested: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw PeerError("no python at \(Self.python): run scripts/setup or set RTLUA_PEER_PYTHON")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script, "--host", "127.0.0.1", "--port", String(requested)] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        let ready = LineWaiter()
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                ready.finish()
            } else {
                ready.append(data)
            }
        }
        try process.run()
        self.process = process
        guard let line = ready.firstLine(timeout: 30), line.hasPrefix("LISTENING "), let port = Int(line.dropFirst(10)) else {
            stop()
            throw PeerError("reference server did not start (see stderr)")
        }
        self.port = port
    }

    /// Kills the server abruptly (SIGKILL), as a crash would.
    func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Collects a child's stdout until the first line.
private final class LineWaiter: @unchecked Sendable {  // guarded by `condition`
    private let condition = NSCondition()
    private var buffer = Data()
    private var done = false

    func append(_ data: Data) {
        condition.lock()
        buffer.append(data)
        condition.broadcast()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }

    func firstLine(timeout: TimeInterval) -> String? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                return String(decoding: buffer[..<newline], as: UTF8.self)
            }
            if done || !condition.wait(until: deadline) { return nil }
        }
    }
}
