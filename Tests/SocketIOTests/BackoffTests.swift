import XCTest
@testable import SocketIO

final class BackoffTests: XCTestCase {
    func testWithoutJitterDelaysDoubleFromMinUpToMax() {
        var b = Backoff(min: 1000, max: 5000, factor: 0.5, random: { 0.5 })
        XCTAssertEqual((0..<6).map { _ in b.next() }, [1000, 2000, 4000, 5000, 5000, 5000])
        XCTAssertEqual(b.attempts, 6)
    }

    func testSmallestRandomGivesMinusFactorAndLargestPlusFactor() {
        var low = Backoff(min: 1000, max: 5000, factor: 0.5, random: { 0 })
        XCTAssertEqual((0..<4).map { _ in low.next() }, [500, 1000, 2000, 2500])
        var high = Backoff(min: 1000, max: 5000, factor: 0.5, random: { 1 })
        XCTAssertEqual((0..<4).map { _ in high.next() }, [1500, 3000, 6000, 7500])
    }

    func testResetStartsAgainFromTheFirstDelay() {
        var b = Backoff(min: 100, max: 10_000, factor: 0, random: { 0.9 })
        _ = b.next(); _ = b.next(); _ = b.next()
        b.reset()
        XCTAssertEqual(b.attempts, 0)
        XCTAssertEqual(b.next(), 100)
        XCTAssertEqual(b.next(), 200)
    }

    func testManyAttemptsStayCappedWithoutOverflow() {
        var b = Backoff(min: 1000, max: 5000, factor: 0, random: { 0 })
        for _ in 0..<200 { XCTAssertLessThanOrEqual(b.next(), 5000) }
        XCTAssertEqual(b.next(), 5000)
    }

    func testOutOfRangeSettingsAreClamped() {
        // max below min means "no growth"; a factor above 1 could go negative.
        var b = Backoff(min: 300, max: 100, factor: 3, random: { 0 })
        XCTAssertEqual(b.next(), 0)
        XCTAssertEqual(b.max, 300)
        var c = Backoff(min: 300, max: 100, factor: 0, random: { 0 })
        XCTAssertEqual([c.next(), c.next()], [300, 300])
    }
}
