import NIOCore
import NIOPosix
import XCTest
@testable import LuaHost

/// The standard libraries and rtlua's globals are made when first touched
/// (LuaScript+LazyGlobals.swift, Sources/CLua/lazy.h), and scripts cannot tell, except
/// through pairs/next/rawget on _G and package.loaded.
final class LazyGlobalsTests: XCTestCase {
    func testAFreshVMHoldsOnlyWhatItStartsWith() throws {
        // Every library made at once took 33 KiB of each VM (an idle bot's largest share).
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let script = LuaScript(options: ScriptOptions(path: "none.lua", output: CapturedOutput().output), eventLoop: group.next())
        XCTAssertLessThan(script.memoryInUse, 12 << 10)
        script.stop()
        _ = try script.ended.wait()
    }

    func testBoundGlobalNamesAreExactlyTheGlobalsOnceAllAreMade() throws {
        // getmetatable(_G) makes every pending global first (and then there is no metatable).
        let run = try runScript("""
        print(getmetatable(_G), getmetatable(package.loaded))
        local names = {}
        for k in pairs(_G) do names[#names + 1] = k end
        table.sort(names)
        print(table.concat(names, " "))
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["nil\tnil", LuaScript.boundGlobalNames.joined(separator: " ")])
        XCTAssertTrue(LuaScript.boundGlobalNames.contains("realtime"))
        XCTAssertTrue(LuaScript.boundGlobalNames.contains("utf8"))
    }

    func testLazyGlobalsBehaveAsIfTheyHadBeenThereFromTheStart() throws {
        let run = try runScript("""
        print(rawget(_G, "math"), math.pi > 3, rawget(_G, "math") == math, rawget(_G, "pairs"), type(pairs))
        json = nil                                   -- assigned before it was ever read
        print(json, require("json") == package.loaded.json, type(package.loaded.json.encode))
        print(require("table") == table, package.loaded.utf8 == utf8, package.loaded.sleep)
        print("10" + 1, ("x"):rep(3), #"abc")        -- strings before the string library is made
        print(getmetatable("").__index == string)
        print(select(2, pcall(function() return ("x"):nope() end)))
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.relativeLines, [
            "nil\ttrue\ttrue\tnil\tfunction",
            "nil\ttrue\tfunction",
            "true\ttrue\tnil",
            "11\txxx\t3",
            "true",
            "test.lua:7: attempt to call a nil value (method 'nope')",
        ])
    }

    func testAStrictGlobalsMetatableKeepsEveryLibraryReachable() throws {
        // A script's own metatable on _G replaces the lazy one: what was pending is made first.
        let run = try runScript("""
        setmetatable(_G, {__index = function(_, k) error("undeclared " .. k, 2) end})
        print(os.time() > 0, string.rep("a", 2), json.encode({1}), type(realtime.send))
        print(select(2, pcall(function() return nope end)))
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.relativeLines, ["true\taa\t[1]\tfunction", "test.lua:3: undeclared nope"])
    }

    func testTheDebugLibraryFindsEveryGlobalMade() throws {
        let run = try runScript("""
        local d = debug
        print(rawget(_G, "utf8") ~= nil, d.getmetatable(_G), rawget(debug.getregistry()._LOADED, "io") == io)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["true\tnil\ttrue"])
    }

    func testRealtimeMethodsAreMadeWhenFirstLookedUp() throws {
        let run = try runScript("""
        local methods = getmetatable(realtime).__index
        print(rawget(methods, "join"), type(realtime.join), rawget(methods, "join") == realtime.join, realtime.nope)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["nil\tfunction\ttrue\tnil"])
    }

    func testPrintsTostringErrorIsAtTheCallersLine() throws {
        // print is C now: the error points at the script, not at a prelude ("rtlua:5:").
        let run = try runScript("""
        local bad = setmetatable({}, {__tostring = function() return {} end})
        print(select(2, pcall(function() print(bad) end)))
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.relativeLines, ["test.lua:2: '__tostring' must return a string"])
    }
}
