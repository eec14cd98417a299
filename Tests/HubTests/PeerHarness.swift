import Foundation
import NIOCore
import NIOPosix
import XCTest

@testable import Hub

/// Starts a Hub in-process on a free port and runs a python-socketio scenario against it
/// (peer/hub_peer.py). The scenario asserts what each client receives; its exit status
/// and output come back here. Every run is bounded by a timeout.
enum PeerHarness {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        if let p = ProcessInfo.processInfo.environment["RTLUA_PEER_PYTHON"], !p.isEmpty { return p }
        return packageRoot.appendingPathComponent(".venv-peer/bin/python").path
    }

    static let script = packageRoot.appendingPathComponent("Tests/HubTests/peer/hub_peer.py").path

    /// Starts a hub with `config`, runs `scenario`, shuts the hub down.
    static func run(
        _ scenario: String, config: HubConfig = HubConfig(), options: [String: Any] = [:],
        timeout: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("python-socketio peer not found at \(python): run scripts/setup or set RTLUA_PEER_PYTHON", file: file, line: line)
            return
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let hub = try Hub.start(config: config, group: group).wait()
        defer { try? hub.shutdown().wait() }

        let optionsJSON = String(decoding: try JSONSerialization.data(withJSONObject: options), as: UTF8.self)
        let result = try runProcess(python, [script, hub.baseURL, scenario, optionsJSON], timeout: timeout)
        if result.status != 0 || !result.output.contains("PASS \(scenario)") {
            XCTFail("scenario \(scenario) failed (exit \(result.status)):\n\(result.output)", file: file, line: line)
        }
    }

    /// A scenario running in the background while the test acts on the hub.
    final class Running {
        let process = Process()
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("hub-peer-\(UUID().uuidString).log")
        let done = DispatchSemaphore(value: 0)

        init(_ scenario: String, hub: Hub) throws {
            _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
            let out = try FileHandle(forWritingTo: outURL)
            process.executableURL = URL(fileURLWithPath: PeerHarness.python)
            process.arguments = [PeerHarness.script, hub.baseURL, scenario, "{}"]
            process.standardOutput = out
            process.standardError = out
            process.standardInput = FileHandle.nullDevice
            process.terminationHandler = { [done] _ in done.signal() }
            try process.run()
        }

        /// Polls the output until it holds `marker` (true) or `timeout` passes (false).
        func waitForOutput(_ marker: String, timeout: TimeInterval) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let text = try? String(contentsOf: outURL, encoding: .utf8), text.contains(marker) { return true }
                if !process.isRunning { return false }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }

        /// Waits for the exit (killing it after `timeout`); returns the result.
        func finish(timeout: TimeInterval) -> ProcessResult {
            var killed = false
            if done.wait(timeout: .now() + timeout) == .timedOut {
                killed = true
                process.terminate()
                _ = done.wait(timeout: .now() + 5)
            }
            var text = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: outURL)
            if killed { text += "\n[killed after \(Int(timeout)) s]" }
            return ProcessResult(status: killed ? -1 : process.terminationStatus, output: text)
        }
    }

    struct ProcessResult {
        var status: Int32
        var output: String
    }

    /// Runs a process with output to a temp file (no pipe to fill up); kills it after `timeout`.
    static func runProcess(_ executable: String, _ args: [String], timeout: TimeInterval) throws -> ProcessResult {
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("hub-peer-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL) }
        let out = try FileHandle(forWritingTo: outURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        var killed = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            killed = true
            p.terminate()
            _ = done.wait(timeout: .now() + 5)
        }
        try out.close()
        var text = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        if killed { text += "\n[killed after \(Int(timeout)) s]" }
        return ProcessResult(status: killed ? -1 : p.terminationStatus, output: text)
    }
}
