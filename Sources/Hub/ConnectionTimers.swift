/// The server side of Engine.IO's heartbeat, plus the connect timeout, as a pure state
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
    }

    let pingInterval: Int64
    let pingTimeout: Int64
    private(set) var nextPingAt: Int64?
    private(set) var pongDeadline: Int64?
    /// Set until the client's Socket.IO CONNECT succeeds.
    private(set) var connectDeadline: Int64?

    init(now: Int64, pingInterval: Int64, pingTimeout: Int64, connectTimeout: Int64) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.nextPingAt = now + pingInterval
        self.connectDeadline = now + connectTimeout
    }

    /// When `wake(now:)` must run next.
    var nextWake: Int64 {
        [nextPingAt, pongDeadline, connectDeadline].compactMap { $0 }.min() ?? Int64.max
    }

    mutating func wake(now: Int64) -> Action {
        if let d = connectDeadline, now >= d { return .evict(.connectTimeout) }
        if let d = pongDeadline, now >= d { return .evict(.pingTimeout) }
        if let p = nextPingAt, now >= p {
            nextPingAt = nil
            pongDeadline = now + pingTimeout
            return .sendPing
        }
        return .none
    }

    /// A pong arrived. A pong nobody asked for changes nothing.
    mutating func pongReceived(now: Int64) {
        guard pongDeadline != nil else { return }
        pongDeadline = nil
        nextPingAt = now + pingInterval
    }

    mutating func socketConnected() {
        connectDeadline = nil
    }
}
