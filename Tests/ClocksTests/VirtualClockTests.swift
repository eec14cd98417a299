import Clocks
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

/// The virtual clock of `rtlua test`: what is due runs in order of due time (ties in the
/// order scheduled), each seeing `now()` at its own due time, and only when the clock moves.
final class VirtualClockTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private var loop: EventLoop { group.next() }

    override func setUp() { group = MultiThreadedEventLoopGroup(numberOfThreads: 1) }
    override func tearDown() { try? group.syncShutdownGracefully() }

    private func advance(_ clock: VirtualClock, by seconds: Double) throws {
        let p = loop.makePromise(of: Void.self)
        clock.advance(by: seconds, on: loop) { p.succeed(()) }
        try p.futureResult.wait()
    }

    func testNothingRunsUntilTheClockMovesThenEverythingDueRunsInOrder() throws {
        let clock = VirtualClock(start: 1000)
        let log = NIOLockedValueBox<[String]>([])
        let loop = self.loop
        for (name, delay) in [("c", 30.0), ("a", 10.0), ("b1", 20.0), ("b2", 20.0), ("late", 100.0)] {
            _ = clock.schedule(in: delay, on: loop) { log.withLockedValue { $0.append("\(name)@\(clock.now())") } }
        }
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(log.withLockedValue { $0 }, [])
        try advance(clock, by: 60)
        XCTAssertEqual(log.withLockedValue { $0 }, ["a@1010.0", "b1@1020.0", "b2@1020.0", "c@1030.0"])
        XCTAssertEqual(clock.now(), 1060)
        XCTAssertEqual(clock.pendingCount, 1)
    }

    func testACallbackScheduledDuringAnAdvanceRunsInItsPlaceInTime() throws {
        let clock = VirtualClock(start: 0)
        let log = NIOLockedValueBox<[String]>([])
        let loop = self.loop
        // A repeating timer every 10 s and a one-shot at 25 s interleave as in real time.
        @Sendable func every() {
            log.withLockedValue { $0.append("tick@\(Int(clock.now()))") }
            _ = clock.schedule(in: 10, on: loop, every)
        }
        _ = clock.schedule(in: 10, on: loop, every)
        _ = clock.schedule(at: 25, on: loop) { log.withLockedValue { $0.append("once@\(Int(clock.now()))") } }
        try advance(clock, by: 40)
        XCTAssertEqual(log.withLockedValue { $0 }, ["tick@10", "tick@20", "once@25", "tick@30", "tick@40"])
    }

    func testCancelledEntriesDoNotRunAndSetGoesBothWays() throws {
        let clock = VirtualClock(start: 100)
        let ran = NIOLockedValueBox(0)
        let task = clock.schedule(in: 5, on: loop) { ran.withLockedValue { $0 += 1 } }
        task.cancel()
        task.cancel()
        try advance(clock, by: 10)
        XCTAssertEqual(ran.withLockedValue { $0 }, 0)

        _ = clock.schedule(at: 500, on: loop) { ran.withLockedValue { $0 += 1 } }
        let forward = loop.makePromise(of: Void.self)
        clock.set(to: 499, on: loop) { forward.succeed(()) }
        try forward.futureResult.wait()
        XCTAssertEqual(ran.withLockedValue { $0 }, 0)
        let back = loop.makePromise(of: Void.self)
        clock.set(to: 50, on: loop) { back.succeed(()) }
        try back.futureResult.wait()
        XCTAssertEqual(clock.now(), 50)
        let far = loop.makePromise(of: Void.self)
        clock.set(to: 500, on: loop) { far.succeed(()) }
        try far.futureResult.wait()
        XCTAssertEqual(ran.withLockedValue { $0 }, 1)
    }

    func testRunUntilIdleRunsEverythingAndStopsAtItsLimit() throws {
        let clock = VirtualClock(start: 0, idleRunLimit: 50)
        let loop = self.loop
        let count = NIOLockedValueBox(0)
        _ = clock.schedule(in: 3600 * 24 * 365, on: loop) { count.withLockedValue { $0 += 1 } }
        let idle = loop.makePromise(of: Bool.self)
        clock.runUntilIdle(on: loop) { idle.succeed($0) }
        XCTAssertTrue(try idle.futureResult.wait())
        XCTAssertEqual(count.withLockedValue { $0 }, 1)
        XCTAssertEqual(clock.now(), 3600 * 24 * 365)

        @Sendable func forever() { _ = clock.schedule(in: 1, on: loop, forever) }
        _ = clock.schedule(in: 1, on: loop, forever)
        let busy = loop.makePromise(of: Bool.self)
        clock.runUntilIdle(on: loop) { busy.succeed($0) }
        XCTAssertFalse(try busy.futureResult.wait())
    }

    func testTwoAdvancesAtOnceRunOneAfterTheOther() throws {
        let clock = VirtualClock(start: 0)
        let loop = self.loop
        let log = NIOLockedValueBox<[Int]>([])
        for t in [5.0, 15.0] { _ = clock.schedule(in: t, on: loop) { log.withLockedValue { $0.append(Int(clock.now())) } } }
        let first = loop.makePromise(of: Void.self), second = loop.makePromise(of: Void.self)
        loop.execute {
            clock.advance(by: 10, on: loop) { first.succeed(()) }
            clock.advance(by: 10, on: loop) { second.succeed(()) }
        }
        try first.futureResult.wait()
        try second.futureResult.wait()
        XCTAssertEqual(log.withLockedValue { $0 }, [5, 15])
        XCTAssertEqual(clock.now(), 20)
    }

    // MARK: liveness timers and holds

    /// A periodic liveness timer that re-arms itself one period after each run, like the
    /// hub's ping of a client that answers at once; `log` gets the time of each run.
    private func heartbeat(_ clock: VirtualClock, every period: Double, from first: Double, log: NIOLockedValueBox<[Double]>) {
        let loop = self.loop
        @Sendable func arm(_ at: Double) {
            _ = clock.scheduleLiveness(at: at, .ping, on: loop) {
                log.withLockedValue { $0.append(clock.now()) }
                arm(clock.now() + period)
            }
        }
        arm(first)
    }

    func testLivenessTimersCoalesceOverAQuietStretchAndStopAtOrdinaryEntries() throws {
        let clock = VirtualClock(start: 0)
        let pings = NIOLockedValueBox<[Double]>([])
        heartbeat(clock, every: 25, from: 25, log: pings)
        let timers = NIOLockedValueBox<[Double]>([])
        for t in [1000.0, 1010.0] { _ = clock.schedule(at: t, on: loop) { timers.withLockedValue { $0.append(clock.now()) } } }
        try advance(clock, by: 100_000)
        // Up to the timer at 1000: once, at the last 25 s mark (1000); between 1000 and 1010,
        // none is due; then once at the last mark before the target.
        XCTAssertEqual(pings.withLockedValue { $0 }, [1000, 100_000])
        XCTAssertEqual(timers.withLockedValue { $0 }, [1000, 1010])
        XCTAssertEqual(clock.now(), 100_000)
        XCTAssertEqual(clock.pendingCount, 0, "liveness timers are not counted as pending")
        XCTAssertNil(clock.nextDue)
    }

    func testAMovedCheckRunsAtTheStretchsEndAfterThePings() throws {
        let clock = VirtualClock(start: 0)
        let order = NIOLockedValueBox<[String]>([])
        let loop = self.loop
        // Scheduled first and due first, but a check: it runs after the ping it waits for.
        _ = clock.scheduleLiveness(at: 45, .check, on: loop) { order.withLockedValue { $0.append("check@\(clock.now())") } }
        _ = clock.scheduleLiveness(at: 50, .ping, on: loop) { order.withLockedValue { $0.append("ping@\(clock.now())") } }
        try advance(clock, by: 1000)
        XCTAssertEqual(order.withLockedValue { $0 }, ["ping@1000.0", "check@1000.0"])
    }

    func testRunUntilIdleDoesNotWaitForLivenessTimers() throws {
        let clock = VirtualClock(start: 0, idleRunLimit: 50)
        let pings = NIOLockedValueBox<[Double]>([])
        heartbeat(clock, every: 25, from: 25, log: pings)
        let ran = NIOLockedValueBox<[String]>([])
        _ = clock.schedule(in: 600, on: loop) { ran.withLockedValue { $0.append("timer@\(clock.now())") } }
        // Deadlines of a connection run on the way, not after the last timer.
        for at in [45.0, 700.0] {
            _ = clock.scheduleLiveness(at: at, .exact, on: loop) { ran.withLockedValue { $0.append("deadline@\(clock.now())") } }
        }
        XCTAssertEqual(clock.pendingCount, 1)
        XCTAssertEqual(clock.nextDue, 600)
        let idle = loop.makePromise(of: Bool.self)
        clock.runUntilIdle(on: loop) { idle.succeed($0) }
        XCTAssertTrue(try idle.futureResult.wait(), "idle although the heartbeat goes on")
        XCTAssertEqual(ran.withLockedValue { $0 }, ["deadline@45.0", "timer@600.0"])
        XCTAssertEqual(pings.withLockedValue { $0 }, [45, 600], "the deadline at 45 ends the first stretch")
        XCTAssertEqual(clock.now(), 600)
    }

    func testAHoldKeepsTheClockUntilReleasedOrOutOfTime() throws {
        let clock = VirtualClock(start: 0)
        let loop = self.loop
        let seen = NIOLockedValueBox<[String]>([])
        let hold = NIOLockedValueBox<ClockTask?>(nil)
        _ = clock.schedule(at: 10, on: loop) {
            seen.withLockedValue { $0.append("sent@\(clock.now())") }
            hold.withLockedValue { $0 = clock.hold() }
            // The answer comes 50 ms later in real time, still at the same virtual instant.
            loop.scheduleTask(in: .milliseconds(50)) {
                seen.withLockedValue { $0.append("answer@\(clock.now())") }
                hold.withLockedValue { $0?.cancel() }
            }
        }
        _ = clock.schedule(at: 11, on: loop) { seen.withLockedValue { $0.append("next@\(clock.now())") } }
        try advance(clock, by: 20)
        XCTAssertEqual(seen.withLockedValue { $0 }, ["sent@10.0", "answer@10.0", "next@11.0"])

        // A hold nobody releases ends with the clock's limit.
        let short = VirtualClock(start: 0, holdLimit: .milliseconds(100))
        _ = short.schedule(in: 1, on: loop) { _ = short.hold() }
        let began = NIODeadline.now()
        try advance(short, by: 5)
        XCTAssertGreaterThanOrEqual(NIODeadline.now() - began, .milliseconds(100))
        XCTAssertEqual(short.now(), 5)
    }
}
