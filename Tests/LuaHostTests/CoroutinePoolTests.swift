import XCTest
@testable import LuaHost

/// Callbacks reuse finished coroutines from a small per-script pool.
final class CoroutinePoolTests: XCTestCase {
    func testFinishedCallbackCoroutineIsReusedButAnErroredOneIsNot() throws {
        let run = try runScript("""
        local seen = {}
        local bad
        timer.after(0, function() seen[1] = coroutine.running() end)
        timer.after(0.02, function() bad = coroutine.running(); error("boom") end)
        timer.after(0.04, function() seen[2] = coroutine.running(); print("ok after error") end)
        timer.after(0.06, function()
          local co = coroutine.running()
          print("reused", co == seen[1] or co == seen[2], "bad reused", co == bad or seen[2] == bad)
        end)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["ok after error", "reused\ttrue\tbad reused\tfalse"])
        XCTAssertTrue(run.stderr.contains("boom"), run.stderr)
    }

    func testSleepingCallbackIsNotPooledWhileWaitingAndFinishesLater() throws {
        let run = try runScript("""
        local sleeper
        timer.after(0, function()
          sleeper = coroutine.running()
          local mine = "sleeper's local"
          sleep(0.1)
          print("woke", mine, coroutine.running() == sleeper)
        end)
        for i = 1, 5 do
          timer.after(0.01 * i, function()
            local v = "cb" .. i
            print(v, coroutine.running() ~= sleeper)
          end)
        end
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["cb1\ttrue", "cb2\ttrue", "cb3\ttrue", "cb4\ttrue", "cb5\ttrue",
                                   "woke\tsleeper's local\ttrue"])
    }

    func testReusedCoroutineStartsCleanWithoutHooksOrLeftovers() throws {
        let run = try runScript("""
        local n, prev = 0, nil
        local function step()
          n = n + 1
          local fresh
          local co = coroutine.running()
          print(n, fresh, debug.gethook() == nil, prev == nil or co == prev)
          prev = co
          fresh = n
          if n == 1 then debug.sethook(function() end, "l") end
          do local x <close> = setmetatable({}, {__close = function() print("closed", n) end}) end
          if n < 3 then timer.after(0, step) end
          return "leftover", n
        end
        timer.after(0, step)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["1\tnil\ttrue\ttrue", "closed\t1",
                                   "2\tnil\ttrue\ttrue", "closed\t2",
                                   "3\tnil\ttrue\ttrue", "closed\t3"])
    }

    func testManyCallbacksKeepMemoryFlatAndCoroutinesBounded() throws {
        let run = try runScript("""
        local threads, distinct = {}, 0
        local total, chains, perChain = 0, 10, 10000
        local baseline
        local function step(left)
          total = total + 1
          local co = coroutine.running()
          if not threads[co] then threads[co] = true; distinct = distinct + 1 end
          if total == 1000 then collectgarbage(); collectgarbage(); baseline = collectgarbage("count") end
          if left > 1 then timer.after(0, function() step(left - 1) end) end
          if total == chains * perChain then
            collectgarbage(); collectgarbage()
            print("total", total)
            print("distinct", distinct)
            print("growthKiB", math.floor(collectgarbage("count") - baseline))
          end
        end
        for _ = 1, chains do timer.after(0, function() step(perChain) end) end
        """, timeout: 120)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines.first, "total\t100000")
        let values = Dictionary(uniqueKeysWithValues: run.lines.compactMap { line -> (String, Int)? in
            let parts = line.split(separator: "\t")
            guard parts.count == 2, let v = Int(parts[1]) else { return nil }
            return (String(parts[0]), v)
        })
        // Without the pool every callback gets its own thread: 100,000 distinct ones.
        XCTAssertLessThanOrEqual(try XCTUnwrap(values["distinct"]), LuaScript.idleCoroutineLimit + 2)
        // The `threads` table itself is the only thing that grows, and it is bounded too.
        XCTAssertLessThan(try XCTUnwrap(values["growthKiB"]), 64)
    }
}
