import XCTest
@testable import RTJSON

/// JSONReader drives the grammar for builders of other value kinds; rebuilt as JSONValue it
/// must agree with the parser on every document, valid or not.
final class JSONReaderTests: XCTestCase {
    /// A builder over the reader, the way the Lua bridge uses it.
    func build(_ r: inout JSONReader) throws -> JSONValue {
        switch try r.peek() {
        case .object:
            var o: [String: JSONValue] = [:]
            if try r.beginObject() { return .object(o) }
            repeat {
                let k = try r.readKey { String(decoding: $0, as: UTF8.self) }
                o[k] = try build(&r)
            } while try r.nextMember()
            return .object(o)
        case .array:
            var a: [JSONValue] = []
            if try r.beginArray() { return .array(a) }
            repeat { a.append(try build(&r)) } while try r.nextElement()
            return .array(a)
        case .string: return .string(try r.readString { String(decoding: $0, as: UTF8.self) })
        case .number: return try r.readNumber()
        case .literal: return try r.readLiteral()
        }
    }

    func read(_ text: String) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBufferPointer { b in
            var r = JSONReader(b)
            let v = try build(&r)
            try r.finish()
            return v
        }
    }

    func testAgreesWithTheParserOnValidText() throws {
        let docs = [
            "null", "true", "false", "0", "-12", "3.0", "1e300", "-0.25", "12345678901234567890", "1796012441.2892973",
            #""""#, #""héllo ✓ 😀""#, #""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x""#, "[]", "{}", " [ 1 , [ ] , { } ] ",
            #"{"seq":1,"ts":1796012441.2892973,"pad":"xxxx","nested":{"a":[true,false,null,{"b":"c"}]}}"#,
            #"{"dup":1,"dup":2}"#,
        ]
        for d in docs { XCTAssertEqual(try read(d), try JSONValue.parse(d), d) }
        guard case .integer = try read("7"), case .double = try read("7.0") else { return XCTFail("integers and floats apart") }
    }

    func testRefusesWhatTheParserRefuses() {
        let bad = [
            "", "{", "[1,]", "[1 2]", #"{"a" 1}"#, #"{"a":}"#, #"{a:1}"#, "[01]", "[1.]", "[-]", "-", "[tru]", "nul",
            #"["\x"]"#, #"["\u12"]"#, "[\"a\u{01}\"]", #"["abc"#, "[1]x", "{}}", "[\"\\", "+1", "[,]", #"{"a":1,}"#,
        ]
        for d in bad {
            XCTAssertThrowsError(try JSONValue.parse(d), d)
            XCTAssertThrowsError(try read(d), d)
        }
        XCTAssertThrowsError(try [UInt8]([0x22, 0xC3, 0x22]).withUnsafeBufferPointer { b in
            var r = JSONReader(b)
            _ = try r.readString { _ in 0 }
        }, "a string that is not UTF-8")
    }

    /// Checked text (a RawJSON) skips the second check of string bytes, and still stays in bounds.
    func testCheckedTextSkipsTheStringCheckButNotTheBounds() throws {
        let bytes: [UInt8] = [0x22, 0xC3, 0x22]  // a string that is not UTF-8
        let read = try bytes.withUnsafeBufferPointer { b in
            var r = JSONReader(b, checkedText: true)
            return try r.readString { Array($0) }
        }
        XCTAssertEqual(read, [0xC3])
        XCTAssertThrowsError(try [UInt8](#""abc"#.utf8).withUnsafeBufferPointer { b in
            var r = JSONReader(b, checkedText: true)
            _ = try r.readString { _ in 0 }
        }, "an unterminated string still throws")
    }

    /// readRaw hands a member over as its own text, the bytes as written; skipValue passes
    /// it by. Both check it as the parser would.
    func testReadRawAndSkipValue() throws {
        let doc = #"{"channel":"c1", "message" : {"seq":1,"s":"a\"b}","n":[1,{"x":null}]} ,"echo":false}"#
        let (message, echo) = try Array(doc.utf8).withUnsafeBufferPointer { b in
            var r = JSONReader(b)
            var message: RawJSON?
            var echo: JSONValue?
            XCTAssertFalse(try r.beginObject())
            repeat {
                switch try r.readKey({ String(decoding: $0, as: UTF8.self) }) {
                case "message": message = try r.readRaw()
                case "echo": echo = try r.readLiteral()
                default: try r.skipValue()
                }
            } while try r.nextMember()
            try r.finish()
            return (message, echo)
        }
        XCTAssertEqual(message.map { String(decoding: $0.bytes, as: UTF8.self) }, #"{"seq":1,"s":"a\"b}","n":[1,{"x":null}]}"#)
        XCTAssertEqual(message.map { JSONValue.raw($0) }, try JSONValue.parse(#"{"seq":1,"s":"a\"b}","n":[1,{"x":null}]}"#))
        XCTAssertEqual(echo, .bool(false))

        for bad in [#"{"a":[1,]}"#, #"{"a":"\x"}"#, #"{"a":tru}"#, "{\"a\":\"\u{01}\"}", #"{"a":{"b" 1}}"#] {
            for skip in [true, false] {
                XCTAssertThrowsError(try Array(bad.utf8).withUnsafeBufferPointer { b in
                    var r = JSONReader(b)
                    _ = try r.beginObject()
                    _ = try r.readKey { _ in 0 }
                    if skip { try r.skipValue() } else { _ = try r.readRaw() }
                }, bad)
            }
        }
    }

    /// On checked text (a RawJSON) skipValue and readRaw go by brackets and strings alone,
    /// and land where the checking ones do.
    func testCheckedTextIsSkippedByItsStructure() throws {
        var values = [
            "null", "true", "false", "-12.5e+3", "0", "12345678901234567890", #""""#, #""a\"b\\""#, #""\\""#, #""}]\"{[,:""#,
            "[]", "{}", "[ 1 , [ ] , { } ]", #"{"seq":1,"s":"a\"b}","n":[1,{"x":null}],"t":"\u00e9\\","e":"é😀"}"#,
            "[[[[[]]]],{\"a\":{\"b\":[]}}]",
        ]
        // Quotes and backslashes at every offset of the eight-byte scan.
        for n in 0..<18 {
            let x = String(repeating: "x", count: n)
            values += [#""\#(x)""#, #""\#(x)\"\#(x)""#, #""\#(x)\\""#, #"["\#(x)\\\"",{"\#(x)":"\#(x)"}]"#]
        }
        for v in values {
            let doc = #"{"k": \#(v) ,"after":[\#(v)],"end":1}"#
            for checked in [false, true] {
                try Array(doc.utf8).withUnsafeBufferPointer { b in
                    var r = JSONReader(b, checkedText: checked)
                    XCTAssertFalse(try r.beginObject())
                    _ = try r.readKey { _ in 0 }
                    XCTAssertEqual(String(decoding: try r.readRaw().bytes, as: UTF8.self), v, "\(v) checked: \(checked)")
                    XCTAssertTrue(try r.nextMember())
                    _ = try r.readKey { _ in 0 }
                    XCTAssertFalse(try r.beginArray())
                    try r.skipValue()
                    XCTAssertFalse(try r.nextElement(), v)
                    XCTAssertTrue(try r.nextMember())
                    XCTAssertEqual(try r.readKey { String(decoding: $0, as: UTF8.self) }, "end")
                    XCTAssertEqual(try r.readNumber(), 1)
                    XCTAssertFalse(try r.nextMember())
                    try r.finish()
                }
            }
        }
    }

    /// Checked text is trusted: what skipValue and readRaw pass over is not checked again.
    func testCheckedSkipTrustsTheText() throws {
        let trusted = try Array(#"{"a":tru}"#.utf8).withUnsafeBufferPointer { b in
            var r = JSONReader(b, checkedText: true)
            _ = try r.beginObject()
            _ = try r.readKey { _ in 0 }
            return try r.readRaw().bytes
        }
        XCTAssertEqual(trusted, Array("tru".utf8))
    }

    /// A value read at some depth of a document is held to the parser's nesting limit for
    /// the whole document.
    func testSkipAndReadRawCountTheDepthTheValueSitsAt() throws {
        let limit = JSONValue.maxParseDepth
        for inner in [limit - 2, limit - 1, limit, limit + 1] {
            let value = String(repeating: "[", count: inner) + String(repeating: "]", count: inner)
            let doc = #"["e",{"m":\#(value)}]"#  // the value sits at depth 2
            let parses = (try? JSONValue.parse(doc)) != nil
            XCTAssertEqual(parses, inner < limit, "\(inner)")  // the innermost is at depth inner + 1
            for raw in [false, true] {
                let read: Bool = Array(doc.utf8).withUnsafeBufferPointer { b in
                    var r = JSONReader(b)
                    do {
                        _ = try r.beginArray()
                        _ = try r.readString { _ in 0 }
                        _ = try r.nextElement()
                        _ = try r.beginObject()
                        _ = try r.readKey { _ in 0 }
                        if raw { _ = try r.readRaw(depth: 2) } else { try r.skipValue(depth: 2) }
                        return true
                    } catch {
                        return false
                    }
                }
                XCTAssertEqual(read, parses, "nesting \(inner), raw: \(raw)")
            }
        }
    }

    /// In checked text skipValue follows brackets and strings only; it must end where the
    /// checking skip ends, and stay in bounds on any bytes at all.
    func testCheckedSkipEndsWhereTheCheckingSkipEnds() throws {
        let values = [
            "0", "-12.5e3", "true", "null", #""""#, #""a\"b\\""#, #""\\""#, #""héllo ✓ 😀 and more than eight bytes""#,
            "[]", "{}", #"[1,"]",{"a":"}"},[[]]]"#, #"{"k":"v\\","n":{"m":[1,2,{"x":"\u005d]"}]}}"#,
            #"["0123456789abcdef\"0123456789abcdef"]"#,
        ]
        for v in values {
            for (before, after) in [("", ""), ("[", ",1]"), ("{\"k\": ", " }"), ("[", " ]"), ("[", "]")] {
                let doc = Array((before + v + after).utf8)
                let ends = try [false, true].map { checked in
                    try doc.withUnsafeBufferPointer { b -> String in
                        var r = JSONReader(b, checkedText: checked)
                        if before == "[" { XCTAssertFalse(try r.beginArray()) }
                        if before.hasPrefix("{") { XCTAssertFalse(try r.beginObject()); _ = try r.readKey { _ in 0 } }
                        return String(decoding: try r.readRaw().bytes, as: UTF8.self)
                    }
                }
                XCTAssertEqual(ends[0], v, before + v + after)
                XCTAssertEqual(ends[1], v, before + v + after)
            }
        }
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array(#"{}[]",:\ a1"#.utf8) + [0xC3, 0x80]
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            junk.withUnsafeBufferPointer { b in
                var r = JSONReader(b, checkedText: true)
                if let raw = try? r.readRaw() { XCTAssertLessThanOrEqual(raw.bytes.count, b.count) }
            }
        }
    }
}
