import Logging
import NIOCore

/// How many lines per reason and second get through, and how many were held back: an
/// attack (a thousand slowloris sockets timing out together) must not turn the log into a
/// flood of its own. Pure, over an injected clock (milliseconds).
struct LogRateLimit: Sendable {
    let perSecond: Int
    private var windows: [String: Window] = [:]

    private struct Window: Sendable {
        var second: Int64
        var count: Int
        var suppressed: Int
    }

    init(perSecond: Int) { self.perSecond = perSecond }

    /// Whether a line for `reason` may be written now, and how many lines of that reason were
    /// held back in an earlier second and not yet reported (write that first).
    mutating func admit(_ reason: String, now: Int64) -> (write: Bool, heldBack: Int) {
        let second = now / 1000
        var w = windows[reason] ?? Window(second: second, count: 0, suppressed: 0)
        var heldBack = 0
        if w.second != second {
            heldBack = w.suppressed
            w = Window(second: second, count: 0, suppressed: 0)
        }
        let write = w.count < perSecond
        if write { w.count += 1 } else { w.suppressed += 1 }
        windows[reason] = w
        return (write, heldBack)
    }

    /// Reasons whose lines were held back in a second that is over, with their counts; they
    /// are reported once.
    mutating func drain(now: Int64) -> [(reason: String, count: Int)] {
        let second = now / 1000
        var out: [(reason: String, count: Int)] = []
        for (reason, w) in windows where w.second != second {
            if w.suppressed > 0 { out.append((reason, w.suppressed)) }
            windows[reason] = nil
        }
        return out.sorted { $0.reason < $1.reason }
    }

    var holdsBack: Bool { windows.values.contains { $0.suppressed > 0 } }
}

/// The connection layer's log: one line per refused or cut-off connection (with the peer
/// and the reason), at most `perSecond` per reason and second, then one
/// "held back K similar lines" line. Confined to the hub loop.
final class HubLog: @unchecked Sendable {  // confined to `loop`
    let logger: Logger
    private let loop: EventLoop
    private var limit: LogRateLimit
    private var levels: [String: Logger.Level] = [:]
    private var drainScheduled = false

    init(logger: Logger, loop: EventLoop, perSecond: Int = 10) {
        self.logger = logger
        self.loop = loop
        self.limit = LogRateLimit(perSecond: perSecond)
    }

    /// A line for `reason`; `peer` and `message` are built only when it is written.
    /// `limitKey` groups lines for the rate limit when `reason` carries details (default: the reason).
    func log(_ level: Logger.Level, _ reason: String, limitKey: String? = nil, peer: @autoclosure () -> String?,
             extra: Logger.Metadata = [:], _ message: @autoclosure () -> String) {
        guard logger.logLevel <= level else { return }
        let key = limitKey ?? reason
        let (write, heldBack) = limit.admit(key, now: EngineConnectionHandler.nowMillis())
        if heldBack > 0 { reportHeldBack(key, heldBack, level) }
        levels[key] = level
        if write {
            var metadata = extra
            metadata["reason"] = .string(reason)
            if let peer = peer() { metadata["peer"] = .string(peer) }
            logger.log(level: level, "\(message())", metadata: metadata)
        } else if !drainScheduled {
            // Report what was held back once its second is over, even if nothing else comes.
            drainScheduled = true
            loop.scheduleTask(in: .milliseconds(1100)) { self.drain() }
        }
    }

    private func drain() {
        drainScheduled = false
        for (reason, count) in limit.drain(now: EngineConnectionHandler.nowMillis()) {
            reportHeldBack(reason, count, levels[reason] ?? .info)
        }
        if limit.holdsBack, !drainScheduled {
            drainScheduled = true
            loop.scheduleTask(in: .milliseconds(1100)) { self.drain() }
        }
    }

    private func reportHeldBack(_ reason: String, _ count: Int, _ level: Logger.Level) {
        logger.log(
            level: level, "held back \(count) similar line\(count == 1 ? "" : "s") (\(reason))",
            metadata: ["reason": .string(reason), "suppressed": .stringConvertible(count)])
    }

    /// "ADDRESS:PORT" of the channel's peer, for log lines.
    static func peer(of channel: Channel) -> String {
        guard let address = channel.remoteAddress else { return "unknown" }
        switch address {
        case .v4: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6: return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket: return "unix"
        }
    }
}
