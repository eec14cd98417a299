import RTJSON
import XCTest
@testable import LuaHost

/// The one-pass writer (`realtime:send`) and reader (received text) must give the JSON the full conversion gives,
/// and hand everything unusual back to it (which then builds the value or the error).
final class LuaJSONTextTests: XCTestCase {
    var h: BridgeHarness!

    override func setUp() { h = BridgeHarness() }
    override func tearDown() { h.close() }

    func testPlainValuesAreWrittenDirectlyAndMatchTheFullConversion() throws {
        let expressions = [
            "nil", "true", "false", "0", "-7", "math.maxinteger", "math.mininteger", "3.0", "-0.25", "1e300", "2^53",
            "'héllo ✓'", "'q\"\\\\/\\n\\t\\1'", "json.null", "{}", "json.array()", "json.array{1, 2}",
            "{1, 2, 3}", "{1, nil, 3}", "{a = 1, b = {c = {true, false}, d = 'x'}, e = json.null}",
            "{seq = 1, ts = 1796012441.2892973, pad = string.rep('x', 56)}",
            "{list = {{id = 'a'}, {id = 'b', tags = {}}}, ['key with space'] = 1, ['é'] = 'ü'}",
        ]
        for e in expressions {
            let (text, stackKept) = try h.directJSON(e)
            XCTAssertTrue(stackKept, e)
            guard let text else { XCTFail("\(e): not written directly"); continue }
            guard case .success(let full) = try h.toJSON(e) else { XCTFail("\(e): refused by toJSON"); continue }
            XCTAssertEqual(try JSONValue.parse(text), full, "\(e) → \(text)")
            if case .double = full { XCTAssertTrue(text.contains(".") || text.contains("e"), "a float stays a float: \(text)") }
        }
        XCTAssertEqual(try h.directJSON("{1, 2, 3}").text, "[1,2,3]")
        XCTAssertEqual(try h.directJSON("{}").text, "{}")
        XCTAssertEqual(try h.directJSON("json.array()").text, "[]")
        XCTAssertEqual(try h.directJSON("{1, nil, 3}").text, "[1,null,3]")
        XCTAssertEqual(try h.directJSON("'a\"b'").text, #""a\"b""#)
    }

    /// The writer's cycle list (1.6 KiB) is made at the first table written, not with the VM:
    /// an idle bot never writes one.
    func testCycleListIsMadeAtTheFirstWrite() throws {
        let script = h.script
        XCTAssertFalse(try script.eventLoop.submit { script.bridge.openTables.isAllocated }.wait())
        XCTAssertEqual(try h.directJSON("'just a string'").text, #""just a string""#)
        XCTAssertFalse(try script.eventLoop.submit { script.bridge.openTables.isAllocated }.wait())
        XCTAssertEqual(try h.directJSON("{a = {1}}").text, #"{"a":[1]}"#)
        XCTAssertTrue(try script.eventLoop.submit { script.bridge.openTables.isAllocated }.wait())
    }

    func testUnusualValuesGoBackToTheFullConversion() throws {
        let expressions = [
            "'\\255\\254'",                        // not UTF-8: binary
            "{b = realtime.binary('x')}",          // binary marker
            "{f = print}",                         // no JSON form
            "{x = 0/0}", "{1/0}",                  // not finite
            "(function() local t = {}; t.self = t; return t end)()",  // cycle
            "{[1] = 'a', ['1'] = 'b', x = 1}",     // integer and string keys in one object
            "{[0] = 'a', x = 1}", "{[{}] = 1}", "{[true] = 1}",
            "setmetatable({a = 1, [-1] = 2}, getmetatable(json.array()))",  // a json.array with a bad key
            "{['\\255'] = 1}",                     // a key that is not UTF-8
            "(function() local t = {}; for i = 1, 250 do t = {t} end; return t end)()",  // too deep
        ]
        for e in expressions {
            let (text, stackKept) = try h.directJSON(e)
            XCTAssertNil(text, e)
            XCTAssertTrue(stackKept, "\(e): the stack is restored after giving up")
        }
    }

    /// The tables being written are kept in a fixed list of `maxDepth` entries: the deepest
    /// nesting allowed still writes, one more gives up, and a cycle deep down is found.
    func testNestingUpToTheLimitAndDeepCycles() throws {
        let deepest = "(function() local t = {}; for i = 1, \(LuaValueBridge.maxDepth - 1) do t = {t} end; return t end)()"
        let text = try XCTUnwrap(try h.directJSON(deepest).text)
        XCTAssertEqual(text, String(repeating: "[", count: LuaValueBridge.maxDepth - 1) + "{}" + String(repeating: "]", count: LuaValueBridge.maxDepth - 1))
        XCTAssertNoThrow(try h.toJSON(deepest).get())
        let tooDeep = "(function() local t = {}; for i = 1, \(LuaValueBridge.maxDepth) do t = {t} end; return t end)()"
        XCTAssertNil(try h.directJSON(tooDeep).text)
        let cycle = "(function() local t = {a = {b = {1, 2}}}; t.a.b[3] = {c = t.a}; return {x = t} end)()"
        let (cyclic, stackKept) = try h.directJSON(cycle)
        XCTAssertNil(cyclic)
        XCTAssertTrue(stackKept)
        XCTAssertThrowsError(try h.toJSON(cycle).get())
    }

    /// An object is written in the walk that finds its first string key; a key that is not
    /// a string, wherever the walk meets it, still gives up, as the two-pass decision does.
    func testAnyNonStringKeyInAnObjectGivesUpWhereverItComes() throws {
        for extra in ["[7] = 1", "[1] = 1", "[-1] = 1", "[1.5] = 1", "[true] = 1"] {
            for n in [1, 5, 40] {
                let keys = (0..<n).map { "k\($0) = \($0)" }.joined(separator: ", ")
                for e in ["{\(keys), \(extra)}", "{\(extra), \(keys)}"] {
                    let (text, stackKept) = try h.directJSON(e)
                    XCTAssertNil(text, e)
                    XCTAssertTrue(stackKept, e)
                }
            }
        }
        let text = try XCTUnwrap(try h.directJSON("{a = {}, b = json.array(), c = {x = {y = 'z'}}}").text)
        XCTAssertEqual(try JSONValue.parse(text), ["a": [:], "b": [], "c": ["x": ["y": "z"]]])
    }

    /// The eight-bytes-at-a-time test for strings that are their own JSON text agrees with
    /// the byte-by-byte rule for every byte value at every place in the word and the tail.
    func testPlainTextCheckAgreesWithTheByteRule() {
        func plain(_ b: [UInt8]) -> Bool { b.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C } }
        for length in [1, 7, 8, 9, 16, 19] {
            for at in 0..<length {
                for byte in 0...255 {
                    var b = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    b[at] = UInt8(byte)
                    let fast = b.withUnsafeBufferPointer { JSONValue.isPlainText($0) }
                    XCTAssertEqual(fast, plain(b), "\(b)")
                }
            }
        }
        XCTAssertTrue([UInt8]().withUnsafeBufferPointer { JSONValue.isPlainText($0) })
        for s in ["", "plain text ~!", "tab\there", "q\"uote", "back\\slash", "é€😀", "\u{7F}del", String(repeating: "abcdefg\u{1}", count: 5)] {
            var fast: [UInt8] = [], full: [UInt8] = []
            let written = Array(s.utf8).withUnsafeBufferPointer { LuaValueBridge.writeString($0, into: &fast) }
            XCTAssertTrue(written)
            JSONValue.writeString(s, into: &full)
            XCTAssertEqual(fast, full, s)
        }
        var out: [UInt8] = []
        XCTAssertFalse([0xFF, 0x41].withUnsafeBufferPointer { LuaValueBridge.writeString($0, into: &out) })
        XCTAssertEqual(out, [], "nothing written for bytes that are not UTF-8")
    }

    /// A repeated (not cyclic) table is fine both ways.
    func testASharedSubtableIsNotACycle() throws {
        let e = "(function() local s = {1}; return {a = s, b = s} end)()"
        let text = try XCTUnwrap(try h.directJSON(e).text)
        XCTAssertEqual(try JSONValue.parse(text), ["a": [1], "b": [1]])
    }

    /// Received text (`.raw`) is built into Lua straight from the text; it must be the same
    /// Lua value the tree gives.
    func testReceivedTextBuildsTheSameLuaValueAsTheTree() throws {
        let docs = [
            #"{"seq":1,"ts":1796012441.2892973,"pad":"xx","e":[],"o":{},"n":null,"t":[true,false,"é\n"]}"#,
            "[1,2.0,[3,[4]],{}]", "[]", "{}", #""s""#, "7", "7.5", "null", "true",
        ]
        for d in docs {
            let raw = JSONValue.raw(try RawJSON(validating: Array(d.utf8)))
            let tree = try JSONValue.parse(d)
            for expr in ["json.encode(v)", "math.type(v)", "v == json.null", "type(v) == 'table' and getmetatable(v) == getmetatable(json.array())",
                         "type(v) == 'table' and v.e and #v.e", "type(v) == 'table' and v.n == json.null", "type(v) == 'table' and math.type(v.seq)"] {
                XCTAssertEqual(try h.fromJSON(raw, expr), try h.fromJSON(tree, expr), "\(d): \(expr)")
            }
        }
        XCTAssertEqual(try h.fromJSON(.raw(RawJSON(unchecked: Array("[1,2]".utf8))), "json.encode(v)"), "[1,2]")
        // Text that is not JSON (only possible when made unchecked) gives the parser's answer: null.
        XCTAssertEqual(try h.fromJSON(.raw(RawJSON(unchecked: Array("{oops".utf8))), "v == json.null"), "true")
    }
}
