import RTJSON
import XCTest
@testable import LuaHost

/// One test per row of LUA_API.md "Values on the wire", both directions.
final class ValueBridgeTests: XCTestCase {
    var h: BridgeHarness!

    override func setUp() { h = BridgeHarness() }
    override func tearDown() { h.close() }

    private func json(_ expr: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        switch try h.toJSON(expr) {
        case .success(let v): return v
        case .failure(let e):
            XCTFail("unexpected refusal: \(e)", file: file, line: line)
            return .null
        }
    }

    private func refusal(_ expr: String) throws -> String {
        switch try h.toJSON(expr) {
        case .success(let v): return "accepted \(v)"
        case .failure(let e): return e.description
        }
    }

    func testNilIsNullAtTopAndInsideArrays() throws {
        XCTAssertEqual(try json("nil"), .null)
        XCTAssertEqual(try json("{1, nil, 3}"), [1, .null, 3])
    }

    func testJSONNullBothWays() throws {
        XCTAssertEqual(try json("json.null"), .null)
        XCTAssertEqual(try json("{a = json.null}"), ["a": .null])
        XCTAssertEqual(try h.fromJSON(.null, "v == json.null"), "true")
        XCTAssertEqual(try h.fromJSON([.null], "v[1] == json.null"), "true")
        XCTAssertEqual(try h.fromJSON(.null, "v"), "null")
    }

    func testBooleansAndStrings() throws {
        XCTAssertEqual(try json("true"), .bool(true))
        XCTAssertEqual(try json("false"), .bool(false))
        XCTAssertEqual(try json("'héllo'"), .string("héllo"))
        XCTAssertEqual(try h.fromJSON(.bool(false), "type(v) .. tostring(v)"), "booleanfalse")
        XCTAssertEqual(try h.fromJSON(.string("héllo"), "v == 'héllo'"), "true")
    }

    func testIntegersStayIntegersAndFloatsStayFloats() throws {
        XCTAssertEqual(try json("3"), .integer(3))
        XCTAssertEqual(try json("3.0"), .double(3.0))
        XCTAssertEqual(try json("-2^53"), .double(-9007199254740992.0))
        XCTAssertEqual(try json("math.maxinteger"), .integer(Int64.max))
        XCTAssertEqual(try h.fromJSON(.integer(7), "math.type(v)"), "integer")
        XCTAssertEqual(try h.fromJSON(.double(7), "math.type(v)"), "float")
    }

    func testNaNAndInfinityAreRefusedWithThePath() throws {
        let nan = try refusal("{x = 0/0}")
        XCTAssertTrue(nan.hasPrefix("message.x: "), nan)
        XCTAssertTrue(try refusal("{1, math.huge}").hasPrefix("message[2]: "))
        XCTAssertTrue(try refusal("-math.huge").contains("finite"))
    }

    func testSequencesAreArrays() throws {
        XCTAssertEqual(try json("{'a', 'b', {1, 2}}"), ["a", "b", [1, 2]])
        XCTAssertEqual(try h.fromJSON(["x", "y"], "#v .. v[1] .. v[2]"), "2xy")
    }

    func testDecodedArraysKeepTheirMarkSoEmptyStaysArray() throws {
        XCTAssertEqual(try json("json.decode('[]')"), .array([]))
        XCTAssertEqual(try json("json.decode('{}')"), .object([:]))
        XCTAssertEqual(try h.fromJSON(.array([]), "json.encode(v)"), "[]")
        XCTAssertEqual(try h.fromJSON(.object([:]), "json.encode(v)"), "{}")
        // A decoded array that a script empties is still an array.
        XCTAssertEqual(try json("(function() local a = json.decode('[1]'); a[1] = nil; return a end)()"), .array([]))
    }

    func testOtherTablesAreObjectsWithIntegerKeysAsDecimalStrings() throws {
        XCTAssertEqual(try json("{a = 1, b = {c = 'd'}}"), ["a": 1, "b": ["c": "d"]])
        XCTAssertEqual(try json("{[10] = 'x', a = 1}"), ["10": "x", "a": 1])
        XCTAssertEqual(try json("{}"), .object([:]))
        XCTAssertEqual(try h.fromJSON(["k": ["n": 1]], "v.k.n"), "1")
    }

    func testKeysThatAreNeitherStringsNorIntegersAreRefused() throws {
        XCTAssertEqual(try refusal("{a = {[true] = 1}}"), "message.a: a boolean key cannot be an object key (only strings and integers)")
        XCTAssertTrue(try refusal("{[1.5] = 1}").contains("number key"))
    }

    func testJSONArrayForcesAnArrayEvenWhenEmpty() throws {
        XCTAssertEqual(try json("json.array({})"), .array([]))
        XCTAssertEqual(try json("json.array()"), .array([]))
        XCTAssertEqual(try json("{list = json.array({'a'})}"), ["list": ["a"]])
    }

    func testInvalidUTF8AndRealtimeBinaryAreBinary() throws {
        XCTAssertEqual(try json("'\\xff\\x00\\x01'"), .binary([0xFF, 0, 1]))
        XCTAssertEqual(try json("realtime.binary('abc')"), .binary([0x61, 0x62, 0x63]))
        XCTAssertEqual(try json("{blob = realtime.binary('')}"), ["blob": .binary([])])
    }

    func testReceivedBinaryIsALuaString() throws {
        XCTAssertEqual(try h.fromJSON(.binary([0x68, 0x69, 0xFF]), "type(v) .. #v .. v:sub(1, 2)"), "string3hi")
    }

    func testFunctionsThreadsAndUserdataAreRefusedNamingThePath() throws {
        XCTAssertEqual(try refusal("{items = {1, 2, {fn = print}}}"), "message.items[3].fn: a function has no JSON form")
        XCTAssertEqual(try refusal("{co = coroutine.create(print)}"), "message.co: a thread has no JSON form")
        XCTAssertEqual(try refusal("{f = io.stdout}"), "message.f: a FILE* value has no JSON form")
        XCTAssertEqual(try refusal("{['odd key'] = print}"), "message[\"odd key\"]: a function has no JSON form")
    }

    func testCyclesAreRefused() throws {
        XCTAssertEqual(try refusal("(function() local t = {a = {}}; t.a.back = t; return t end)()"),
                       "message.a.back: cycle (the table contains itself)")
        // The same table twice, side by side, is not a cycle.
        XCTAssertEqual(try json("(function() local s = {1}; return {s, s} end)()"), [[1], [1]])
    }

    func testNestingDeeperThan200IsRefused() throws {
        let build = { (n: Int) in "(function() local t = {}; local r = t; for i = 1, \(n) do t.n = {}; t = t.n end; return r end)()" }
        if case .failure(let e) = try h.toJSON(build(199)) { XCTFail("199 levels refused: \(e)") }
        let message = try refusal(build(200))
        XCTAssertTrue(message.hasPrefix("message.n.n.n"), message)
        XCTAssertTrue(message.hasSuffix("nesting deeper than 200 levels"), message)
    }
}
