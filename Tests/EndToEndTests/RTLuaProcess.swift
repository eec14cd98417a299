import Foundation
import XCTest

/// The built `rtlua` binary (env RTLUA_BIN, else `<package root>/.build/debug/rtlua`) run
/// as a real process, its output collected while it runs.
final class RTLuaProcess: @unchecked Sendable {  // buffers guarded by `lock`
    static var binary: String {
        if let bin = ProcessInfo.processInfo.environment["RTLUA_BIN"], !bin.isEmpty { return bin }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/rtlua").path
    }

    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let stdinPipe = Pipe()

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// `launcher`: a command that runs the binary (`["/usr/bin/prlimit", "--nofile=512", "--"]`).
    init(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:], launcher: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: launcher.first ?? Self.binary)
        process.arguments = launcher.isEmpty ? arguments : Array(launcher.dropFirst()) + [Self.binary] + arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for key in ["RTLUA_URL", "RTLUA_CLIENT_KEY", "RTLUA_SESSION"] { env[key] = nil }
        env.merge(environment) { _, new in new }
        process.environment = env
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = stdinPipe
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.out.append(d) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.err.append(d) }
        }
        try process.run()
    }

    func writeStdin(_ text: String) {
        stdinPipe.fileHandleForWriting.write(Data(text.utf8))
    }

    func closeStdin() {
        try? stdinPipe.fileHandleForWriting.close()
    }

    func signal(_ sig: Int32) {
        kill(process.processIdentifier, sig)
    }

    /// Waits until `condition` holds on the output so far; false after `timeout` seconds.
    @discardableResult
    func waitFor(timeout: Double = 30, _ condition: (RTLuaProcess) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition(self)
    }

    /// The exit status; a process still running after `timeout` seconds is killed (status -9).
    func waitForExit(timeout: Double = 60) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -9
        }
        process.waitUntilExit()
        // Let the pipe handlers drain what is left.
        Thread.sleep(forTimeInterval: 0.05)
        return process.terminationStatus
    }
}

/// One parent folder for every test directory of this test process, removed when the
/// process exits (thousands of tests would otherwise leave thousands of folders in /tmp).
let scriptDirectoryParent: URL = {
    let parent = FileManager.default.temporaryDirectory.appendingPathComponent("rtlua-e2e-\(getpid())")
    try? FileManager.default.removeItem(at: parent)  // a stale one from a recycled pid
    atexit { try? FileManager.default.removeItem(at: scriptDirectoryParent) }
    return parent
}()

/// A fresh temp directory with the given files.
func scriptDirectory(_ files: [String: String]) throws -> URL {
    let dir = scriptDirectoryParent.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, text) in files {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return dir
}

struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs `rtlua <arguments>` in a directory holding `files` to its end.
func rtlua(_ arguments: [String], files: [String: String] = [:], stdin: String? = nil,
           environment: [String: String] = [:], timeout: Double = 60) throws -> Finished {
    let dir = try scriptDirectory(files)
    let p = try RTLuaProcess(arguments, directory: dir, environment: environment)
    if let stdin { p.writeStdin(stdin) }
    p.closeStdin()
    let status = p.waitForExit(timeout: timeout)
    return Finished(status: status, stdout: p.stdout, stderr: p.stderr)
}
