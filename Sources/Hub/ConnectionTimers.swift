/// The server side of Engine.IO's heartbeat, plus the connect timeout and the time a
/// binary packet may wait for its attachments, as a pure state
/// machine over an injected clock (milliseconds). The connection handler calls `wake(now:)`
/// at `nextWake` and does what it says; tests drive it with made-up times.
///
/// Engine.IO v4: the server pings every `pingInterval`; a client that has not answered a
/// ping within `pingTimeout` is gone. The next ping is due `pingInterval` after the pong.
struct ConnectionTimers: Equatable, Sendable {
    enum Action: Equatable, Sendable {
        case none
        case sendPing
        case evict(EvictReason)
    }

    enum EvictReason: String, Equatable, Sendable {
        case pingTimeout = "ping timeout"
        case connectTimeout = "connect timeout"
        case binaryTimeout = "binary packet timeout"
    }

    let pingInterval: Int64
    let pingTimeout: Int64
    private(set) var nextPingAt: Int64?
    private(set) var pongDeadline: Int64?
    /// Set until the client's Socket.IO CONNECT succeeds.
    private(set) var connectDeadline: Int64?
    /// Set while a binary packet waits for its attachments.
    private(set) var binaryDeadline: Int64?
    /// The last ping was answered at the time it was sent: on a virtual clock, the client
    /// answers at once (EventClock.scheduleLiveness).
    private(set) var answeredAtOnce = false

    init(now: Int64, pingInterval: Int64, pingTimeout: Int64, connectTimeout: Int64) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.nextPingAt = now + pingInterval
        self.connectDeadline = now + connectTimeout
    }

    /// When `wake(now:)` must run next.
    var nextWake: Int64 {
        min(nextPingAt ?? .max, pongDeadline ?? .max, connectDeadline ?? .max, binaryDeadline ?? .max)
    }

    /// The next wake is only the next ping of a client that answered the last one at once:
    /// a liveness timer a virtual clock may coalesce (nothing else is due).
    var nextWakeIsRoutinePing: Bool {
        answeredAtOnce && nextPingAt != nil && pongDeadline == nil && connectDeadline == nil && binaryDeadline == nil
    }

    mutating func wake(now: Int64) -> Action {
        if let d = connectDeadline, now >= d { return .evict(.connectTimeout) }
        if let d = pongDeadline, now >= d { return .evict(.pingTimeout) }
        if let d = binaryDeadline, now >= d { return .evict(.binaryTimeout) }
        if let p = nextPingAt, now >= p {
            nextPingAt = nil
            pongDeadline = now + pingTimeout
            return .sendPing
        }
        return .none
    }

    /// A pong arrived. A pong nobody asked for changes nothing.
    mutating func pongReceived(now: Int64) {
        guard let deadline = pongDeadline else { return }
        answeredAtOnce = deadline - pingTimeout == now
        pongDeadline = nil
        nextPingAt = now + pingInterval
    }

    mutating func socketConnected() {
        connectDeadline = nil
    }

    /// A binary packet's text arrived: its attachments are due within `timeout`.
    mutating func binaryStarted(now: Int64, timeout: Int64) {
        binaryDeadline = now + timeout
    }

    /// The binary packet is complete (or dropped).
    mutating func binaryEnded() {
        binaryDeadline = nil
    }
}

/// A connection's packet rate limit: a token bucket of `burst` tokens refilled at `rate`
/// per second, on an injected clock (nanoseconds). Each packet takes a token; with none
/// left it is refused. The clock is read only when the bucket is empty, so a connection
/// within its budget costs a decrement per packet.
struct PacketBucket: Equatable, Sendable {
    /// Tokens per second; 0: no limit.
    let rate: Int64
    let burst: Int64
    private(set) var tokens: Int64
    /// The time the tokens were last counted up to.
    private(set) var refilledAt: Int64

    init(rate: Int, burst: Int, now: Int64) {
        self.rate = Int64(max(0, rate))
        self.burst = Int64(max(1, burst))
        self.tokens = self.burst
        self.refilledAt = now
    }

    /// Takes a token for one packet; false when there is none (the packet is over the rate).
    @inline(__always)
    mutating func take(now: () -> Int64) -> Bool {
        if tokens > 0 {
            tokens -= 1
            return true
        }
        if rate == 0 { return true }
        refill(now: now())
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }

    /// Adds the tokens earned since `refilledAt` (whole ones; the time of a partial token
    /// is kept for the next refill).
    mutating func refill(now: Int64) {
        let elapsed = now - refilledAt
        guard elapsed > 0 else { return }
        // Past the time to fill the bucket from empty, it is full (and nothing overflows).
        if elapsed >= (burst * 1_000_000_000) / rate + 1 {
            tokens = burst
            refilledAt = now
            return
        }
        let earned = elapsed * rate / 1_000_000_000
        guard earned > 0 else { return }
        tokens = min(burst, tokens + earned)
        refilledAt = tokens == burst ? now : refilledAt + earned * 1_000_000_000 / rate
    }
}

/// The hub's connections' next timer wakes (`ConnectionTimers.nextWake`), earliest first: one
/// binary min-heap of (time, connection key) behind one scheduled task, instead of a NIO
/// task per connection (a scheduled task, its promise and closures cost ~200 bytes of every
/// idle connection, issue #14). A wake that no longer holds (the connection rescheduled
/// earlier, or is gone) is skipped when it comes up; the connection keeps its one valid time.
struct WakeQueue: Sendable {
    struct Wake: Sendable {
        var at: Int64
        var key: Int
    }

    private var heap: [Wake] = []

    var count: Int { heap.count }
    var earliest: Int64? { heap.first?.at }

    mutating func push(at: Int64, key: Int) {
        heap.append(Wake(at: at, key: key))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The earliest wake if it is due at `now`, taken out of the queue.
    mutating func popDue(now: Int64) -> Wake? {
        guard let first = heap.first, first.at <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, heap[l].at < heap[m].at { m = l }
            if r < heap.count, heap[r].at < heap[m].at { m = r }
            guard m != i else { break }
            heap.swapAt(i, m)
            i = m
        }
        return first
    }

    mutating func removeAll() { heap = [] }
}
