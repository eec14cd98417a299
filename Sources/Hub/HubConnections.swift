import NIOCore

/// Every open connection of the hub, held against the cap, so that idle or hostile clients
/// cannot lock others out (issue #14):
///
/// - At the cap, a new connection takes the place of the oldest one that has not completed
///   its handshake: an HTTP connection that has not upgraded (idle or half-sent), else a
///   WebSocket without a Socket.IO CONNECT. A real client's handshake is done in
///   milliseconds, so the ones evicted are those that linger. Only when every open
///   connection is a connected Socket.IO socket is the new one refused, with a 503.
/// - The cap is `maxConnections`, kept `HubConfig.descriptorReserve` under the open-files
///   soft limit, so the hub itself never runs out of descriptors (accept would fail with
///   EMFILE; NIO's AcceptBackoffHandler then pauses accepting for a second, which the
///   `AcceptErrorLog` reports).
///
/// Confined to the hub loop (accepted channels are initialised on it).
final class HubConnections: @unchecked Sendable {  // confined to `loop`
    typealias ID = UInt64

    let loop: EventLoop
    let cap: Int
    let log: HubLog
    private(set) var metrics = HubConnectionMetrics()
    private var entries: [ID: Entry] = [:]
    /// Connections that have not upgraded, oldest first; ids of closed or upgraded ones are
    /// skipped when met and swept out when they pile up.
    private var evictable = CircularBuffer<ID>()
    /// WebSockets not yet seen with a Socket.IO socket, oldest first (evicted after the above).
    private var unconnected = CircularBuffer<ID>()
    private var nextID: ID = 1

    /// Whether the Socket.IO socket on a connection key has connected (HubCore's; set by
    /// Hub.start), for WebSockets upgraded with `upgraded(_:key:)`.
    var socketConnected: (HubRouter.SocketKey) -> Bool = { _ in true }

    private struct Entry {
        let channel: Channel
        let opened: NIODeadline
        var handshake = Handshake.http

        enum Handshake {
            case http
            /// A WebSocket whose connection handler has this key (no closure per connection:
            /// issue #14).
            case webSocket(HubRouter.SocketKey)
            /// A WebSocket with its own check (tests).
            case checked(() -> Bool)
        }

        var upgraded: Bool {
            if case .http = handshake { return false }
            return true
        }
    }

    /// Set on upgrade: whether the WebSocket's Socket.IO CONNECT has succeeded.
    private func isConnected(_ entry: Entry) -> Bool? {
        switch entry.handshake {
        case .http: return nil
        case .webSocket(let key): return socketConnected(key)
        case .checked(let check): return check()
        }
    }

    enum Admission: Equatable {
        case admitted(ID)
        case refused
    }

    init(config: HubConfig, loop: EventLoop, descriptorLimit: Int?) {
        self.loop = loop
        self.cap = config.connectionCap(descriptorLimit: descriptorLimit)
        self.log = HubLog(logger: config.logger, loop: loop)
        metrics.cap = cap
    }

    var openCount: Int { entries.count }

    /// A freshly accepted channel: its id, after evicting the oldest connection without a
    /// handshake if the hub is at its cap; or `.refused` when nothing can make room.
    func admit(_ channel: Channel) -> Admission {
        loop.preconditionInEventLoop()
        if entries.count >= cap {
            guard let victim = popOldestEvictable() else {
                metrics.refusedOverCap += 1
                log.log(.warning, "over_capacity", peer: HubLog.peer(of: channel),
                        "refused connection: \(cap) connections open, all of them connected sockets (maxConnections)")
                return .refused
            }
            evict(victim)
        }
        let id = nextID
        nextID += 1
        entries[id] = Entry(channel: channel, opened: .now())
        evictable.append(id)
        if evictable.count > 2 * entries.count + 1024 { sweep() }
        metrics.open = entries.count
        channel.closeFuture.whenComplete { _ in self.closed(id) }
        return .admitted(id)
    }

