import NIOConcurrencyHelpers
import NIOCore

/// A clock that stands still until it is told to move (`rtlua test`). Everything scheduled
/// on it waits in one queue ordered by due time (ties: in the order scheduled); `advance`
/// runs them one at a time, setting `now()` to each one's due time first, and lets the event
/// loop take a turn between two of them, so that what a callback starts (a coroutine woken,
/// a timer added for a moment still inside the advance) happens in the same order as it
/// would in real time.
///
/// Liveness timers (`scheduleLiveness`) are the connections' own: they do not count as
/// something due (`pendingCount`, `nextDue`), so `runUntilIdle` ends with connections still
/// open. The routine ones are what keeps moving by days cheap: when one is first in the
/// queue, every routine timer due before the next other entry (or the move's target) is
/// moved to the end of that quiet stretch, where the pings run together, then whatever
/// ends the stretch, then the checks: a healthy connection is pinged once per stretch, not
/// once per ping interval, and a stretch costs one ping round trip however many there are.
public final class VirtualClock: EventClock, @unchecked Sendable {  // state behind `lock`
    private struct Entry {
        var at: Double
        /// Order at equal times: moved pings (-1) before what ends their stretch (0), moved
        /// checks (1) after both.
        var rank: Int
        var seq: Int
        var loop: EventLoop
        var fn: @Sendable () -> Void
        /// nil: an ordinary entry. A routine liveness timer becomes `.exact` once moved.
        var liveness: LivenessTimer?

        var isRoutine: Bool {
            switch liveness {
            case .ping?, .check?: true
            case .exact?, nil: false
            }
        }
    }

    private let lock = NIOLock()
    private var current: Double
    /// Due entries, sorted by (at, rank, seq); cancelled ones are removed at once.
    private var entries: [Entry] = []
    private var nextSeq = 0
    /// Holds (`hold()`) not released yet, with their real-time ends.
    private var holds: [Int: NIODeadline] = [:]
    /// An advance in progress (one at a time; a second one waits for the first).
    private var moving = false
    private var waitingMoves: [() -> Void] = []

    /// How many callbacks `runUntilIdle` runs at most, so a `timer.every` cannot make it spin forever.
    public let idleRunLimit: Int

    /// How long (real time) a hold keeps the clock at most: a peer that answers a ping takes
    /// milliseconds, one whose loop is busy in a long callback (a bot under `rtlua test` may
    /// take half the test's 5 s before the CPU guard ends it) a few seconds.
    public let holdLimit: TimeAmount

    public init(start: Double, idleRunLimit: Int = 100_000, holdLimit: TimeAmount = .seconds(5)) {
        current = start
        self.idleRunLimit = idleRunLimit
        self.holdLimit = holdLimit
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

    /// Entries still waiting, liveness timers not counted (for tests and `runUntilIdle`).
    public var pendingCount: Int { lock.withLock { entries.count(where: { $0.liveness == nil }) } }

    /// The due time of the next entry, if any; liveness timers not counted.
    public var nextDue: Double? { lock.withLock { entries.first { $0.liveness == nil }?.at } }

    public func schedule(in seconds: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        lock.withLock { insert(at: current + max(0, seconds), loop: loop, fn) }
    }

    public func schedule(at epoch: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        lock.withLock { insert(at: max(epoch, current), loop: loop, fn) }
    }

    public func scheduleLiveness(at epoch: Double, _ timer: LivenessTimer, on loop: EventLoop,
                                 _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        lock.withLock { insert(at: max(epoch, current), loop: loop, fn, liveness: timer) }
    }

    public func hold() -> ClockTask {
        lock.withLock {
            let id = nextSeq
            nextSeq += 1
            holds[id] = .now() + holdLimit
            return ClockTask { [weak self] in self?.release(id) }
        }
    }

    private func release(_ id: Int) {
        let waiter: HoldWaiter? = lock.withLock {
            guard holds.removeValue(forKey: id) != nil, holds.isEmpty, let w = holdWaiter else { return nil }
            holdWaiter = nil
            return w
        }
        waiter?.fallback.cancel()
        waiter?.resume()
    }

    /// When the holds in force end at the latest (nil: none is in force).
    private var holdsEnd: NIODeadline? {
        lock.withLock {
            guard !holds.isEmpty else { return nil }
            let now = NIODeadline.now()
            holds = holds.filter { $0.value > now }
            return holds.values.max()
        }
    }

    /// A step waiting for the holds alone: resumed by the last release, or at the holds' end.
    private struct HoldWaiter {
        var id: Int
        var resume: @Sendable () -> Void
        var fallback: Scheduled<Void>
    }
    private var holdWaiter: HoldWaiter?

    private func insert(at: Double, loop: EventLoop, _ fn: @escaping @Sendable () -> Void, liveness: LivenessTimer? = nil) -> ClockTask {
        let seq = nextSeq
        nextSeq += 1
        place(Entry(at: at, rank: 0, seq: seq, loop: loop, fn: fn, liveness: liveness))
        return ClockTask { [weak self] in self?.cancel(seq) }
    }

    /// Inserts in (at, rank) order; the binary search keeps ties in scheduling order.
    private func place(_ entry: Entry) {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let e = entries[mid]
            if e.at < entry.at || (e.at == entry.at && e.rank <= entry.rank) { low = mid + 1 } else { high = mid }
        }
        entries.insert(entry, at: low)
    }

