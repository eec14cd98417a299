import NIOCore

/// Engine.IO v4 liveness (PROTOCOL.md §1): the server pings every `pingInterval` ms, so a
/// connection that hears nothing for `pingInterval + pingTimeout` ms is lost. Pure: the
/// caller feeds it the time of each frame and asks, when its one timer fires, whether the
/// connection expired or when to look again. One timer per window instead of one per frame.
struct HeartbeatMonitor: Sendable {
    enum Verdict: Sendable, Equatable {
        case expired
        case checkAgain(at: NIODeadline)
    }

    let window: TimeAmount
    private(set) var lastSeen: NIODeadline

    init(pingInterval: Int64, pingTimeout: Int64, now: NIODeadline) {
        window = .milliseconds(max(0, pingInterval) + max(0, pingTimeout))
        lastSeen = now
    }

    /// When the connection expires unless another frame arrives first.
    var deadline: NIODeadline { lastSeen + window }

    mutating func frameReceived(at now: NIODeadline) {
        lastSeen = now
    }

    func check(now: NIODeadline) -> Verdict {
        now >= deadline ? .expired : .checkAgain(at: deadline)
    }
}
