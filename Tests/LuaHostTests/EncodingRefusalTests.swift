import Foundation
import Realtime
import RTJSON
import XCTest
@testable import LuaHost

/// Values that cannot be encoded are refused with an error naming the path, on every
/// Lua → JSON path; nothing is dropped and nothing depends on table iteration order
/// (docs/limits.md, "Values that cannot be encoded").
final class EncodingRefusalTests: XCTestCase {
    private func runRealtime(_ source: String) throws -> ScriptRun {
        try runScript(source) { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { config, loop, http in
                RealtimeManager(config: config, connection: LoopbackConnection(eventLoop: loop), http: http)
            }
        }
    }

    func testSparseArraysAreRefusedFromJSONEncode() throws {
        let r = try runScript("""
        print(pcall(json.encode, json.array({[2^40] = true})))
        print(pcall(json.encode, {list = json.array({[1] = 1, [100] = 2})}))
        print(json.encode(json.array({[5] = 1})))
        print(json.encode({[2^40] = true}))
        print(json.encode({1, nil, 3}))
        """)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, [
            "false\tbad argument #1 to 'json.encode' (value: a json.array with 1 element and largest index 1099511627776 is too sparse (the largest index may be at most twice the element count plus 16))",
            "false\tbad argument #1 to 'json.encode' (value.list: a json.array with 2 elements and largest index 100 is too sparse (the largest index may be at most twice the element count plus 16))",
            "[null,null,null,null,1]",
            "{\"1099511627776\":true}",
            "[1,null,3]",
        ])
    }

    /// `1` and `"1"` would both be the member "1": refused, the same way whichever key
    /// `next` meets first (tables built in both orders, and with other keys around).
    func testCollidingKeysAreRefusedWhateverTheOrder() throws {
        let r = try runScript("""
        local function try(t) local ok, err = pcall(json.encode, t); print(ok, err) end
        try({[1] = "int", ["1"] = "str"})
        local t = {}; t["1"] = "str"; t[1] = "int"; try(t)
        for i = 1, 20 do
          local u = {}
          for j = 1, i do u["k" .. j] = j end
          u[7] = "int"; u["7"] = "str"
          local ok, err = pcall(json.encode, {deep = {u}})
          if ok or not err:find("value.deep%[1%]: the integer key 7 and the string key \\"7\\" would both be the member \\"7\\"") then print("bad", i, ok, err) end
        end
        print(json.encode({[1] = "a", ["2"] = "b"}))
        """)
        XCTAssertEqual(r.end, .finished, r.stderr)
        let refusal = "false\tbad argument #1 to 'json.encode' (value: the integer key 1 and the string key \"1\" would both be the member \"1\")"
        XCTAssertEqual(r.lines, [refusal, refusal, #"{"1":"a","2":"b"}"#])
    }

    func testSendBroadcastAndProfileRefuseWithThePath() throws {
        let r = try runRealtime("""
        print(select(2, pcall(function() realtime:send("room", "ev", {items = json.array({[2^40] = true})}) end)))
        print(select(2, pcall(function() realtime:send("room", "ev", {a = {[1] = "x", ["1"] = "y"}}) end)))
        print(select(2, pcall(function() realtime:broadcast("ev", {n = {[3] = 1, ["3"] = 2}}) end)))
        print(select(2, pcall(function() realtime:updateProfile({tags = json.array({[1e6] = "x"})}) end)))
        realtime:close()
        """)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.relativeLines, [
            "test.lua:1: bad argument #3 to 'send' (message.items: a json.array with 1 element and largest index 1099511627776 is too sparse (the largest index may be at most twice the element count plus 16))",
            "test.lua:2: bad argument #3 to 'send' (message.a: the integer key 1 and the string key \"1\" would both be the member \"1\")",
            "test.lua:3: bad argument #2 to 'broadcast' (message.n: the integer key 3 and the string key \"3\" would both be the member \"3\")",
            "test.lua:4: bad argument #1 to 'updateProfile' (data.tags: a json.array with 1 element and largest index 1000000 is too sparse (the largest index may be at most twice the element count plus 16))",
        ])
    }

    func testHTTPBodiesRefuseWithThePath() throws {
        let server = try EchoServer()
        defer { try? server.stop() }
        let r = try runScript("""
        print(pcall(http.post, "\(server.base)/echo", {x = {[1] = 1, ["1"] = 2}}))
        print(pcall(http.request, {url = "\(server.base)/echo", method = "PUT", body = json.array({[99] = 1})}))
        """)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, [
            "false\tbad argument #2 to 'http.post' (body.x: the integer key 1 and the string key \"1\" would both be the member \"1\")",
            "false\tbad argument #1 to 'http.request' (body: a json.array with 1 element and largest index 99 is too sparse (the largest index may be at most twice the element count plus 16))",
        ])
    }

    /// The one-pass writer gives such tables up, so the full conversion explains them.
    func testTheWriterGivesUpAndTheFullConversionNamesThePath() throws {
        let h = BridgeHarness()
        defer { h.close() }
        for e in ["json.array({[2^40] = true})", "{a = {[1] = 1, ['1'] = 2}}", "{['1'] = 2, [1] = 1}"] {
            XCTAssertNil(try h.directJSON(e).text, e)
            guard case .failure(let error) = try h.toJSON(e) else { XCTFail("\(e) converted"); continue }
            XCTAssertFalse(error.outOfMemory)
        }
        XCTAssertEqual(try h.directJSON("json.array({[3] = 1})").text, "[null,null,1]")
    }

    func testTheArrayRules() {
        XCTAssertNil(LuaValueBridge.arrayProblem(count: 1, maxIndex: 18, marked: true))
        XCTAssertNotNil(LuaValueBridge.arrayProblem(count: 1, maxIndex: 19, marked: true))
        XCTAssertNil(LuaValueBridge.arrayProblem(count: 0, maxIndex: 0, marked: true))
        XCTAssertNotNil(LuaValueBridge.arrayProblem(count: 1 << 27, maxIndex: (1 << 26) + 1, marked: false), "the hard cap")
        XCTAssertNil(LuaValueBridge.arrayProblem(count: 1 << 26, maxIndex: 1 << 26, marked: false))
    }
}
