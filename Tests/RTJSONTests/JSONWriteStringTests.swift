import XCTest
@testable import RTJSON

/// Writers that build packets text-first: `JSONValue.writeString(_:into:)` and the digits
/// of `writeDouble`.
final class JSONWriteStringTests: XCTestCase {
    /// A fractional or large double is `description`'s text, appended straight to the bytes.
    func testDoublesAreTheirDescriptionAndReadBack() throws {
        var values: [Double] = [0.1, -0.1, 1.5, 1764486280.123456, 1e15, 1e16, 1.7976931348623157e308, 5e-324,
                                -2.5e-7, 0.30000000000000004, 123456789.98765432, -1e300, 2.2250738585072014e-308]
        var g = SystemRandomNumberGenerator()
        while values.count < 3000 {
            let d = Double(bitPattern: g.next())
            if d.isFinite { values.append(d) }
        }
        for d in values {
            var out: [UInt8] = [0x5B]
            try JSONValue.writeDouble(d, into: &out)
            let text = String(decoding: out.dropFirst(), as: UTF8.self)
            if d == d.rounded(), abs(d) < 1e15 {
                XCTAssertTrue(text.hasSuffix(".0"), text)
            } else {
                XCTAssertEqual(text, d.description)
            }
            XCTAssertEqual(try JSONValue.parse(text).doubleValue, d, text)
        }
    }

    func testAppendsTheQuotedEscapedStringAsTheValueWouldWriteIt() throws {
        for s in ["", "plain", "q\"u\\o\nte\t\u{1}\u{1F}", "é€😀", String(repeating: "ab\"", count: 50)] {
            var out: [UInt8] = [0x5B]
            JSONValue.writeString(s, into: &out)
            var viaValue: [UInt8] = [0x5B]
            try JSONValue.string(s).write(into: &viaValue)
            XCTAssertEqual(out, viaValue)
            XCTAssertEqual(try JSONValue.parse(Array(out.dropFirst())), .string(s))
        }
        var out: [UInt8] = []
        JSONValue.writeString("a\"b\u{1}", into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #""a\"b\u0001""#)
    }
}
