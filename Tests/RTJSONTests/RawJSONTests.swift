import XCTest
@testable import RTJSON

/// `.raw`: JSON text carried as a value, validated once, written verbatim.
final class RawJSONTests: XCTestCase {
    func parseRaw(_ text: String, from depth: Int) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBufferPointer { b in try JSONValue.parse(b, rawFromDepth: depth) }
    }

    func testContainersFromTheGivenDepthStayText() throws {
        let text = #"["message",{"channel":"c","message":{"a" : [1, 2.5, "x"]},"echo":false,"n":[]}]"#
        let v = try parseRaw(text, from: 2)
        guard case .array(let top) = v, case .object(let payload) = top[1] else { return XCTFail("\(v)") }
        XCTAssertEqual(top[0], "message")
        XCTAssertEqual(payload["channel"], .string("c"), "scalars are parsed at any depth")
        XCTAssertEqual(payload["echo"], .bool(false))
        guard case .raw(let r)? = payload["message"] else { return XCTFail("message should stay raw") }
        XCTAssertEqual(String(decoding: r.bytes, as: UTF8.self), #"{"a" : [1, 2.5, "x"]}"#, "the exact text, spaces kept")
        guard case .raw? = payload["n"] else { return XCTFail("an empty array is a container too") }
        // Written back verbatim inside a tree.
        XCTAssertEqual(try JSONValue.object(["m": payload["message"]!]).jsonText(), #"{"m":{"a" : [1, 2.5, "x"]}}"#)
        // Without the option nothing is raw.
        XCTAssertEqual(try JSONValue.parse(text)["message"], nil)
        if case .raw? = try JSONValue.parse(text).arrayValue?[1]["message"] { XCTFail("parsed by default") }
    }

    func testEqualityHashingAndAccessorsSeeThroughRaw() throws {
        let raw = JSONValue.raw(try RawJSON(validating: Array(#"{"b":[1,{"c":null}],"a":"x"}"#.utf8)))
        let tree: JSONValue = ["a": "x", "b": [1, ["c": .null]]]
        XCTAssertEqual(raw, tree)
        XCTAssertEqual(tree, raw)
        XCTAssertNotEqual(raw, ["a": "y", "b": [1, ["c": .null]]] as JSONValue)
        XCTAssertEqual(Set([raw, tree]).count, 1, "equal values hash alike")
        XCTAssertEqual(raw["a"], "x")
        XCTAssertEqual(raw.objectValue?.count, 2)
        XCTAssertEqual(JSONValue.raw(RawJSON(unchecked: Array("[1,2]".utf8))).arrayValue, [1, 2])
        XCTAssertEqual(JSONValue.raw(RawJSON(unchecked: Array("7".utf8))).int64Value, 7)
        XCTAssertFalse(raw.containsBinary)
    }

    /// The validator must refuse exactly what the parser refuses, so a relay never passes
    /// on text its receivers cannot read.
    func testValidationRefusesWhatTheParserRefuses() throws {
        let bad = [
            "{", "[1,]", "[1 2]", #"{"a" 1}"#, #"{"a":}"#, #"{a:1}"#, "[01]", "[1.]", "[-]", "[1e]", "[tru]",
            "[nul]", #"["\x"]"#, #"["\u12"]"#, "[\"a\u{01}\"]", #"["abc"#, "[1]x", "{}}", "[\"\\",
            String(repeating: "[", count: JSONValue.maxParseDepth + 2) + String(repeating: "]", count: JSONValue.maxParseDepth + 2),
        ]
        for text in bad {
            XCTAssertThrowsError(try JSONValue.parse(text), text)
            XCTAssertThrowsError(try RawJSON(validating: Array(text.utf8)), text)
            XCTAssertThrowsError(try parseRaw("[" + text + "]", from: 1), text)
        }
        let good = [#"{"a":[1,-2.5e3,true,false,null,"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]}"#, "[]", "{}", " [ { } , [ ] ] ", "\"héllo ✓ 😀\""]
        for text in good {
            XCTAssertNoThrow(try RawJSON(validating: Array(text.utf8)), text)
            XCTAssertEqual(try RawJSON(validating: Array(text.utf8)).parsed, try JSONValue.parse(text), text)
        }
    }

    func testStringsMustBeValidUTF8() throws {
        let invalid: [[UInt8]] = [
            [0xFF], [0xC0, 0x80], [0xC3], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ]
        for seq in invalid {
            let text: [UInt8] = Array(#"{"s":""#.utf8) + seq + Array(#""}"#.utf8)
            XCTAssertThrowsError(try RawJSON(validating: text), "\(seq)")
        }
        let valid: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBF, 0xBD]]
        for seq in valid {
            let text: [UInt8] = Array(#"{"s":""#.utf8) + seq + Array(#""}"#.utf8)
            XCTAssertNoThrow(try RawJSON(validating: text), "\(seq)")
        }
    }

    /// Strings are skipped eight plain bytes at a time: whatever is special must be seen at
    /// every position of the word.
    func testEverySpecialByteIsSeenAtEveryPosition() throws {
        for at in 0..<20 {
            func text(_ special: [UInt8]) -> [UInt8] {
                Array(#"{"s":""#.utf8) + [UInt8](repeating: 0x78, count: at) + special + [UInt8](repeating: 0x79, count: 19 - at) + Array(#""}"#.utf8)
            }
            for bad: [UInt8] in [[0x01], [0x1F], [0x0A], [0xFF], [0xC3], [0x5C, 0x71]] {  // controls, not UTF-8, bad escape
                XCTAssertThrowsError(try RawJSON(validating: text(bad)), "\(bad) at \(at)")
            }
            for good: [UInt8] in [[0x20], [0x7F], [0x5C, 0x22], [0x5C, 0x5C], [0xC3, 0xA9], [0xE2, 0x82, 0xAC]] {
                let t = text(good)
                XCTAssertNoThrow(try RawJSON(validating: t), "\(good) at \(at)")
                XCTAssertEqual(try RawJSON(validating: t).parsed, try JSONValue.parse(t), "\(good) at \(at)")
            }
            // A quote ends the string early: what follows is then not JSON.
            XCTAssertThrowsError(try RawJSON(validating: text([0x22])), "a bare quote at \(at)")
        }
    }

    /// The writer skips eight plain bytes at a time too: an escape or a non-ASCII byte at
    /// any position must still be handled, and the UTF-8 check must see a bad byte anywhere.
    func testWriterAndUTF8CheckSeeSpecialBytesAtEveryPosition() throws {
        for at in 0..<20 {
            for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "€", "😀", "/"] {
                let s = String(repeating: "a", count: at) + special + String(repeating: "b", count: 19 - at)
                let text = try JSONValue.string(s).jsonText()
                XCTAssertEqual(try JSONValue.parse(text), .string(s), "\(special) at \(at): \(text)")
                XCTAssertFalse(text.dropFirst().dropLast().contains { $0 == "\n" || $0 == "\u{01}" }, text)
                XCTAssertTrue(Array(s.utf8).withUnsafeBufferPointer(JSONValue.isValidUTF8))
            }
            var bad = [UInt8](repeating: 0x61, count: 24)
            bad[at] = 0xFF
            XCTAssertFalse(bad.withUnsafeBufferPointer(JSONValue.isValidUTF8), "0xFF at \(at)")
            bad[at] = 0xC3  // a lead byte with no continuation
            XCTAssertFalse(bad.withUnsafeBufferPointer(JSONValue.isValidUTF8), "0xC3 at \(at)")
        }
    }
}
