import XCTest
@testable import RTJSON

final class JSONTextTests: XCTestCase {
    func roundTrip(_ v: JSONValue, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = try v.jsonText()
        XCTAssertEqual(try JSONValue.parse(text), v, text, file: file, line: line)
    }

    func testScalarsRoundTripKeepingIntegerAndFloatApart() throws {
        for v: JSONValue in [.null, true, false, 0, -1, .integer(Int64.max), .integer(Int64.min),
                             1.5, 3.0, -0.25, 1e300, 1e-7, "", "héllo ✓", "q\"\\/\n\t\u{01}"] {
            try roundTrip(v)
        }
        XCTAssertEqual(try JSONValue.parse("3"), .integer(3))
        XCTAssertEqual(try JSONValue.parse("3.0"), .double(3))
        XCTAssertEqual(try JSONValue(floatLiteral: 3).jsonText(), "3.0")
        XCTAssertEqual(try JSONValue.parse("1e2"), .double(100))
        XCTAssertEqual(try JSONValue.parse("12345678901234567890"), .double(12345678901234567890))
    }

    func testContainersRoundTrip() throws {
        try roundTrip([])
        try roundTrip([:])
        try roundTrip(["a": [1, 2, ["b": .null]], "c": "d", "e": [[], [:]]])
        XCTAssertEqual(try JSONValue.parse(" { \"a\" : [ 1 , 2 ] } "), ["a": [1, 2]])
    }

    func testSortedKeysAreDeterministic() throws {
        XCTAssertEqual(try (["b": 1, "a": 2, "c": [:]] as JSONValue).jsonText(sortedKeys: true), #"{"a":2,"b":1,"c":{}}"#)
    }

    func testUnicodeEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try JSONValue.parse(#""\u00e9\ud83d\ude00""#), "é😀")
        XCTAssertEqual(try JSONValue.parse(#""\ud83d""#), "\u{FFFD}")
    }

    func testMalformedInputIsAnErrorNotACrash() {
        for bad in ["", "{", "[1,", "[1 2]", "{\"a\" 1}", "{1:2}", "tru", "nul", "01", "-", "1.", "1e",
                    "\"abc", "\"\\x\"", "\"\\u12\"", "[1]x", "\u{01}", "\"a\nb\"", "{\"a\":1,}"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
    }

    func testDeepNestingIsRefused() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONValue.parse(deep))
    }

    func testBinaryAndNonFiniteHaveNoTextForm() {
        XCTAssertThrowsError(try JSONValue.binary([1, 2]).jsonText())
        XCTAssertThrowsError(try JSONValue.double(.nan).jsonText())
        XCTAssertThrowsError(try JSONValue.array([.double(.infinity)]).jsonText())
        XCTAssertTrue(JSONValue.object(["a": [.binary([])]]).containsBinary)
        XCTAssertFalse(JSONValue.object(["a": ["x"]]).containsBinary)
    }

    func testParsePrefixReportsConsumedBytes() throws {
        let bytes = Array(#"[1,"a"]tail"#.utf8)
        let (v, n) = try bytes.withUnsafeBufferPointer { try JSONValue.parsePrefix($0) }
        XCTAssertEqual(v, [1, "a"])
        XCTAssertEqual(n, 7)
    }
}
