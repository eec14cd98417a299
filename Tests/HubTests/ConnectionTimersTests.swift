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

    func testOnlyTheNextPingOfAClientThatAnsweredAtOnceIsRoutine() {
        var m = make()
        XCTAssertFalse(m.nextWakeIsRoutinePing, "no ping answered yet")
        XCTAssertEqual(m.wake(now: 1100), .sendPing)
        m.pongReceived(now: 1100)
        XCTAssertFalse(m.nextWakeIsRoutinePing, "the connect timeout is still due")
        m.socketConnected()
        XCTAssertTrue(m.nextWakeIsRoutinePing, "answered at the instant of the ping")
        XCTAssertEqual(m.wake(now: 1200), .sendPing)
        XCTAssertFalse(m.nextWakeIsRoutinePing, "the pong deadline is due")
        m.pongReceived(now: 1210)
        XCTAssertFalse(m.nextWakeIsRoutinePing, "answered 10 ms late")
        XCTAssertEqual(m.wake(now: 1310), .sendPing)
        m.pongReceived(now: 1310)
        m.binaryStarted(now: 1310, timeout: 30)
        XCTAssertFalse(m.nextWakeIsRoutinePing, "a binary packet's attachments are due")
        m.binaryEnded()
        XCTAssertTrue(m.nextWakeIsRoutinePing)
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

    func testBinaryPacketHasItsTimeout() {
        var m = make()
        m.socketConnected()
        m.binaryStarted(now: 1010, timeout: 30)
        XCTAssertEqual(m.nextWake, 1040)
        XCTAssertEqual(m.wake(now: 1039), .none)
        XCTAssertEqual(m.wake(now: 1040), .evict(.binaryTimeout))

        var done = make()
        done.socketConnected()
        done.binaryStarted(now: 1010, timeout: 30)
        done.binaryEnded()
        XCTAssertEqual(done.nextWake, 1100, "a complete packet leaves only the ping")
        XCTAssertEqual(done.wake(now: 1040), .none)
    }
}

/// The per-connection packet rate limit on an injected clock (nanoseconds).
final class PacketBucketTests: XCTestCase {
    func testBurstThenRate() {
        var b = PacketBucket(rate: 10, burst: 5, now: 0)
        var clockReads = 0
        var t: Int64 = 0
        func now() -> Int64 { clockReads += 1; return t }
        for i in 0..<5 { XCTAssertTrue(b.take(now: now), "burst \(i)") }
        XCTAssertEqual(clockReads, 0, "within the budget the clock is not read")
        XCTAssertFalse(b.take(now: now))
        t = 99_000_000
        XCTAssertFalse(b.take(now: now), "0.099 s at 10/s: no whole token yet")
        t = 100_000_000
        XCTAssertTrue(b.take(now: now), "0.1 s: one token")
        XCTAssertFalse(b.take(now: now))
        t = 350_000_000
        XCTAssertTrue(b.take(now: now))
        XCTAssertTrue(b.take(now: now))
        XCTAssertFalse(b.take(now: now), "0.25 s more: two tokens (the half is kept)")
        t = 400_000_000
        XCTAssertTrue(b.take(now: now), "the kept half and this half make one")
        t = 3_600_000_000_000_000  // 1000 hours later: full, no overflow
        for _ in 0..<5 { XCTAssertTrue(b.take(now: now)) }
        XCTAssertFalse(b.take(now: now))
    }

    func testRateZeroIsNoLimit() {
        var b = PacketBucket(rate: 0, burst: 1, now: 0)
        for _ in 0..<1000 { XCTAssertTrue(b.take(now: { 0 })) }
    }

    func testSustainedRateIsKept() {
        var b = PacketBucket(rate: 1000, burst: 10, now: 0)
        var t: Int64 = 0
        var taken = 0
        for _ in 0..<100_000 {  // a packet every 0.1 ms for 10 s: ten times the rate
            t += 100_000
            if b.take(now: { t }) { taken += 1 }
        }
        XCTAssertEqual(taken, 10_000 + 10, accuracy: 2, "rate × time + burst")
    }
}

/// The limits' config checks and their metrics.
final class HubLimitsConfigTests: XCTestCase {
    func testLimitsAreValidated() {
        XCTAssertNil(HubConfig().validationError())
        func bad(_ change: (inout HubConfig) -> Void, _ words: String) {
            var c = HubConfig()
            change(&c)
            XCTAssertTrue(c.validationError()?.contains(words) == true, "\(words): \(String(describing: c.validationError()))")
        }
        bad({ $0.packetRate = -1 }, "packetRate")
        bad({ $0.packetBurst = 0 }, "packetBurst")
        bad({ $0.connectTimeout = 0 }, "connectTimeout")
        bad({ $0.binaryPacketTimeout = 0 }, "binaryPacketTimeout")
        bad({ $0.maxChannelsPerSocket = -1 }, "maxChannelsPerSocket")
        bad({ $0.maxMemberDataBytes = -1 }, "maxMemberDataBytes")
        bad({ $0.maxBinaryPacketBytes = -1 }, "maxBinaryPacketBytes")
        bad({ $0.maxConnectAttempts = -1 }, "maxConnectAttempts")
        bad({ $0.outboundBufferLimit = -1 }, "outboundBufferLimit")
        var off = HubConfig()
        off.packetRate = 0
        off.packetBurst = 0
        XCTAssertNil(off.validationError(), "no rate limit: the burst does not matter")
        XCTAssertEqual(HubConfig().effectiveBinaryPacketLimit, 1_000_000, "defaults to maxPayload")
    }

    func testMetricsShowEachKind() {
        var m = HubMetrics()
        m.protocolCloses[1007] = 2
        m.binaryTimeouts = 3
        m.drop(.rateLimited)
        let text = m.render()
        for line in [
            "rtlua_hub_protocol_error_closes_total{code=\"1002\"} 0", "rtlua_hub_protocol_error_closes_total{code=\"1007\"} 2",
            "rtlua_hub_binary_timeouts_total 3", "rtlua_hub_binary_oversize_disconnects_total 0",
            "rtlua_hub_wrong_key_disconnects_total 0", "rtlua_hub_dropped_packets_total{reason=\"rate_limited\"} 1",
            "rtlua_hub_dropped_packets_total{reason=\"too_many_channels\"} 0",
            "rtlua_hub_dropped_packets_total{reason=\"member_data_too_large\"} 0",
            "rtlua_hub_dropped_packets_total{reason=\"binary_member_data\"} 0", "rtlua_hub_slow_consumer_disconnects_total 0",
        ] {
            XCTAssertTrue(text.contains(line + "\n"), line)
        }
    }
}
