import XCTest

@testable import Hub

/// Ping, pong and eviction on an injected clock (milliseconds).
final class ConnectionTimersTests: XCTestCase {
    func make(at t: Int64 = 1000) -> ConnectionTimers {
        ConnectionTimers(now: t, pingInterval: 100, pingTimeout: 50, connectTimeout: 400)
    }

    func testPingsEveryIntervalWhileTheClientAnswers() {
        var m = make()
        m.socketConnected()
        XCTAssertEqual(m.nextWake, 1100)
        XCTAssertEqual(m.wake(now: 1099), .none)
        XCTAssertEqual(m.wake(now: 1100), .sendPing)
        XCTAssertEqual(m.nextWake, 1150, "waits pingTimeout for the pong")
        m.pongReceived(now: 1120)
        XCTAssertEqual(m.nextWake, 1220, "next ping is pingInterval after the pong")
        XCTAssertEqual(m.wake(now: 1150), .none, "answered: no eviction at the old deadline")
        XCTAssertEqual(m.wake(now: 1220), .sendPing)
        m.pongReceived(now: 1221)
        XCTAssertEqual(m.wake(now: 1321), .sendPing)
    }

    func testEvictsAClientThatDoesNotPongWithinTimeout() {
        var m = make()
        m.socketConnected()
        XCTAssertEqual(m.wake(now: 1100), .sendPing)
        XCTAssertEqual(m.wake(now: 1149), .none)
        XCTAssertEqual(m.wake(now: 1150), .evict(.pingTimeout))
    }

    func testUnaskedPongChangesNothing() {
        var m = make()
        m.socketConnected()
        m.pongReceived(now: 1050)
        XCTAssertEqual(m.nextWake, 1100)
        XCTAssertEqual(m.wake(now: 1100), .sendPing)
    }

    func testConnectTimeoutUntilSocketConnects() {
        var m = make()
        XCTAssertEqual(m.wake(now: 1100), .sendPing)
        m.pongReceived(now: 1100)
        XCTAssertEqual(m.wake(now: 1200), .sendPing)
        m.pongReceived(now: 1200)
        XCTAssertEqual(m.wake(now: 1300), .sendPing)
        m.pongReceived(now: 1300)
        XCTAssertEqual(m.nextWake, 1400)
        XCTAssertEqual(m.wake(now: 1400), .evict(.connectTimeout), "answering pings is not enough: CONNECT is required")

        var c = make()
        c.socketConnected()
        XCTAssertEqual(c.wake(now: 1400), .sendPing)
    }
}
