import NIOCore
import NIOPosix
import XCTest
@testable import LuaHost

/// The full collection a script's VM gets once it has run nothing for a while.
final class IdleCollectTests: XCTestCase {
    /// A callback makes about 20 KiB of garbage, less than the incremental collector waits
    /// for (the heap doubling since `collectgarbage()`), then the script sits idle until a
    /// timer prints the heap. Only an idle collection takes the garbage away before that.
    /// (`ballast`: a fresh VM's heap is ~12 KiB since its globals are made when first touched;
    /// 22 KiB more make it the 34 KiB these figures were chosen for.)
    static let garbageThenIdle = """
    ballast = string.rep("b", 22 * 1024)
    collectgarbage()
    local base = collectgarbage("count")
    timer.after(0, function()
      for i = 1, 60 do local s = string.rep("x", 150) .. i end
      print(string.format("garbage %.0f", collectgarbage("count") - base))
    end)
    timer.after(0.5, function()
      print(string.format("idle %.0f", collectgarbage("count") - base))
    end)
    """

    func kib(_ run: ScriptRun, _ label: String) throws -> Double {
        let line = try XCTUnwrap(run.lines.first { $0.hasPrefix(label + " ") }, run.stdout + run.stderr)
        return try XCTUnwrap(Double(line.dropFirst(label.count + 1)))
    }

    func testIdleScriptGetsAFullCollection() throws {
        let run = try runScript(Self.garbageThenIdle) { $0.idleCollectDelay = .milliseconds(50) }
        XCTAssertEqual(run.end, .finished)
        XCTAssertGreaterThan(try kib(run, "garbage"), 15)
        XCTAssertLessThan(try kib(run, "idle"), 5, run.stdout)
    }

    func testWithoutTheIdleDelayTheGarbageStays() throws {
        // The same script with the extra collections off: what the test above relies on.
        let run = try runScript(Self.garbageThenIdle) { $0.idleCollectDelay = nil }
        XCTAssertGreaterThan(try kib(run, "idle"), 15, run.stdout)
    }

    func testAQuietScriptLosesEvenALittleGarbageAfterALongerWhile() throws {
        // About 3 KiB of garbage, under a quarter of the heap: not collected after the idle
        // delay (50 ms) but after four times as long.
        let run = try runScript("""
        collectgarbage()
        local base = collectgarbage("count")
        timer.after(0, function() local s = string.rep("x", 1500) .. "y" end)
        timer.after(0.1, function() print(string.format("short %.1f", collectgarbage("count") - base)) end)
        timer.after(0.6, function() print(string.format("long %.1f", collectgarbage("count") - base)) end)
        """) { $0.idleCollectDelay = .milliseconds(50) }
        XCTAssertGreaterThan(try kib(run, "short"), 2.5, run.stdout)
        XCTAssertLessThan(try kib(run, "long"), 1.5, run.stdout)
    }

    func testAStoppedCollectorIsLeftStopped() throws {
        let run = try runScript("collectgarbage('stop')\n" + Self.garbageThenIdle) { $0.idleCollectDelay = .milliseconds(50) }
        XCTAssertGreaterThan(try kib(run, "idle"), 15, run.stdout)
    }

    func testABusyScriptIsCollectedEveryFewCallbacksAtMost() throws {
        // 40 callbacks, 2 ms apart, each with garbage: early collections look every 4th
        // callback and at most every 10 ms; the idle one waits for 100 ms of quiet.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let path = try writeScript("""
        local n = 0
        local h
        h = timer.every(0.002, function()
          n = n + 1
          local junk = string.rep("y", 3000) .. n
          if n == 40 then h:cancel() end
        end)
        """)
        var options = ScriptOptions(path: path, output: CapturedOutput().output)
        options.idleCollectDelay = .milliseconds(100)
        let script = LuaScript(options: options, eventLoop: group.next())
        script.start()
        XCTAssertEqual(try script.ended.wait(), .finished)
        let collections = try script.eventLoop.submit { script.fullCollections }.wait()
        // Set-up and main chunk, then some early ones, never one per callback.
        XCTAssertGreaterThan(collections, 3)
        XCTAssertLessThanOrEqual(collections, 2 + 40 / LuaScript.earlyCollectResumes)
    }

    func testSetUpGarbageIsCollectedBeforeTheScriptRuns() throws {
        // What installing the globals left behind is gone when the main chunk starts: a full
        // collection then frees little more than the loaded chunk's own leftovers.
        let run = try runScript("""
        local before = collectgarbage("count")
        collectgarbage()
        print(string.format("freed %.1f", before - collectgarbage("count")))
        """)
        XCTAssertLessThan(try kib(run, "freed"), 1.5, run.stdout)
    }

    func testGarbageOfTheMainChunkIsCollectedWhenItEnds() throws {
        // No quiet period before the timer runs: only the collection at the main chunk's end.
        let run = try runScript("""
        collectgarbage()
        local base = collectgarbage("count")
        for i = 1, 60 do local s = string.rep("x", 150) .. i end
        timer.after(0, function() print(string.format("after %.0f", collectgarbage("count") - base)) end)
        """) { $0.idleCollectDelay = .seconds(60) }
        XCTAssertLessThan(try kib(run, "after"), 5, run.stdout)
    }

    func testFinalizerExitDuringAnExtraCollectionEndsTheScript() throws {
        let run = try runScript("""
        setmetatable({}, {__gc = function() exit(3) end})
        for i = 1, 60 do local s = string.rep("x", 150) .. i end
        timer.after(5, function() print("not reached") end)
        """) { $0.idleCollectDelay = .milliseconds(50) }
        XCTAssertEqual(run.end, .exited(3))
        XCTAssertFalse(run.stdout.contains("not reached"))
    }
}

/// The collections between callbacks of a script that never goes quiet.
final class EarlyCollectTests: XCTestCase {
    /// A callback every 20 ms makes about 2 KiB of garbage (two strings; its coroutine is
    /// reused); the 12th prints how much the heap grew (the incremental collector waits for
    /// the heap to double, ~33 KiB more; `ballast` as in `garbageThenIdle`).
    static let steadyGarbage = """
    ballast = string.rep("b", 22 * 1024)
    collectgarbage()
    local base = collectgarbage("count")
    local n = 0
    local h
    h = timer.every(0.02, function()
      n = n + 1
      local junk = string.rep("z", 1000) .. n
      if n == 12 then
        print(string.format("grown %.0f", collectgarbage("count") - base))
        h:cancel()
      end
    end)
    """

    func grown(_ run: ScriptRun) throws -> Double {
        let line = try XCTUnwrap(run.lines.first { $0.hasPrefix("grown ") }, run.stdout + run.stderr)
        return try XCTUnwrap(Double(line.dropFirst(6)))
    }

    func testGarbageOfBackToBackCallbacksIsCollectedWithoutAQuietPeriod() throws {
        // The idle delay is far longer than the run: only the early collections act.
        let run = try runScript(Self.steadyGarbage) { $0.idleCollectDelay = .seconds(60) }
        XCTAssertEqual(run.end, .finished)
        XCTAssertLessThan(try grown(run), 14, run.stdout)
    }

    func testWithoutThemTheGarbageOfThoseCallbacksStays() throws {
        let run = try runScript(Self.steadyGarbage) { $0.idleCollectDelay = nil }
        XCTAssertGreaterThan(try grown(run), 20, run.stdout)
    }
}
