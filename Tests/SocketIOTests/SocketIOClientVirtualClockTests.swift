import Clocks
import NIOCore
import NIOPosix
import XCTest
@testable import SocketIO

/// The client's timers on a virtual clock (`config.clock`, as `rtlua test` sets it): the
/// heartbeat check, the connection attempt's timeout and the reconnection back-off fire at
/// their virtual due times, and only when the clock moves.
final class SocketIOClientVirtualClockTests: XCTestCase {
    var harness: ClientHarness?
    let start = 1_767_225_600.0

    override func tearDown() { harness?.shutdown() }

    private func advance(_ clock: VirtualClock, by seconds: Double, _ h: ClientHarness) throws {
        let done = h.loop.makePromise(of: Void.self)
        clock.advance(by: seconds, on: h.loop) { done.succeed(()) }
        try done.futureResult.wait()
        try h.onLoop { _ in }  // what the last callback started has run
    }

    func testHeartbeatExpiresAtIntervalPlusTimeoutOfVirtualSilenceThenBacksOffOnTheClock() throws {
        // MiniEngineServer announces pingInterval 25 s and pingTimeout 20 s, and never pings.
        let mini = try MiniEngineServer()
        defer { mini.shutdown() }
        let clock = VirtualClock(start: start)
        var config = ClientHarness.config(url: mini.url)
        config.clock = clock
        let h = ClientHarness(config: config)
        harness = h
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect()

        try advance(clock, by: 44.999, h)
        XCTAssertTrue(try h.onLoop { $0.isConnected }, "the window is 45 s of virtual silence")
        try advance(clock, by: 0.001, h)
        XCTAssertEqual(h.events.last, .disconnect(reason: "ping timeout", willReconnect: true))
        XCTAssertEqual(clock.now(), start + 45)

        // The back-off (100–400 ms here) waits on the same clock.
        Thread.sleep(forTimeInterval: 0.6)
        XCTAssertFalse(h.events.contains(.willReconnect(attempt: 1)), "no reconnection while the clock stands")
        try advance(clock, by: 0.4, h)
        XCTAssertTrue(h.events.contains(.willReconnect(attempt: 1)))
        _ = try h.waitForConnect(count: 2)
    }

    func testConnectionAttemptTimesOutOnTheVirtualClock() throws {
        // A TCP server that accepts and never answers the upgrade.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let silent = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? silent.close().wait() }
        let clock = VirtualClock(start: start)
        var config = ClientHarness.config(url: "http://127.0.0.1:\(silent.localAddress!.port!)")
        config.timeout = 20_000
        config.clock = clock
        let h = ClientHarness(config: config)
        harness = h
        try h.onLoop { $0.connect() }
        Thread.sleep(forTimeInterval: 0.1)
        try advance(clock, by: 19.999, h)
        XCTAssertEqual(h.events, [], "the attempt's timeout is 20 virtual seconds")
        try advance(clock, by: 0.001, h)
        guard case .fail(let error, willReconnect: true)? = h.events.first else {
            return XCTFail("expected a timed-out attempt, got \(h.events)")
        }
        XCTAssertEqual(error.kind, .timeout)
    }
}
