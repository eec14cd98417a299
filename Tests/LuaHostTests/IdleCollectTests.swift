import NIOCore
import NIOPosix
import XCTest
@testable import LuaHost

/// The full collection a script's VM gets once it has run nothing for a while.
final class IdleCollectTests: XCTestCase {
    /// The main chunk makes about 20 KiB of garbage, less than the incremental collector waits
    /// for (the heap doubling since `collectgarbage()`), then sits idle until a timer prints
    /// the heap. Only an idle collection takes the garbage away before that.
    static let garbageThenIdle = """
    collectgarbage()
    local base = collectgarbage("count")
    for i = 1, 60 do local s = string.rep("x", 150) .. i end
    print(string.format("garbage %.0f", collectgarbage("count") - base))
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
        // The same script with the idle collection off: what the test above relies on.
        let run = try runScript(Self.garbageThenIdle) { $0.idleCollectDelay = nil }
        XCTAssertGreaterThan(try kib(run, "idle"), 15, run.stdout)
    }

    func testAStoppedCollectorIsLeftStopped() throws {
        let run = try runScript("collectgarbage('stop')\n" + Self.garbageThenIdle) { $0.idleCollectDelay = .milliseconds(50) }
        XCTAssertGreaterThan(try kib(run, "idle"), 15, run.stdout)
    }

    func testABusyScriptIsNotCollectedUntilItGoesQuiet() throws {
        // A callback every 20 ms never leaves a 100 ms quiet period; after the last one the
        // script ends at once, so only the collection after setting up the VM happens.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let path = try writeScript("""
        local n = 0
        local h
        h = timer.every(0.02, function()
          n = n + 1
          local junk = string.rep("y", 500) .. n
          if n == 15 then h:cancel() end
        end)
        """)
        var options = ScriptOptions(path: path, output: CapturedOutput().output)
        options.idleCollectDelay = .milliseconds(100)
        let script = LuaScript(options: options, eventLoop: group.next())
        script.start()
        XCTAssertEqual(try script.ended.wait(), .finished)
        XCTAssertEqual(try script.eventLoop.submit { script.fullCollections }.wait(), 1)
    }

    func testSetUpGarbageIsCollectedBeforeTheScriptRuns() throws {
        // What installing the globals left behind is gone when the main chunk starts: a full
        // collection then frees little more than the loaded chunk's own leftovers.
        let run = try runScript("""
        local before = collectgarbage("count")
        collectgarbage()
        print(string.format("freed %.1f", before - collectgarbage("count")))
        """) { $0.idleCollectDelay = nil }
        XCTAssertLessThan(try kib(run, "freed"), 1.5, run.stdout)
    }

    func testFinalizerExitDuringAnIdleCollectionEndsTheScript() throws {
        let run = try runScript("""
        setmetatable({}, {__gc = function() exit(3) end})
        for i = 1, 60 do local s = string.rep("x", 150) .. i end
        timer.after(5, function() print("not reached") end)
        """) { $0.idleCollectDelay = .milliseconds(50) }
        XCTAssertEqual(run.end, .exited(3))
        XCTAssertFalse(run.stdout.contains("not reached"))
    }
}
