/// The deadlines of an HTTP connection (before any WebSocket upgrade) as a pure state
/// machine over an injected clock (milliseconds). HubHTTPHandler reports what happens and
/// arms one timer at `deadline`; when it fires, `expired(now:)` says whether to cut the
/// connection off and why. Tests drive it with made-up times.
///
/// - A new connection must deliver its first request's headers within `header` of the
///   accept; a kept-alive one within `header` of the next request's first bytes (slowloris).
/// - Between requests a kept-alive connection may stay quiet for `idle`.
/// - A request body may stall (no bytes) for `idle`; a response may wait for a client that
///   does not read for `idle`.
struct HTTPTimeouts: Equatable, Sendable {
    typealias Reason = HubConnectionMetrics.CloseReason

    enum Phase: Equatable, Sendable {
        case readingHead(since: Int64)
        case awaitingRequest(since: Int64)
        case readingBody(lastBytes: Int64)
        case responding(since: Int64)
        case off
    }

    let header: Int64
    let idle: Int64
    private(set) var phase: Phase

    init(now: Int64, header: Int64, idle: Int64) {
        self.header = header
        self.idle = idle
        self.phase = .readingHead(since: now)
    }

    var deadline: Int64? {
        switch phase {
        case .readingHead(let since): return since + header
        case .awaitingRequest(let since): return since + idle
        case .readingBody(let last): return last + idle
        case .responding(let since): return since + idle
        case .off: return nil
        }
    }

    /// Why the connection must go now, or nil.
    func expired(now: Int64) -> Reason? {
        guard let deadline, now >= deadline else { return nil }
        switch phase {
        case .readingHead: return .headerTimeout
        case .awaitingRequest: return .idleTimeout
        case .readingBody: return .bodyTimeout
        case .responding: return .slowConsumer
        case .off: return nil
        }
    }

    /// Bytes came in: the first ones of a request start its header clock; a body's keep it alive.
    mutating func bytesArrived(now: Int64) {
        switch phase {
        case .awaitingRequest: phase = .readingHead(since: now)
        case .readingBody: phase = .readingBody(lastBytes: now)
        case .readingHead, .responding, .off: break
        }
    }

    mutating func headReceived(now: Int64) { phase = .readingBody(lastBytes: now) }
    mutating func responding(now: Int64) { phase = .responding(since: now) }
    mutating func responseWritten(now: Int64) { phase = .awaitingRequest(since: now) }
    /// Upgraded or closing: the HTTP clocks no longer apply.
    mutating func stop() { phase = .off }
}
