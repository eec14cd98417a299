import NIOConcurrencyHelpers
import NIOCore

/// A clock that stands still until it is told to move (`rtlua test`). Everything scheduled
/// on it waits in one queue ordered by due time (ties: in the order scheduled); `advance`
/// runs them one at a time, setting `now()` to each one's due time first, and lets the event
/// loop take a turn between two of them, so that what a callback starts (a coroutine woken,
/// a timer added for a moment still inside the advance) happens in the same order as it
/// would in real time.
public final class VirtualClock: ScriptClock, @unchecked Sendable {  // state behind `lock`
    private struct Entry {
        var at: Double
        var seq: Int
        var loop: EventLoop
        var fn: @Sendable () -> Void
    }

    private let lock = NIOLock()
    private var current: Double
    /// Due entries, sorted by (at, seq); cancelled ones are removed at once.
    private var entries: [Entry] = []
    private var nextSeq = 0
    /// An advance in progress (one at a time; a second one waits for the first).
    private var moving = false
    private var waitingMoves: [() -> Void] = []

    /// How many callbacks `runUntilIdle` runs at most, so a `timer.every` cannot make it spin forever.
    public let idleRunLimit: Int

    public init(start: Double, idleRunLimit: Int = 100_000) {
        current = start
        self.idleRunLimit = idleRunLimit
    }

    /// While this says false, the clock does not move on to its next entry (polled every
    /// millisecond, for at most `settleLimit` of real time per entry): `rtlua test` holds the
    /// clock while a bot waits for an HTTP answer, so the answer comes at the virtual time it
    /// would have come in real time, not days later.
    public var isSettled: (@Sendable () -> Bool)? {
        get { lock.withLock { settled } }
        set { lock.withLock { settled = newValue } }
    }
    private var settled: (@Sendable () -> Bool)?
    public static let settleLimit = TimeAmount.seconds(5)

    public func now() -> Double { lock.withLock { current } }

    /// Entries still waiting (for tests and `runUntilIdle`).
    public var pendingCount: Int { lock.withLock { entries.count } }

    /// The due time of the next entry, if any.
    public var nextDue: Double? { lock.withLock { entries.first?.at } }

    public func schedule(in seconds: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        lock.withLock { insert(at: current + max(0, seconds), loop: loop, fn) }
    }

    public func schedule(at epoch: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        lock.withLock { insert(at: max(epoch, current), loop: loop, fn) }
    }

    private func insert(at: Double, loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        let seq = nextSeq
        nextSeq += 1
        // First index whose entry is due later (binary search keeps ties in scheduling order).
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].at <= at { low = mid + 1 } else { high = mid }
        }
        entries.insert(Entry(at: at, seq: seq, loop: loop, fn: fn), at: low)
        return ClockTask { [weak self] in self?.cancel(seq) }
    }

    private func cancel(_ seq: Int) {
        lock.withLock {
            if let i = entries.firstIndex(where: { $0.seq == seq }) { entries.remove(at: i) }
        }
    }

    /// Moves the clock `seconds` forward, running everything due on the way in order; `done`
    /// is called (on `loop`) once the clock stands at the target.
    public func advance(by seconds: Double, on loop: EventLoop, done: @escaping @Sendable () -> Void) {
        move(on: loop, done: done) { [self] in lock.withLock { current } + max(0, seconds) }
    }

    /// Sets the time: forward runs what falls due on the way, like `advance`; backward only
    /// moves `now()` (what is scheduled keeps its due time).
    public func set(to epoch: Double, on loop: EventLoop, done: @escaping @Sendable () -> Void) {
        let backward = lock.withLock { () -> Bool in
            guard epoch < current, !moving else { return false }
            current = epoch
            return true
        }
        if backward {
            loop.execute(done)
            return
        }
        move(on: loop, done: done) { epoch }
    }

    /// Runs everything scheduled, however far ahead, until nothing is left (or the limit of
    /// `idleRunLimit` callbacks: `done(false)` then).
    public func runUntilIdle(on loop: EventLoop, done: @escaping @Sendable (Bool) -> Void) {
        let budget = NIOLockedValueBox(idleRunLimit)
        move(on: loop, done: { [self] in done(pendingCount == 0) }, target: { .infinity }, budget: budget)
    }

    private func move(on loop: EventLoop, done: @escaping @Sendable () -> Void, target: @escaping @Sendable () -> Double,
                      budget: NIOLockedValueBox<Int>? = nil) {
        let start: Bool = lock.withLock {
            if moving {
                waitingMoves.append { [self] in move(on: loop, done: done, target: target, budget: budget) }
                return false
            }
            moving = true
            return true
        }
        guard start else { return }
        let to = target()
        step(to: to, on: loop, budget: budget, done: done)
    }

    private func whenSettled(on loop: EventLoop, since: NIODeadline, _ then: @escaping @Sendable () -> Void) {
        guard let settled = isSettled, !settled(), NIODeadline.now() - since < Self.settleLimit else {
            then()
            return
        }
        loop.scheduleTask(in: .milliseconds(1)) { [self] in whenSettled(on: loop, since: since, then) }
    }

    private func step(to target: Double, on loop: EventLoop, budget: NIOLockedValueBox<Int>?, done: @escaping @Sendable () -> Void) {
        let next: Entry? = lock.withLock {
            guard let first = entries.first, first.at <= target else {
                if target.isFinite, target > current { current = target }
                return nil
            }
            if let budget {
                guard budget.withLockedValue({ $0 -= 1; return $0 >= 0 }) else { return nil }
            }
            entries.removeFirst()
            current = max(current, first.at)
            return first
        }
        guard let next else {
            let waiting: (() -> Void)? = lock.withLock {
                moving = false
                return waitingMoves.isEmpty ? nil : waitingMoves.removeFirst()
            }
            loop.execute {
                done()
                waiting?()
            }
            return
        }
        // The entry's own loop runs it; the next step comes after that loop's turn, so what
        // the callback started (woken coroutines, queued callbacks) has run first, and after
        // the I/O it started has been answered (`isSettled`).
        next.loop.execute {
            next.fn()
            next.loop.execute { [self] in
                loop.execute { [self] in
                    whenSettled(on: loop, since: .now()) { [self] in step(to: target, on: loop, budget: budget, done: done) }
                }
            }
        }
    }
}
