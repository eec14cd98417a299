import XCTest
@testable import LuaHost

/// Coroutines, timers, schedules and the life of a script.
final class SchedulerTests: XCTestCase {
    func testSleepPausesOnlyItsCoroutine() throws {
        let run = try runScript("""
        timer.after(0.01, function() print("timer") end)
        print("before")
        sleep(0.2)
        print("after")
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["before", "timer", "after"])
    }

    func testCallbacksRunOneAtATimeEvenWhenTheySleep() throws {
        let run = try runScript("""
        local depth = 0
        for i = 1, 3 do
          timer.after(0, function()
            depth = depth + 1
            print("in", i, depth)
            depth = depth - 1
            sleep(0.01)
            print("out", i)
          end)
        end
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines.filter { $0.hasPrefix("in") }, ["in\t1\t1", "in\t2\t1", "in\t3\t1"])
        XCTAssertEqual(run.lines.filter { $0.hasPrefix("out") }.count, 3)
    }

    func testTimerEveryRepeatsUntilCancelled() throws {
        let run = try runScript("""
        local n = 0
        local h
        h = timer.every(0.01, function()
          n = n + 1
          print("tick", n)
          if n == 3 then h:cancel() end
        end)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["tick\t1", "tick\t2", "tick\t3"])
    }

    func testCancelledTimerNeverFires() throws {
        let run = try runScript("""
        local h = timer.after(0.05, function() print("fired") end)
        h:cancel()
        h:cancel()
        print("done")
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["done"])
    }

    func testScheduleRunsItsCallbackAndCanBeCancelled() throws {
        let run = try runScript("""
        local n = 0
        local s
        s = schedule("@every 1s", function()
          n = n + 1
          print("run", n)
          if n == 2 then s:cancel() end
        end)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["run\t1", "run\t2"])
    }

    func testBadScheduleSpecIsAnArgumentError() throws {
        let run = try runScript("schedule('not a schedule', function() end)\n")
        XCTAssertEqual(run.end, .failed)
        XCTAssertTrue(run.stderr.contains("test.lua:1: bad argument #1 to 'schedule'"), run.stderr)
    }

    func testErrorInACallbackIsReportedWithTracebackAndTheScriptGoesOn() throws {
        let run = try runScript("""
        local function explode() error("boom") end
        timer.after(0, function() explode() end)
        timer.after(0.05, function() print("still here") end)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["still here"])
        XCTAssertTrue(run.stderr.contains("test.lua:1: boom"), run.stderr)
        XCTAssertTrue(run.stderr.contains("stack traceback:"), run.stderr)
        XCTAssertTrue(run.stderr.contains("'explode'"), run.stderr)
    }

    func testErrorInTheMainChunkFailsTheScript() throws {
        let run = try runScript("""
        timer.after(10, function() print("never") end)
        print("one")
        local x = nil + 1
        """)
        XCTAssertEqual(run.end, .failed)
        XCTAssertEqual(run.end.status, 1)
        XCTAssertEqual(run.lines, ["one"])
        XCTAssertTrue(run.stderr.contains("test.lua:3: attempt to perform arithmetic on a nil value"), run.stderr)
    }

    func testSyntaxErrorIsFileLineMessage() throws {
        let run = try runScript("print('a')\nlocal = 3\n")
        XCTAssertEqual(run.end, .failed)
        // The error line carries the time and [script#instance], then `file:line: message`.
        XCTAssertTrue(run.stderr.contains(" ERROR [\(run.path)#1] \(run.path):2: "), run.stderr)
        XCTAssertEqual(run.lines, [])
    }

    func testExitEndsTheScriptAtOnceWithItsCode() throws {
        let run = try runScript("""
        timer.every(0.01, function() print("tick") end)
        timer.after(0.05, function()
          print("exiting")
          exit(3)
          print("not reached")
        end)
        """)
        XCTAssertEqual(run.end, .exited(3))
        XCTAssertEqual(run.end.status, 3)
        XCTAssertEqual(run.lines.last, "exiting")
        XCTAssertFalse(run.stdout.contains("not reached"))
    }

    func testExitFromTheMainChunkAndFromInsidePcall() throws {
        XCTAssertEqual(try runScript("print('a'); exit(); print('b')").end, .exited(0))
        let run = try runScript("pcall(function() exit(4) end); print('after pcall')")
        XCTAssertEqual(run.end, .exited(4))
        XCTAssertEqual(run.lines, [])
        XCTAssertEqual(try runScript("os.exit(false)").end, .exited(1))
    }

    func testExitInsideAScriptCoroutineStillEndsTheScript() throws {
        let run = try runScript("""
        local co = coroutine.wrap(function() exit(5) end)
        co()
        print("after")
        """)
        XCTAssertEqual(run.end, .exited(5))
        XCTAssertFalse(run.stdout.contains("after"))
    }

    func testSleepInsideAScriptCoroutineIsAClearError() throws {
        let run = try runScript("""
        local co = coroutine.wrap(function() sleep(0.01) end)
        co()
        """)
        XCTAssertEqual(run.end, .failed)
        XCTAssertTrue(run.stderr.contains("test.lua:1: sleep cannot wait here"), run.stderr)
    }

    func testArgumentErrorsAreLauxlibStyleAtTheCallersLine() throws {
        let run = try runScript("""
        local ok, err = pcall(sleep, "soon")
        print(err)
        print(select(2, pcall(timer.after, 1)))
        sleep(-1)
        """)
        XCTAssertEqual(run.end, .failed)
        XCTAssertEqual(run.lines, [
            "bad argument #1 to 'sleep' (number expected, got string)",
            "bad argument #2 to 'timer.after' (function expected, got no value)",
        ])
        XCTAssertTrue(run.stderr.contains("test.lua:4: bad argument #1 to 'sleep' (non-negative number of seconds expected)"), run.stderr)
    }

    func testHandleCancelCalledWithADotIsAnError() throws {
        let run = try runScript("local h = timer.after(1, print); h.cancel()")
        XCTAssertEqual(run.end, .failed)
        XCTAssertTrue(run.stderr.contains("test.lua:1: bad argument #1 to 'cancel' (timer expected, got no value)"), run.stderr)
    }

    func testRegisteringAndCancellingManyTimersKeepsMemoryFlat() throws {
        let run = try runScript("""
        local function churn(n)
          for i = 1, n do
            local h = timer.after(3600, function() return i end)
            h:cancel()
          end
        end
        churn(1000)
        collectgarbage(); collectgarbage()
        local base = collectgarbage("count")
        churn(100000)
        collectgarbage(); collectgarbage()
        print(math.floor(collectgarbage("count") - base))
        """, timeout: 60)
        XCTAssertEqual(run.end, .finished)
        let growthKB = Int(run.lines.first ?? "") ?? Int.max
        XCTAssertLessThan(growthKB, 64, "Lua memory grew by \(growthKB) KB over 100,000 timers")
    }
}
