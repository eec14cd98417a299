import NIOCore

/// The one clock of the Lua host: `now()`, `sleep`, `timer.after/every`, `schedule` and the
/// `waitFor` timeouts all read it and wait on it. `rtlua run` gives scripts the real clock;
/// `rtlua test` gives every script of a test one `VirtualClock`, which only moves when the
/// test moves it, so a test of a two-week schedule runs in milliseconds and the same way
/// every time.
public protocol ScriptClock: AnyObject, Sendable {
    /// Seconds since the epoch (UTC), with at least microsecond resolution.
    func now() -> Double
    /// Runs `fn` on `loop` `seconds` from now (at once when not positive).
    func schedule(in seconds: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask
    /// Runs `fn` on `loop` at epoch time `at` (at once when it has passed).
    func schedule(at epoch: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask
}

/// A pending run of a clock; `cancel()` is safe to call any number of times, also after it ran.
public struct ClockTask: Sendable {
    private let cancelAction: @Sendable () -> Void
    public init(cancel: @escaping @Sendable () -> Void) { self.cancelAction = cancel }
    public func cancel() { cancelAction() }
}

/// The wall clock for the current time, the event loop's monotonic timers for waiting.
public final class RealClock: ScriptClock {
    public static let shared = RealClock()

    public func now() -> Double { ScriptLogger.now() }

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
    static func fromSeconds(_ s: Double) -> TimeAmount {
        .nanoseconds(s >= 9e9 ? Int64(9e18) : Int64(s * 1e9))
    }
}