    /// The connection is a WebSocket now: evicted to make room only while `socketConnected`
    /// says no, and only when no HTTP connection can go instead.
    func upgraded(_ id: ID, socketConnected: @escaping () -> Bool) {
        upgraded(id, .checked(socketConnected))
    }

    /// The same for the hub's WebSocket whose connection handler has `key` (asked through
    /// `socketConnected`).
    func upgraded(_ id: ID, key: HubRouter.SocketKey) {
        upgraded(id, .webSocket(key))
    }

    private func upgraded(_ id: ID, _ handshake: Entry.Handshake) {
        guard entries[id] != nil else { return }
        entries[id]!.handshake = handshake
        unconnected.append(id)
        if unconnected.count > 2 * entries.count + 1024 { sweep() }
        metrics.upgrades += 1
    }

    func closed(_ id: ID) {
        loop.preconditionInEventLoop()
        guard entries.removeValue(forKey: id) != nil else { return }
        metrics.open = entries.count
    }

    /// Closes the connections that are not WebSockets (those close with a close frame, HubCore.closeAll).
    func closeHTTP() -> EventLoopFuture<Void> {
        let closing = entries.values.filter { !$0.upgraded }.map { $0.channel.close() }
        return EventLoopFuture.andAllComplete(closing, on: loop)
    }

    func count(_ reason: HubConnectionMetrics.CloseReason) { metrics.count(reason) }
    func countUpgradeRefused() { metrics.upgradesRefused += 1 }
    func countAcceptError() { metrics.acceptErrors += 1 }

    func metricsText() -> String {
        var m = metrics
        m.open = entries.count
        return m.render()
    }

    private func popOldestEvictable() -> (ID, Entry)? {
        while let id = evictable.popFirst() {
            if let entry = entries[id], !entry.upgraded { return (id, entry) }
        }
        // A socket that has connected stays connected or goes: it leaves this queue for good.
        while let id = unconnected.popFirst() {
            if let entry = entries[id], isConnected(entry) == false { return (id, entry) }
        }
        return nil
    }

    private func evict(_ victim: (ID, Entry)) {
        let (id, entry) = victim
        entries[id] = nil  // counted out now, whenever the close completes
        metrics.open = entries.count
        metrics.count(.evicted)
        let age = (NIODeadline.now() - entry.opened).nanoseconds / 1_000_000
        let what = entry.upgraded ? "WebSocket without a Socket.IO CONNECT" : "connection without a WebSocket upgrade"
        log.log(.notice, "evicted", peer: HubLog.peer(of: entry.channel),
                "closed connection: \(cap) connections open (maxConnections); the oldest \(what) (open \(age) ms) makes room")
        entry.channel.close(promise: nil)
    }

    private func sweep() {
        evictable = CircularBuffer(evictable.lazy.filter { self.entries[$0].map { !$0.upgraded } ?? false })
        unconnected = CircularBuffer(unconnected.lazy.filter { self.entries[$0].map { self.isConnected($0) == false } ?? false })
    }
}

/// Answers a connection over the cap with a 503 and hangs up, reading nothing.
final class RefusedConnectionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    static let response: String = {
        let body = "the hub is at its connection limit\n"
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body
    }()

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: Self.response.utf8.count)
        buffer.writeString(Self.response)
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        // Whatever happens to the write, the descriptor is given back soon.
        context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// On the listening channel: reports accept errors (EMFILE, ENFILE, ENOBUFS…), which NIO's
/// AcceptBackoffHandler answers by pausing accepts for a second instead of spinning.
final class AcceptErrorLog: ChannelInboundHandler, @unchecked Sendable {  // confined to the hub loop
    typealias InboundIn = Channel

    private let connections: HubConnections

    init(connections: HubConnections) { self.connections = connections }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        connections.countAcceptError()
        connections.log.log(.error, "accept_error", peer: nil,
                            "accepting a connection failed: \(error); accepting pauses for a second (\(connections.openCount) open)")
        context.fireErrorCaught(error)
    }
}
