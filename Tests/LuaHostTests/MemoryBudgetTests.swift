import CLua
import Foundation
import Realtime
import RTJSON
import XCTest
@testable import LuaHost

/// The memory budget of a script VM (docs/limits.md, "Memory budget"): over it, the script
/// gets Lua's "not enough memory" at its own line, whether the memory was asked for by Lua
/// code or by host code working for it, and the process goes on.
final class MemoryBudgetTests: XCTestCase {
    private func run(_ source: String, limit: Int, timeout: Int64 = 30,
                     configure: (inout ScriptOptions) -> Void = { _ in }) throws -> ScriptRun {
        try runScript(source, timeout: timeout) { options in
            options.memoryLimit = limit
            configure(&options)
        }
    }

    private func runRealtime(_ source: String, limit: Int) throws -> ScriptRun {
        try run(source, limit: limit) { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { config, loop, http in
                RealtimeManager(config: config, connection: LoopbackConnection(eventLoop: loop), http: http)
            }
        }
    }

    func testLuaCodeOverTheBudgetGetsNotEnoughMemoryAtItsLine() throws {
        let before = MemoryBudget.violations
        let r = try run("""
        print(pcall(string.rep, "x", 8 * 1024 * 1024))
        local t = {}
        for i = 1, 1e8 do
          t[i] = i
        end
        """, limit: 4 << 20)
        XCTAssertEqual(r.end, .failed, r.stderr)
        XCTAssertEqual(r.lines, ["false\tnot enough memory"])
        XCTAssertTrue(r.stderr.contains("test.lua:4: not enough memory"), r.stderr)
        XCTAssertTrue(r.stderr.contains("memory limit of 4 MiB"), r.stderr)
        XCTAssertTrue(r.stderr.contains("[\(r.path)#1]"), "logged with the script and instance: \(r.stderr)")
        XCTAssertEqual(MemoryBudget.violations, before + 1)
    }

