@testable import LuaHost
import XCTest

/// The time texts of a test's `clock`: durations and ISO 8601 instants.
final class TestTimeTests: XCTestCase {
    func testDurations() {
        XCTAssertEqual(TestTime.duration("90m"), 5400)
        XCTAssertEqual(TestTime.duration("1h30m"), 5400)
        XCTAssertEqual(TestTime.duration("2d"), 172_800)
        XCTAssertEqual(TestTime.duration("500ms"), 0.5)
        XCTAssertEqual(TestTime.duration("1d 2h"), 93_600)
        for bad in ["", "5", "m", "5x", "1.2.3s", "-5s"] { XCTAssertNil(TestTime.duration(bad), bad) }
    }

    func testInstants() {
        XCTAssertEqual(TestTime.instant("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(TestTime.instant("2026-12-31T23:59:00Z"), 1_798_761_540)
        XCTAssertEqual(TestTime.instant("2027-01-01T00:59:00+01:00"), 1_798_761_540)
        XCTAssertEqual(TestTime.instant("2026-12-31T18:59:00.25-05:00"), 1_798_761_540.25)
        XCTAssertEqual(TestTime.start, 1_767_225_600)  // 2026-01-01T00:00:00Z
        for bad in ["2026-12-31", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-31T23:59:00",
                    "2026-12-31T24:00:00Z", "2026-12-31T23:59:00+0100", "x"] {
            XCTAssertNil(TestTime.instant(bad), bad)
        }
    }
}
