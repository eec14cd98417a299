import XCTest
@testable import CurlHTTP

final class ResponseHeaderParserTests: XCTestCase {
    private func parse(_ lines: [String]) -> [String] {
        var parser = ResponseHeaderParser()
        for line in lines {
            Array(line.utf8).withUnsafeBytes { parser.receive(line: $0) }
        }
        return parser.headers.map { "\($0.0)=\($0.1)" }
    }

    func testKeepsOrderNamesAndRepeats() {
        XCTAssertEqual(parse(["HTTP/1.1 200 OK\r\n", "Set-Cookie: a\r\n", "x-Lower:  padded \t\r\n", "Set-Cookie: b\r\n", "\r\n"]),
                       ["Set-Cookie=a", "x-Lower=padded", "Set-Cookie=b"])
    }

    func testEmptyValueAndColonInValue() {
        XCTAssertEqual(parse(["HTTP/1.1 200 OK\r\n", "X-Empty:\r\n", "Location: http://h:1/p\r\n"]),
                       ["X-Empty=", "Location=http://h:1/p"])
    }

    func testStatusLineStartsOver() {
        // 100 Continue, a redirect, then the final response: only the last block remains.
        XCTAssertEqual(parse(["HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 302 Found\r\n", "Location: /x\r\n", "\r\n",
                              "HTTP/2 200\r\n", "a: 1\r\n", "\r\n"]),
                       ["a=1"])
    }

    func testFoldedLinesJoinThePreviousValue() {
        XCTAssertEqual(parse(["HTTP/1.1 200 OK\r\n", "X-Long: one\r\n", "   two\r\n", "\tthree\r\n"]), ["X-Long=one two three"])
        XCTAssertEqual(parse(["HTTP/1.1 200 OK\r\n", " orphan\r\n", "no colon here\r\n", "a: b\n"]), ["a=b"])
    }
}