    func testCoroutinesAndConcatenationAreCountedToo() throws {
        let r = try run("""
        local ok, err = pcall(function()
          local cos = {}
          for i = 1, 1e7 do cos[i] = coroutine.create(print) end
        end)
        print("coroutines", ok, err)
        collectgarbage()
        ok, err = pcall(function()
          local parts = {}
          for i = 1, 64 do parts[i] = string.rep("y", 65536) end
          local s = table.concat(parts)
          return table.concat({s, s, s, s})
        end)
        print("concat", ok, err)
        print("still", #string.rep("z", 1000))
        """, limit: 8 << 20)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["coroutines\tfalse\tnot enough memory", "concat\tfalse\tnot enough memory", "still\t1000"])
    }

    /// A callback that runs out of memory is reported; the script's other callbacks go on.
    func testACallbackOverTheBudgetFailsAndTheScriptGoesOn() throws {
        let r = try run("""
        timer.after(0, function()
          local t = {}
          for i = 1, 1e8 do t[i] = {} end
        end)
        timer.after(0.2, function() print("still running") end)
        """, limit: 4 << 20)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["still running"])
        XCTAssertTrue(r.stderr.contains("test.lua:3: not enough memory"), r.stderr)
    }

    /// Host code (json.decode) builds past the budget: the script gets the error, at its line.
    func testDecodeOfALargeStringUnderTheLimitIsAnErrorNotAnAbort() throws {
        let r = try run("""
        local s = "[" .. string.rep("1,", 1000000) .. "1]"
        print(#s)
        print(pcall(json.decode, s))
        print(#json.decode("[1,2,3]"), json.decode('{"a":"b"}').a)
        local t = json.decode(s)
        """, limit: 8 << 20)
        XCTAssertEqual(r.end, .failed, r.stderr)
        XCTAssertEqual(r.lines, ["2000003", "false\tnot enough memory", "3\tb"])
        XCTAssertTrue(r.stderr.contains("test.lua:5: not enough memory"), r.stderr)
    }

    /// A string value that would not fit is refused before it is pushed (the reader checks
    /// its length against what is left of the budget).
    func testAStringValueThatWouldNotFitIsRefusedBeforeItIsMade() throws {
        let h = BridgeHarness()
        defer { h.close() }
        let script = h.script
        let (result, grewBy, top) = try script.eventLoop.submit { () -> (String, Int, Int32) in
            let L = script.L
            let before = script.memoryInUse
            LuaArena.setBudget(script.account, before + (1 << 20))
            defer { LuaArena.setBudget(script.account, .max) }
            let text = Array(("[\"" + String(repeating: "a", count: 2 << 20) + "\"]").utf8)
            let result = text.withUnsafeBufferPointer { script.bridge.pushJSON(L, $0, checked: false) }
            return ("\(result)", script.memoryInUse - before, lua_gettop(L))
        }.wait()
        XCTAssertEqual(result, "outOfMemory")
        XCTAssertLessThan(grewBy, 1 << 20)
        XCTAssertEqual(top, 0, "nothing left on the stack")
    }

    /// The text of json.encode is a copy made for the script: a table that repeats one big
    /// string would make a text far larger than the VM.
    func testEncodeOfATextLargerThanTheBudgetIsNotEnoughMemory() throws {
        let r = try run("""
        local s = string.rep("x", 1024 * 1024)
        local t = {}
        for i = 1, 100 do t[i] = s end
        print(pcall(json.encode, t))
        print(json.encode({s:sub(1, 3)}))
        """, limit: 16 << 20)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["false\tnot enough memory", "[\"xxx\"]"])
    }

    func testSendOfAMessageLargerThanTheBudgetIsNotEnoughMemoryAtTheSendLine() throws {
        let r = try runRealtime("""
        local s = string.rep("x", 1024 * 1024)
        local t = {}
        for i = 1, 100 do t[i] = s end
        print(pcall(realtime.send, realtime, "room", "big", t))
        print(pcall(realtime.broadcast, realtime, "big", {s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}))
        realtime:send("room", "small", {n = 1})
        realtime:send("room", "big", t)
        """, limit: 16 << 20)
        XCTAssertEqual(r.end, .failed, r.stderr)
        XCTAssertEqual(r.lines, ["false\tnot enough memory", "false\tnot enough memory"])
        XCTAssertTrue(r.stderr.contains("test.lua:7: not enough memory"), r.stderr)
    }

    /// Arguments of a callback that would not fit are not pushed into the VM: the callback
    /// does not run, the violation is logged, later callbacks run.
    func testReceivedDataThatDoesNotFitIsRefusedAndReported() throws {
        let r = try runRealtime("""
        local got = 0
        realtime:on("big", function(d) got = got + 1; print("got", #d.message[1]) end)
        realtime:on("small", function(d) print("small", d.message.n, got); realtime:close() end)
        local s = string.rep("x", 3 * 1024 * 1024)
        realtime:broadcast("big", {s})
        s = nil
        collectgarbage()
        ballast = {}
        for i = 1, 6 do ballast[i] = string.rep(tostring(i), 1024 * 1024) end
        realtime:broadcast("small", {n = 1})
        """, limit: 8 << 20)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["small\t1\t0"])
        XCTAssertTrue(r.stderr.contains("not enough memory for a 'big' event"), r.stderr)
    }

    func testHTTPBodiesAreCheckedAgainstTheBudget() throws {
        let server = try EchoServer()
        defer { try? server.stop() }
        let r = try run("""
        local function ballast(mib)
          local t = {}
          for i = 1, mib do t[i] = string.rep(tostring(i), 1024 * 1024) end
          return t
        end
        local r = http.get("\(server.base)/bytes/100")
        print(#r.body)
        print(pcall(http.get, "\(server.base)/bytes/17000000"))  -- more than the whole budget
        local b = ballast(10)
        print(pcall(http.get, "\(server.base)/bytes/8000000"))   -- more than what is left
        b = nil
        collectgarbage()
        r = http.get("\(server.base)/bytes/8000000")
        print(#r.body)
        r = nil
        collectgarbage()
        local big = string.rep("p", 7 * 1024 * 1024)
        b = ballast(5)
        print(pcall(http.post, "\(server.base)/echo", big))     -- the copy for libcurl
        b, big = nil, nil
        collectgarbage()
        print(#http.post("\(server.base)/echo", "small").body > 0)
        http.get("\(server.base)/bytes/17000000")
        """, limit: 16 << 20)
        XCTAssertEqual(r.end, .failed, r.stderr)
        XCTAssertEqual(r.lines, ["100", "false\tnot enough memory", "false\tnot enough memory", "8000000",
                                 "false\tnot enough memory", "true"])
        XCTAssertTrue(r.stderr.contains("test.lua:23: not enough memory"), r.stderr)
    }

    /// A finalizer may run inside host code (a collection step of one of its allocations),
    /// but it is Lua code in a protected call of its own: the budget holds for it there too.
    func testFinalizersAreHeldToTheBudgetEvenInsideHostCode() throws {
        let r = try run("""
        ran, took = 0, 0
        local function finalizable()
          setmetatable({}, {__gc = function()
            ran = ran + 1
            if pcall(string.rep, "x", 32 * 1024 * 1024) then took = took + 1 end
          end})
        end
        local text = "[" .. string.rep('"abcdefgh",', 2000) .. '"x"]'
        for round = 1, 200 do
          for i = 1, 20 do finalizable() end
          local v = json.decode(text)
        end
        collectgarbage()
        print(ran > 0, took)
        """, limit: 8 << 20)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["true\t0"])
    }

    func testZeroMeansNoLimit() throws {
        let r = try run("""
        local s = string.rep("x", 64 * 1024 * 1024)
        print(#s, #json.decode("[" .. string.rep("1,", 1000000) .. "1]"))
        """, limit: 0)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["67108864\t1000001"])
    }

    /// The account is Lua's own count of the VM's bytes (collectgarbage("count")).
    func testTheAccountAgreesWithLuasCount() throws {
        let h = BridgeHarness()
        defer { h.close() }
        let script = h.script
        let (ours, luas) = try script.eventLoop.submit { () -> (Int, Int) in
            let L = script.L
            precondition(luaL_loadstring(L, "big = {}; for i = 1, 10000 do big[i] = tostring(i) end") == LUA_OK)
            precondition(lua_pcallk(L, 0, 0, 0, 0, nil) == LUA_OK)
            return (script.memoryInUse, Int(shim_lua_gc_bytes(L)))
        }.wait()
        XCTAssertEqual(ours, luas)
        XCTAssertEqual(MemoryBudget.defaultLimit, 256 << 20)
        XCTAssertEqual(try script.eventLoop.submit { script.account.pointee.budget }.wait(), 256 << 20)
    }

    func testSizesOnTheCommandLine() {
        XCTAssertEqual(MemoryBudget.parseSize("64MB"), 64_000_000)
        XCTAssertEqual(MemoryBudget.parseSize("512KiB"), 512 * 1024)
        XCTAssertEqual(MemoryBudget.parseSize("16M"), 16 << 20)
        XCTAssertEqual(MemoryBudget.parseSize("1 GiB"), 1 << 30)
        XCTAssertEqual(MemoryBudget.parseSize("1.5mib"), 3 << 19)
        XCTAssertEqual(MemoryBudget.parseSize("1048576"), 1_048_576)
        XCTAssertEqual(MemoryBudget.parseSize("0"), 0)
        for bad in ["", "abc", "-1", "12XB", "1.5", "MB", "1e9", "64 M B"] {
            XCTAssertNil(MemoryBudget.parseSize(bad), bad)
        }
        XCTAssertEqual(MemoryBudget.describe(16 << 20), "16 MiB")
        XCTAssertEqual(MemoryBudget.describe(512 << 10), "512 KiB")
        XCTAssertEqual(MemoryBudget.describe(64_000_000), "61.0 MiB")
    }
}
