import Foundation
import XCTest

/// The runner against the independent python-socketio reference server
/// (scripts/peer/reference_server.py), which also lets a test push user events.
final class ReferenceServerTests: XCTestCase {
    private var server: Process?
    private var url = ""

    override func setUpWithError() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/peer/reference_server.py").path
        let python = ProcessInfo.processInfo.environment["RTLUA_PEER_PYTHON"] ?? root.appendingPathComponent(".venv-peer/bin/python").path
        // scripts/test installs the peer: a missing one is a failure, never a silent skip.
        guard FileManager.default.fileExists(atPath: script) else { throw PeerMissing(what: script) }
        guard FileManager.default.isExecutableFile(atPath: python) else { throw PeerMissing(what: "\(python) (run scripts/setup)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script, "--port", "0", "--key", "good", "--master-key", "master"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        // `LISTENING <port>` on the first line.
        let lines = LineReader(out.fileHandleForReading)
        guard let line = lines.next(timeout: 60), line.hasPrefix("LISTENING ") else {
            struct ReferenceServerDidNotStart: Error {}
            throw ReferenceServerDidNotStart()
        }
        url = "http://127.0.0.1:\(line.dropFirst("LISTENING ".count))"
    }

    override func tearDown() {
        if let server, server.isRunning {
            server.interrupt()
            server.waitUntilExit()
        }
    }

    func testEveryRealtimeMethodAgainstTheReferenceServer() throws {
        let r = try rtlua(["run", "--url", url, "--key", "good", "every.lua", "--", url],
                          files: ["every.lua": RealtimeMethodsTests.everyMethod], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines.last, "done", r.stdout + r.stderr)
        XCTAssertEqual(r.lines.count, 15, r.stdout)
    }

    func testUserEventsReachTheScript() throws {
        let r = try rtlua(["run", "--url", url, "--key", "good", "--session", "tok", "user.lua", "--", url, "master"],
                          files: ["user.lua": ServeTests.userEventScript], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.sorted(), ["status\t200", "user event\tuser:signin\tu7"], r.stderr)
    }

    func testWrongKeyIsReportedThroughOnErrorAndTheScriptEnds() throws {
        let r = try rtlua(["run", "--url", url, "--key", "wrong", "bad.lua"], files: ["bad.lua": """
        realtime:onError(function(err) print("refused", type(err.message)) end)
        realtime:onConnect(function() print("connected?!") end)
        """], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["refused\tstring"])
    }
}

struct PeerMissing: Error, CustomStringConvertible {
    var what: String
    var description: String { "missing \(what)" }
}

/// Reads lines from a pipe with a timeout.
final class LineReader: @unchecked Sendable {  // `buffer` guarded by `lock`
    private let lock = NSCondition()
    private var buffer = Data()

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock()
            self.buffer.append(d)
            self.lock.broadcast()
            self.lock.unlock()
            if d.isEmpty { h.readabilityHandler = nil }
        }
    }

    func next(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                return line
            }
            if !lock.wait(until: deadline) { return nil }
        }
    }
}
