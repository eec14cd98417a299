import XCTest
@testable import RTJSON

/// `JSONValue.writeString(_:into:)`, public for writers that build packets text-first.
final class JSONWriteStringTests: XCTestCase {
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
