#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOPosix
import XCTest
@testable import LuaHost

/// `LuaScript.reload(with:version:)` on one VM, without the runner or a connection: what
/// `state` carries, what the old version leaves behind, and a failed version kept out.
final class ScriptReloadTests: XCTestCase {
    /// A script started from `source`, to be reloaded with new text in the same file.
    final class Running {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let captured = CapturedOutput()
        let options: ScriptOptions
        var script: LuaScript

        init(_ source: String, cpuLimit: TimeAmount? = ScriptOptions.defaultCPULimit) throws {
            var options = ScriptOptions(path: try writeScript(source, name: "bot.lua"), output: captured.output)
            options.cpuLimit = cpuLimit
            self.options = options
            script = LuaScript(options: options, eventLoop: group.next())
            script.start()
        }

        func waitFor(_ text: String, timeout: Double = 10) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if captured.stdout.contains(text) { return true }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return false
        }

        func reload(_ source: String, version: Int = 2) throws -> ReloadOutcome {
            try source.write(toFile: options.path, atomically: true, encoding: .utf8)
            let outcome = try script.reload(with: options, version: version).wait()
            if case .replaced(let next) = outcome { script = next }
            return outcome
        }

        func finish() throws -> ScriptEnd {
            let script = self.script
            let bound = script.eventLoop.scheduleTask(in: .seconds(10)) { script.stop() }
            defer { bound.cancel() }
            return try script.ended.wait()
        }

        deinit { try? group.syncShutdownGracefully() }
    }

    func testStateCarriesPlainDataWithItsSharingAndMarksAndNamesWhatItLeavesOut() throws {
        let run = try Running("""
        state.list = {1, 2.5, "three", true}
        state.empty = json.array({})
        state.null = json.null
        state.bin = realtime.binary("\\0\\1")
        state.shared = {x = 1}
        state.again = state.shared
        state.loop = state
        state[7] = "seven"
        state[true] = "yes"
        state.fn = print
        state.co = coroutine.create(function() end)
        state[print] = 1
        state.deep = {f = function() end, keep = 2}
        timer.every(0.01, function() end)
        print("v1 ready")
        """)
        XCTAssertTrue(run.waitFor("v1 ready"), run.captured.stderr)
        guard case .replaced = try run.reload("""
        local s = state
        print(#s.list, s.list[2], s.list[3], s.list[4], math.type(s.list[1]))
        print(getmetatable(s.empty) ~= nil, json.encode(s.empty), s.null == json.null, #s.bin)
        print(s.again == s.shared, s.loop == s, s[7], s[true], s.deep.keep, s.fn, s.co, s.deep.f)
        exit(0)
        """) else { return XCTFail(run.captured.stderr) }
        XCTAssertEqual(try run.finish(), .exited(0))
        let lines = run.captured.lines
        XCTAssertEqual(Array(lines.dropFirst()), [
            "4\t2.5\tthree\ttrue\tinteger",
            "true\t[]\ttrue\t2",
            "true\ttrue\tseven\tyes\t2\tnil\tnil\tnil",
        ], run.captured.stderr)
        let warn = run.captured.stderr.split(separator: "\n").first { $0.contains("not carried over") } ?? ""
        for left in ["state.fn (function)", "state.co (thread)", "state[function] (function)", "state.deep.f (function)"] {
            XCTAssertTrue(warn.contains(left), String(warn))
        }
        XCTAssertTrue(warn.contains(" WARN [") && warn.contains("] state of v1 not carried over: "), String(warn))
    }

    func testTheOldVersionsTimersStopAndOnReloadGetsTheOldState() throws {
        let run = try Running("""
        state.n = 0
        timer.every(0.01, function() state.n = state.n + 1; print("v1 tick") end)
        sleep(0.05)
        print("v1 slept")
        """)
        XCTAssertTrue(run.waitFor("v1 tick"), run.captured.stderr)
        guard case .replaced = try run.reload("""
        local first = state.n
        state.n = -1
        function on_reload(old)
          print("on_reload", old.n == first, state.n)
          timer.after(0.1, function() exit(0) end)
        end
        """) else { return XCTFail(run.captured.stderr) }
        XCTAssertEqual(try run.finish(), .exited(0))
        let lines = run.captured.lines
        let reloaded = lines.firstIndex { $0.hasPrefix("on_reload") }
        XCTAssertEqual(reloaded.map { lines[$0] }, "on_reload\ttrue\t-1", run.captured.stdout)
        XCTAssertEqual(lines.last, "on_reload\ttrue\t-1", "nothing of v1 ran after the reload: \(run.captured.stdout)")
        XCTAssertTrue(run.captured.stderr.contains("] reloaded \(run.options.path) (v2) in "), run.captured.stderr)
    }

    func testAnHTTPRequestOfTheOldVersionFinishesAndItsResultIsDropped() throws {
        // A listener that never accepts: the request waits until its timeout.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                XCTAssertEqual(bind(fd, sa, size), 0)
                XCTAssertEqual(listen(fd, 4), 0)
                XCTAssertEqual(getsockname(fd, sa, &size), 0)
            }
        }
        let url = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))/slow"
        let run = try Running("""
        timer.after(0, function()
          print("v1 asks")
          local r, err = http.request{url = "\(url)", timeout = 0.3}
          print("v1 answer", r, err)
        end)
        """)
        XCTAssertTrue(run.waitFor("v1 asks"), run.captured.stderr)
        guard case .replaced = try run.reload("""
        timer.after(0.8, function() print("v2 done"); exit(0) end)
        """) else { return XCTFail(run.captured.stderr) }
        XCTAssertEqual(try run.finish(), .exited(0))
        XCTAssertEqual(run.captured.lines, ["v1 asks", "v2 done"], run.captured.stderr)
    }

    func testAVersionThatDoesNotLoadOrRaisesInItsMainChunkIsKeptOut() throws {
        let run = try Running("""
        timer.every(0.01, function() print("v1 tick") end)
        """, cpuLimit: .milliseconds(300))
        XCTAssertTrue(run.waitFor("v1 tick"))
        let old = run.script
        guard case .kept = try run.reload("x = = 1\n") else { return XCTFail("a syntax error replaced the script") }
        guard case .kept = try run.reload("timer.every(0.01, function() print('bad tick') end)\nerror('boom')\n") else {
            return XCTFail("a main-chunk error replaced the script")
        }
        // A main chunk that never ends is ended by the CPU limit, as at a first start.
        guard case .kept = try run.reload("while true do end\n") else { return XCTFail("an endless main chunk replaced the script") }
        XCTAssertTrue(old === run.script)
        let ticks = run.captured.lines.count
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertGreaterThan(run.captured.lines.count, ticks, "the old version goes on")
        XCTAssertFalse(run.captured.stdout.contains("bad tick"))
        run.script.stop()
        XCTAssertEqual(try run.finish(), .stopped)
        let err = run.captured.stderr
        XCTAssertTrue(err.contains("bot.lua:1: unexpected symbol near '='"), err)
        XCTAssertTrue(err.contains("bot.lua:2: boom"), err)
        XCTAssertTrue(err.contains("CPU"), err)
        XCTAssertEqual(err.components(separatedBy: "reload of \(run.options.path) failed: v1 keeps running").count - 1, 3, err)
    }
}
