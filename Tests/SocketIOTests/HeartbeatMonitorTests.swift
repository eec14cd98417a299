import XCTest
@testable import SocketIO

final class HeartbeatMonitorTests: XCTestCase {
    let t0: Int64 = 1_000

    func testExpiresAfterIntervalPlusTimeoutOfSilence() {
        let m = HeartbeatMonitor(pingInterval: 25_000, pingTimeout: 20_000, now: t0)
        XCTAssertEqual(m.deadline, t0 + 45_000)
        XCTAssertEqual(m.check(now: t0 + 44_999), .checkAgain(at: t0 + 45_000))
        XCTAssertEqual(m.check(now: t0 + 45_000), .expired)
    }

    func testEveryFrameMovesTheDeadline() {
        var m = HeartbeatMonitor(pingInterval: 100, pingTimeout: 50, now: t0)
        m.frameReceived(at: t0 + 120)
        // The timer armed for t0+150 fires: not expired, look again at the new deadline.
        XCTAssertEqual(m.check(now: t0 + 150), .checkAgain(at: t0 + 270))
        m.frameReceived(at: t0 + 260)
        XCTAssertEqual(m.check(now: t0 + 270), .checkAgain(at: t0 + 410))
        XCTAssertEqual(m.check(now: t0 + 411), .expired)
    }
}
