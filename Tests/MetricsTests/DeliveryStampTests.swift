import XCTest

@testable import Metrics

/// The `--delivery-stamp` field spliced into and out of a message object's text.
final class DeliveryStampTests: XCTestCase {
    func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testObjectsGetTheStampFirstAndLoseItAgain() throws {
        for message in ["{\"n\":1}", "{}", " { \"a\" : [1,{}] } ", "{\"_rtlua_sent\":5}"] {
            let stamped = try XCTUnwrap(DeliveryStamp.stamped(text(message), atMilliseconds: 1_767_000_000_123.4))
            let s = String(decoding: stamped, as: UTF8.self)
            XCTAssert(s.contains("{\"_rtlua_sent\":1767000000123"), s)
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(stamped)), s)
            let read = try XCTUnwrap(DeliveryStamp.read(stamped))
            XCTAssertEqual(read.milliseconds, 1_767_000_000_123)
            XCTAssertEqual(String(decoding: read.unstamped, as: UTF8.self), message)
        }
        XCTAssertEqual(DeliveryStamp.stamped(text("{}"), atMilliseconds: 7).map { String(decoding: $0, as: UTF8.self) }, "{\"_rtlua_sent\":7}")
    }

    func testOtherValuesAreNotStampedNorRead() {
        for message in ["\"text\"", "[1,2]", "12", "null", "true", ""] {
            XCTAssertNil(DeliveryStamp.stamped(text(message), atMilliseconds: 1), message)
            XCTAssertNil(DeliveryStamp.read(text(message)), message)
        }
        // Not first, not a number, or no stamp at all: left alone.
        for message in ["{\"a\":1,\"_rtlua_sent\":5}", "{\"_rtlua_sent\":\"5\"}", "{\"_rtlua_sent\":null}", "{\"n\":1}", "{\"_rtlua_sent\""] {
            XCTAssertNil(DeliveryStamp.read(text(message)), message)
        }
        XCTAssertEqual(DeliveryStamp.read(text("{ \"_rtlua_sent\" : 12 , \"n\":1}")).map { String(decoding: $0.unstamped, as: UTF8.self) }, "{ \"n\":1}")
    }
}
