import CLua
import Foundation
import NIOCore
import NIOPosix
import XCTest
@testable import LuaHost

/// Preemption, stop and the CPU budget (LuaScript+Guard.swift), with scripts sharing one loop.
final class GuardTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!

    override func setUp() { group = MultiThreadedEventLoopGroup(numberOfThreads: 1) }
    override func tearDown() { try? group.syncShutdownGracefully() }

    /// Starts `source` on the test's one loop, its output going to `output`.
    private func start(_ source: String, output: CapturedOutput, cpuLimit: TimeAmount? = nil) throws -> LuaScript {
        var options = ScriptOptions(path: try writeScript(source), output: output.output)
        options.cpuLimit = cpuLimit
        let script = LuaScript(options: options, eventLoop: group.next())
        script.start()
        return script
    }

    private func wait(_ script: LuaScript, seconds: Int64 = 20) throws -> ScriptEnd {
        let stopper = script.eventLoop.scheduleTask(in: .seconds(seconds)) { script.stop() }
        defer { stopper.cancel() }
        return try script.ended.wait()
    }

    private func counters(_ script: LuaScript) throws -> GuardCounters {
        try script.eventLoop.submit { script.guardCounters }.wait()
    }

    func testABusyCallbackIsPreemptedButKeepsItsScriptsTurn() throws {
        let out = CapturedOutput()
        let script = try start("""
        timer.after(0, function()
          print("busy start")
          local t = os.clock()
          while os.clock() - t < 0.3 do end
          print("busy end")
        end)
        timer.after(0.01, function() print("second") end)
        """, output: out)
        XCTAssertEqual(try wait(script), .finished)
        XCTAssertEqual(out.lines, ["busy start", "busy end", "second"])
        XCTAssertGreaterThan(try counters(script).preemptions, 0)
    }

    func testAnotherScriptOnTheSameLoopRunsWhileOneSpins() throws {
        let out = CapturedOutput()
        let ticker = try start("""
        local h
        h = timer.every(0.02, function() print("tick") end)
        timer.after(5, function() h:cancel() end)
        _G.h = h
        """, output: out)
        let spinner = try start("""
        timer.after(0.05, function()
          local t = os.clock()
          while os.clock() - t < 0.5 do end
          print("spun")
        end)
        """, output: out)
        XCTAssertEqual(try wait(spinner), .finished)
        ticker.stop()
        _ = try ticker.ended.wait()
        let lines = out.lines
        let spun = try XCTUnwrap(lines.firstIndex(of: "spun"))
        // 0.5 s of spinning after 0.05 s: about 25 ticks fall inside it.
        XCTAssertGreaterThanOrEqual(lines[..<spun].filter { $0 == "tick" }.count, 10, "\(lines)")
    }

    func testStopEndsAMainChunkThatNeverWaits() throws {
        let out = CapturedOutput()
        let script = try start("print('spinning')\nwhile true do end\n", output: out)
        Thread.sleep(forTimeInterval: 0.1)
        let asked = Date()
        script.stop()
        XCTAssertEqual(try script.ended.wait(), .stopped)
        XCTAssertLessThan(Date().timeIntervalSince(asked), 2)
        XCTAssertEqual(out.lines, ["spinning"])
    }

    func testAStopLetsTheRunningShortCallbackFinishAndStartsNoOther() throws {
        let out = CapturedOutput()
        let options = ScriptOptions(path: try writeScript("""
        timer.after(0, function()
          stopme()
          print("finished")
        end)
        timer.after(0, function() print("second") end)
        """), output: out.output)
        let script = LuaScript(options: options, eventLoop: group.next())
        // stopme() asks for the stop from inside the callback, as a signal arriving then would.
        try script.eventLoop.submit {
            lua_pushcclosure(script.L, { L in LuaScript.host(L!).requestStop(); return 0 }, 0)
            lua_setglobal(script.L, "stopme")
        }.wait()
        script.start()
        XCTAssertEqual(try wait(script), .stopped)
        XCTAssertEqual(out.lines, ["finished"])
    }

    func testRequestStopReachesCodeThatCannotYield() throws {
        let out = CapturedOutput()
        let script = try start("""
        local ok = pcall(table.sort, {3, 2, 1}, function() while true do end end)
        print("after", ok)
        """, output: out)
        Thread.sleep(forTimeInterval: 0.1)
        script.stop()
        XCTAssertEqual(try script.ended.wait(), .stopped)
        XCTAssertEqual(out.lines, [])
    }

    func testCallbackOverBudgetIsEndedAndCounted() throws {
        let out = CapturedOutput()
        let script = try start("""
        timer.after(0, function()
          pcall(function() while true do end end)
          print("not reached")
        end)
        timer.after(0.01, function() print("next") end)
        """, output: out, cpuLimit: .milliseconds(200))
        XCTAssertEqual(try wait(script), .finished)
        XCTAssertEqual(out.lines, ["next"])
        XCTAssertEqual(try counters(script).cpuLimitViolations, 1)
        XCTAssertTrue(out.stderr.contains("CPU limit of 0.2 s"), out.stderr)
        XCTAssertTrue(out.stderr.contains("test.lua:2:"), out.stderr)
    }

    func testCPUTimeAddsUpOverASlicedCallbackButNotOverItsSleeps() throws {
        // 3 x 0.15 s of CPU in one callback goes over 0.4 s; the sleeps between do not count.
        let out = CapturedOutput()
        let script = try start("""
        timer.after(0, function()
          for i = 1, 3 do
            local t = os.clock()
            while os.clock() - t < 0.15 do end
            print("burst", i)
            sleep(0.3)
          end
          print("not reached")
        end)
        """, output: out, cpuLimit: .milliseconds(400))
        XCTAssertEqual(try wait(script), .finished)
        XCTAssertEqual(out.lines, ["burst\t1", "burst\t2"])
        XCTAssertEqual(try counters(script).cpuLimitViolations, 1)

        let out2 = CapturedOutput()
        let calm = try start("""
        timer.after(0, function()
          for i = 1, 3 do
            local t = os.clock()
            while os.clock() - t < 0.05 do end
            sleep(0.2)
          end
          print("done")
        end)
        """, output: out2, cpuLimit: .milliseconds(400))
        XCTAssertEqual(try wait(calm), .finished)
        XCTAssertEqual(out2.lines, ["done"])
    }

    func testCoroutineResumeAndWrapBehaveAsLuasOwn() throws {
        // The guard replaces both (to know which coroutine runs): results, errors and their
        // positions, and the messages for dead or running coroutines stay Lua's.
        let out = CapturedOutput()
        let script = try start("""
        local co = coroutine.create(function(a, b)
          local c = coroutine.yield(a + b)
          return c * 2
        end)
        print(coroutine.resume(co, 1, 2))
        print(coroutine.resume(co, 10))
        print(coroutine.resume(co))
        print(coroutine.resume(coroutine.running()))
        print(pcall(coroutine.resume, 42))
        local gen = coroutine.wrap(function() for i = 1, 2 do coroutine.yield(i) end end)
        print(gen(), gen())
        local bad = coroutine.wrap(function() error("oops") end)
        print(pcall(bad))
        local bad2 = coroutine.wrap(function() error({}) end)
        print(select("#", pcall(bad2)), type(select(2, pcall(coroutine.wrap(function() error({}) end)))))
        print(pcall(coroutine.wrap, 1))
        print(coroutine.isyieldable(), select(2, coroutine.running()))
        """, output: out)
        XCTAssertEqual(try wait(script), .finished)
        let dir = script.options.path.replacingOccurrences(of: "test.lua", with: "")
        XCTAssertEqual(out.lines.map { $0.replacingOccurrences(of: dir, with: "") }, [
            "true\t3",
            "true\t20",
            "false\tcannot resume dead coroutine",
            "false\tcannot resume non-suspended coroutine",
            "false\tbad argument #1 to 'coroutine.resume' (thread expected, got number)",
            "1\t2",
            "false\ttest.lua:12: oops",
            "2\ttable",
            "false\tbad argument #1 to 'coroutine.wrap' (function expected, got number)",
            "true\tfalse",
        ], out.stderr)
    }

    func testCallbackOverBudgetInsideItsOwnCoroutineIsEnded() throws {
        let out = CapturedOutput()
        let script = try start("""
        timer.after(0, function()
          local co = coroutine.wrap(function() while true do end end)
          print(pcall(co))
          print("not reached")
        end)
        timer.after(0.01, function() print("next") end)
        """, output: out, cpuLimit: .milliseconds(200))
        XCTAssertEqual(try wait(script), .finished)
        XCTAssertEqual(out.lines, ["next"])
        XCTAssertEqual(try counters(script).cpuLimitViolations, 1)
        XCTAssertTrue(out.stderr.contains("test.lua:2:"), out.stderr)
    }

    func testShortCallbacksAreNeverPreempted() throws {
        let out = CapturedOutput()
        let script = try start("""
        local n = 0
        local h
        h = timer.every(0.001, function()
          n = n + 1
          if n == 200 then h:cancel() print("done") end
        end)
        """, output: out)
        XCTAssertEqual(try wait(script), .finished)
        XCTAssertEqual(out.lines, ["done"])
        XCTAssertEqual(try counters(script), GuardCounters())
    }
}
