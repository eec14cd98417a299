import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded realtime hub: a Socket.IO v5 / Engine.IO v4 server (WebSocket transport)
/// implementing the server side of PROTOCOL.md, plus its REST, health and metrics endpoints.
public final class Hub: Sendable {
    public let port: Int
    private let host: String
    let core: HubCore
    private let connections: HubConnections
    private let serverChannel: Channel

    /// "http://HOST:PORT": the base URL clients are given (the realtime endpoint is derived from it).
    public var baseURL: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)"
    }

    private init(port: Int, host: String, core: HubCore, connections: HubConnections, serverChannel: Channel) {
        self.port = port
        self.host = host
        self.core = core
        self.connections = connections
        self.serverChannel = serverChannel
    }

    /// Binds and starts serving; the future fails with `HubError` on a bad config or a bind error.
    public static func start(config: HubConfig, group: EventLoopGroup) -> EventLoopFuture<Hub> {
        // One loop owns all hub state and every connection (see HubCore).
        let loop = group.next()
        if let problem = config.validationError() { return loop.makeFailedFuture(HubError(problem)) }
        let core = HubCore(config: config, loop: loop)
        let connections = HubConnections(config: config, loop: loop, descriptorLimit: Self.descriptorSoftLimit())
        connections.socketConnected = { key in core.isSocketConnected(key) }
        let upgrader = Self.upgrader(core: core)
        let limit = config.effectiveOutboundLimit
        let bootstrap = ServerBootstrap(group: loop, childGroup: loop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorLog(connections: connections))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: limit / 2, high: limit))
            // Each connection keeps its last receive buffer for the next read; starting at
            // 256 bytes rather than NIO's 2048 saves ~1.8 KiB per idle connection (a
            // connection that reads more grows it as before).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, core: core, connections: connections, upgrader: upgrader)
                }
            }
        return bootstrap.bind(host: config.host, port: config.port)
            .flatMapErrorThrowing { error in
                throw HubError("cannot listen on \(config.host):\(config.port): \(error)")
            }
            .map { channel in
                connections.log.logger.info(
                    "connection limits",
                    metadata: [
                        "maxConnections": "\(connections.cap)", "headerTimeoutMs": "\(config.headerTimeout)",
                        "idleTimeoutMs": "\(config.idleTimeout)", "outboundLimitBytes": "\(limit)",
                    ])
                return Hub(
                    port: channel.localAddress?.port ?? config.port, host: config.host, core: core, connections: connections,
                    serverChannel: channel)
            }
    }

    /// The one WebSocket upgrader: it checks the key and version, answers the accept value
    /// and installs the Engine.IO session.
    static func upgrader(core: HubCore) -> NIOWebSocketServerUpgrader {
        let maxPayload = core.config.maxPayload
        return NIOWebSocketServerUpgrader(
            maxFrameSize: maxPayload,
            automaticErrorHandling: false,
            // HubRoutes.upgradeRequest has said yes before the upgrader is asked.
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture { try Self.addEngineHandlers(channel, core: core) }
            })
    }

    /// The WebSocket's handlers after the upgrade response, as `NIOWebSocketServerUpgrader.upgrade`
    /// adds them but for its WebSocketFrameEncoder: the connection handler writes whole frames,
    /// so the encoder never had a frame to encode, and it (with its context and header
    /// buffer, and the `WireFrameOutlet` that went past it) cost ~300 bytes of every idle
    /// connection (issue #14). The fuzz target "hub" builds its pipeline through this too.
    static func addWebSocketHandlers(_ channel: Channel, core: HubCore) throws {
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: core.config.maxPayload)))
        try addEngineHandlers(channel, core: core)
    }

    private static func addEngineHandlers(_ channel: Channel, core: HubCore) throws {
        let sync = channel.pipeline.syncOperations
        // No NIOWebSocketFrameAggregator: the connection handler reassembles
        // fragments itself, to check each one (mask, RSV bits) as RFC 6455 says.
        if (try? sync.handler(type: WebSocketFrameEncoder.self)) != nil {
            // NIO's upgrader's pipeline: frames written past its encoder.
            let outlet = WireFrameOutlet()
            try sync.addHandler(outlet, position: .first)
            try sync.addHandler(EngineConnectionHandler(core: core, outlet: outlet))
        } else {
            try sync.addHandler(EngineConnectionHandler(core: core))
        }
    }

    /// An accepted connection: counted against the cap (or refused), then HTTP until it upgrades.
    /// `limitReads` is false only for an EmbeddedChannel, which has no read options.
    static func configure(
        _ channel: Channel, core: HubCore, connections: HubConnections, upgrader: NIOWebSocketServerUpgrader,
        limitReads: Bool = true
    ) throws {
        guard case .admitted(let id) = connections.admit(channel) else {
            try channel.pipeline.syncOperations.addHandler(RefusedConnectionHandler())
            return
        }
        let encoder = HTTPResponseEncoder()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = HubHTTPHandler.maxHeaderBytes
        limits.maxHeaderListSize = HubHTTPHandler.maxHeaderBytes
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: limits))
        let http = HubHTTPHandler(
            core: core, connections: connections, id: id, upgrader: upgrader, encoder: encoder, decoder: decoder,
            savedReads: limitReads ? try HubHTTPHandler.limitReads(channel) : nil)
        try channel.pipeline.syncOperations.addHandlers([encoder, decoder, http])
    }

    /// The open-files soft limit, or nil when there is none to respect.
    static func descriptorSoftLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0, limit.rlim_cur != rlim_t.max /* RLIM_INFINITY */ else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the process's open-files soft limit to the hard one (for `serve`: the hub's
    /// connection cap stays under the soft limit, and a default soft limit of 1024 would cap
    /// a hub meant to hold 10,000).
    public static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let wanted = limit.rlim_max
        limit.rlim_cur = wanted
        if setrlimit(openFiles, &limit) != 0 {
            // Darwin refuses more than OPEN_MAX for an unlimited hard limit; take what is allowed.
            limit.rlim_cur = min(wanted, 10_240)
            _ = setrlimit(openFiles, &limit)
        }
    }

    #if os(Linux)
    private static let openFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let openFiles = RLIMIT_NOFILE
    #endif

    /// Connected Socket.IO sockets (tests wait on it).
    func socketCount() -> EventLoopFuture<Int> {
        let core = self.core
        return core.loop.submit { core.router.socketCount }
    }

    /// Stops listening and closes every connection (each socket leaves its channels).
    public func shutdown() -> EventLoopFuture<Void> {
        let core = self.core, connections = self.connections
        return serverChannel.close().flatMapError { _ in core.loop.makeSucceededVoidFuture() }
            .flatMap { connections.closeHTTP() }
            .flatMap { core.closeAll() }
    }
}
