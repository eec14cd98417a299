#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The clock that timers on event loops run on. The Lua host's `now()`, `sleep`, `timer.*`,
/// `schedule` and `waitFor` timeouts, the client's heartbeat, connect timeout and
/// reconnection back-off, and the hub's ping timers all read it and wait on it. `rtlua run`
/// and `rtlua serve` use the real clock; `rtlua test` gives everything of a test one
/// `VirtualClock`, which only moves when the test moves it, so a test of a two-week schedule
/// runs in milliseconds and the same way every time.
public protocol EventClock: AnyObject, Sendable {
    /// Seconds since the epoch (UTC), with at least microsecond resolution.
    func now() -> Double
    /// Runs `fn` on `loop` `seconds` from now (at once when not positive).
    func schedule(in seconds: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask
    /// Runs `fn` on `loop` at epoch time `at` (at once when it has passed).
    func schedule(at epoch: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask
    /// A timer of a connection's own (a ping, a ping timeout, a heartbeat check, a connect
    /// timeout). The real clock runs it at `epoch`, like any other. A virtual clock does not
    /// count it as due (`runUntilIdle` ends without it), and may run a routine one later
    /// (`LivenessTimer`), so that moving the clock by days does not mean thousands of ping
    /// round trips.
    func scheduleLiveness(at epoch: Double, _ timer: LivenessTimer, on loop: EventLoop,
                          _ fn: @escaping @Sendable () -> Void) -> ClockTask
    /// Something was sent whose answer belongs to this instant (a ping's pong, a connection
    /// attempt's handshake): a virtual clock does not move on until the hold is released
    /// (`cancel()`) or its `holdLimit` of real time has passed. The real clock ignores it.
    func hold() -> ClockTask
}

extension EventClock {
    public func scheduleLiveness(at epoch: Double, _ timer: LivenessTimer, on loop: EventLoop,
                                 _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        schedule(at: epoch, on: loop, fn)
    }

    public func hold() -> ClockTask { ClockTask.none }
}

/// What a connection's timer is for, which tells a virtual clock how far it may move it.
public enum LivenessTimer: Sendable, Equatable {
    /// A deadline or a first ping: runs at its time.
    case exact
    /// The next ping of a connection that answered the last one at once: over a stretch in
    /// which nothing else is due, its pings are one, at the stretch's end (each of the others
    /// would have been answered at once, which nothing can tell from none).
    case ping
    /// A heartbeat check on a connection whose server pings: it runs at the stretch's end,
    /// after the pings moved there.
    case check
}

/// A pending run of a clock; `cancel()` is safe to call any number of times, also after it ran.
public struct ClockTask: Sendable {
    private let cancelAction: @Sendable () -> Void
    public init(cancel: @escaping @Sendable () -> Void) { self.cancelAction = cancel }
    public func cancel() { cancelAction() }
    /// Nothing to cancel.
    public static let none = ClockTask {}
}

/// The wall clock for the current time, the event loop's monotonic timers for waiting.
public final class RealClock: EventClock {
    public static let shared = RealClock()

    public func now() -> Double { Self.wallTime() }

    /// Seconds since the epoch from CLOCK_REALTIME.
    public static func wallTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func schedule(in seconds: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        let task = loop.scheduleTask(in: .fromSeconds(max(0, seconds)), fn)
        return ClockTask { task.cancel() }
    }

    public func schedule(at epoch: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        schedule(in: epoch - now(), on: loop, fn)
    }
}

extension TimeAmount {
    /// Seconds as a TimeAmount, saturating far beyond any sensible delay.
    public static func fromSeconds(_ s: Double) -> TimeAmount {
        .nanoseconds(s >= 9e9 ? Int64(9e18) : Int64(s * 1e9))
    }
}
