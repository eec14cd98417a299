/// Engine.IO v4 liveness (PROTOCOL.md §1): the server pings every `pingInterval` ms, so a
/// connection that hears nothing for `pingInterval + pingTimeout` ms is lost. Pure, over
/// the caller's clock in milliseconds: the caller feeds it the time of each frame and asks,
/// when its one timer fires, whether the connection expired or when to look again. One
/// timer per window instead of one per frame.
struct HeartbeatMonitor: Sendable {
    enum Verdict: Sendable, Equatable {
        case expired
        case checkAgain(at: Int64)
    }

    let window: Int64
    private(set) var lastSeen: Int64
    /// The server has pinged on this connection: it keeps the heartbeat going, so a
    /// virtual clock may coalesce the checks (EventClock.scheduleLiveness).
    private(set) var heardPing = false

    init(pingInterval: Int64, pingTimeout: Int64, now: Int64) {
        window = max(0, pingInterval) + max(0, pingTimeout)
        lastSeen = now
    }

    /// When the connection expires unless another frame arrives first.
    var deadline: Int64 { lastSeen + window }

    mutating func frameReceived(at now: Int64) {
        lastSeen = now
    }

    mutating func pingReceived() {
        heardPing = true
    }

    func check(now: Int64) -> Verdict {
        now >= deadline ? .expired : .checkAgain(at: deadline)
    }
}
