import Foundation
import XCTest

/// scripts/peer/socketio_echo_server.py running under the python-socketio venv. It prints its
/// port and exits when its stdin closes, so a crashed test leaves nothing behind.
final class PeerServer {
    let port: Int
    private let process: Process
    private let stdin: Pipe

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static var python: String {
        if let p = ProcessInfo.processInfo.environment["RTLUA_PEER_PYTHON"], !p.isEmpty { return p }
        return packageRoot.appendingPathComponent(".venv-peer/bin/python").path
    }

    init(port: Int = 0, arguments: [String] = []) throws {
        let python = PeerServer.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw NSError(domain: "PeerServer", code: 2,
                          userInfo: [NSLocalizedDescriptionKey: "python-socketio peer not found at \(python): run scripts/setup"])
        }
        let script = PeerServer.packageRoot.appendingPathComponent("scripts/peer/socketio_echo_server.py").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--port", String(port)] + arguments
        stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        // Read "PORT n" on a helper thread so a silent server costs a timeout, not a hang.
        let found = PortBox()
        let handle = stdout.fileHandleForReading
        Thread.detachNewThread {
            var text = ""
            while !text.contains("\n") {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            let line = text.split(separator: "\n").first ?? ""
            found.set(line.hasPrefix("PORT ") ? Int(line.dropFirst(5)) : nil)
        }
        guard let p = found.wait(seconds: 60) else {
            process.terminate()
            throw NSError(domain: "PeerServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "peer server did not start"])
        }
        self.port = p
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Kills the server at once (SIGKILL), as a crash would.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard process.isRunning else { return }
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        kill()
    }

    deinit { stop() }
}

private final class PortBox: @unchecked Sendable {
    private let cond = NSCondition()
    private var done = false
    private var port: Int?

    func set(_ p: Int?) {
        cond.lock()
        port = p
        done = true
        cond.broadcast()
        cond.unlock()
    }

    func wait(seconds: Double) -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        cond.lock()
        defer { cond.unlock() }
        while !done, cond.wait(until: deadline) {}
        return port
    }
}