    /// With a routine liveness timer first in the queue: moves every routine timer due up to
    /// the end of the quiet stretch (the next other entry, or `bound`) to its place in it.
    private func coalesceRoutine(upTo bound: Double) {
        let end = min(bound, entries.first { !$0.isRoutine }?.at ?? .infinity)
        guard end.isFinite else { return }
        var moved: [Entry] = []
        entries.removeAll { e in
            guard e.isRoutine, e.at <= end else { return false }
            moved.append(e)
            return true
        }
        for var e in moved {
            e.at = end
            e.rank = e.liveness == .ping ? -1 : 1
            e.liveness = .exact
            place(e)
        }
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
        let busy = !(isSettled?() ?? true)
        let held = holdsEnd
        guard busy || held != nil, NIODeadline.now() - since < Self.settleLimit else {
            then()
            return
        }
        let again: @Sendable () -> Void = { [self] in whenSettled(on: loop, since: since, then) }
        guard !busy, let held else {
            loop.scheduleTask(in: .milliseconds(1), again)
            return
        }
        // Only holds (a pong on its way): go on when the last one is released, not at the
        // next poll; a ping round trip then costs a fraction of a millisecond.
        let id = lock.withLock { () -> Int in
            nextSeq += 1
            return nextSeq
        }
        let fallback = loop.scheduleTask(deadline: held) { [self] in
            let mine = lock.withLock { () -> Bool in
                guard holdWaiter?.id == id else { return false }
                holdWaiter = nil
                return true
            }
            if mine { again() }
        }
        let resumeNow: Bool = lock.withLock {
            guard !holds.isEmpty else { return true }  // released meanwhile
            holdWaiter = HoldWaiter(id: id, resume: { loop.execute(again) }, fallback: fallback)
            return false
        }
        if resumeNow {
            fallback.cancel()
            loop.execute(again)
        }
    }

    private func step(to target: Double, on loop: EventLoop, budget: NIOLockedValueBox<Int>?, done: @escaping @Sendable () -> Void) {
        let next: [Entry]? = lock.withLock {
            // `runUntilIdle` (no finite target) goes from one ordinary entry to the next; what
            // the connections have due on the way runs in its place.
            let bound = target.isFinite ? target : entries.first { $0.liveness == nil }?.at ?? -.infinity
            if let first = entries.first, first.isRoutine, first.at <= bound { coalesceRoutine(upTo: bound) }
            guard let first = entries.first, first.at <= bound else {
                if target.isFinite, target > current { current = target }
                return nil
            }
            if let budget {
                guard budget.withLockedValue({ $0 -= 1; return $0 >= 0 }) else { return nil }
            }
            entries.removeFirst()
            current = max(current, first.at)
            var batch = [first]
            // Moved liveness timers due together (every connection's ping at a stretch's end)
            // run as one batch, and the clock settles once after them all.
            while first.rank != 0, let e = entries.first, e.at == first.at, e.rank == first.rank {
                batch.append(entries.removeFirst())
            }
            return batch
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
        // the I/O it started has been answered (`isSettled`, the holds).
        run(next[...]) { [self] in
            loop.execute { [self] in
                whenSettled(on: loop, since: .now()) { [self] in step(to: target, on: loop, budget: budget, done: done) }
            }
        }
    }

    /// Runs the entries in order, each on its loop, then `then` after that loop's next turn.
    private func run(_ entries: ArraySlice<Entry>, then: @escaping @Sendable () -> Void) {
        guard let first = entries.first else { return then() }
        let loop = first.loop
        let sameLoop = entries.prefix { $0.loop === loop }
        let rest = entries.dropFirst(sameLoop.count)
        loop.execute { [self] in
            for e in sameLoop { e.fn() }
            loop.execute { [self] in run(rest, then: then) }
        }
    }
}
