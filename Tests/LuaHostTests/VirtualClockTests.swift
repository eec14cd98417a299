import LuaHost
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
}
