import Foundation
import LuaHost
import Metrics
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live status line on a terminal: elapsed time, instances connected / target,
/// messages per second in and out, checks failed, errors; redrawn about once a second on
/// stderr (never when stderr is not a terminal, nor under --quiet).
final class StatusLine: @unchecked Sendable {  // the timer is only touched by init and stop
    /// Off the event loops: it waits for each loop's figures.
    private let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "rtlua.status"))

    /// Starts it when stderr is a terminal; nil otherwise.
    static func start(metrics: RunMetrics, group: EventLoopGroup, target: @escaping @Sendable () -> Int) -> StatusLine? {
        guard isatty(2) == 1 else { return nil }
        return StatusLine(metrics: metrics, group: group, target: target)
    }

    private init(metrics: RunMetrics, group: EventLoopGroup, target: @escaping @Sendable () -> Int) {
        let started = NIODeadline.now()
        let last = NIOLockedBox((sent: 0.0, received: 0.0, at: started))
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler {
            var live = MetricsRegistry.Live()
            for loop in group.makeIterator() {
                guard let r = metrics.registry(for: ObjectIdentifier(loop)),
                      let l = try? loop.submit({ r.live() }).wait() else { continue }
                live.add(l)
            }
            let now = NIODeadline.now()
            let previous = last.swap((live.sent, live.received, now))
            let dt = max(0.001, Double((now - previous.at).nanoseconds) / 1e9)
            let line = StatusLine.text(elapsed: Double((now - started).nanoseconds) / 1e9, live: live, target: target(),
                                       outPerSecond: (live.sent - previous.sent) / dt, inPerSecond: (live.received - previous.received) / dt)
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
        }
        timer.resume()
    }

    static func text(elapsed: Double, live: MetricsRegistry.Live, target: Int, outPerSecond: Double, inPerSecond: Double) -> String {
        let t = Int(elapsed)
        return String(format: "%02d:%02d  instances %d/%d connected  msgs/s in %.0f out %.0f  checks failed %d  errors %.0f",
                      t / 60, t % 60, live.connected, target, inPerSecond, outPerSecond, live.checksFailed, live.errors)
    }

    /// Stops redrawing and clears the line (before the summary is printed).
    func stop() {
        // Synchronously on the timer's queue, so no redraw follows the clearing.
        DispatchQueue(label: "rtlua.status.stop").sync { timer.cancel() }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// A value swapped under a lock (the previous sample of the status line).
final class NIOLockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func swap(_ new: T) -> T {
        lock.withLock {
            defer { value = new }
            return value
        }
    }
}
