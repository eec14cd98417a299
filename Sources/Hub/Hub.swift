import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The embedded realtime hub: a Socket.IO v5 / Engine.IO v4 server (WebSocket transport)
/// implementing the server side of PROTOCOL.md, plus its REST, health and metrics endpoints.
public final class Hub: Sendable {
    public let port: Int
    private let host: String
    private let core: HubCore
    private let serverChannel: Channel

    /// "http://HOST:PORT": the base URL clients are given (the realtime endpoint is derived from it).
    public var baseURL: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)"
    }

    private init(port: Int, host: String, core: HubCore, serverChannel: Channel) {
        self.port = port
        self.host = host
        self.core = core
        self.serverChannel = serverChannel
    }

    /// Binds and starts serving; the future fails with `HubError` on a bad config or a bind error.
    public static func start(config: HubConfig, group: EventLoopGroup) -> EventLoopFuture<Hub> {
        // One loop owns all hub state and every connection (see HubCore).
        let loop = group.next()
        if let problem = config.validationError() { return loop.makeFailedFuture(HubError(problem)) }
        let core = HubCore(config: config, loop: loop)
        let limit = config.effectiveOutboundLimit
        let bootstrap = ServerBootstrap(group: loop, childGroup: loop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: limit / 2, high: limit))
            // Each connection keeps its last receive buffer for the next read; starting at
            // 256 bytes rather than NIO's 2048 saves ~1.8 KiB per idle connection (a
            // connection that reads more grows it as before).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, core: core)
                }
            }
        return bootstrap.bind(host: config.host, port: config.port)
            .flatMapErrorThrowing { error in
                throw HubError("cannot listen on \(config.host):\(config.port): \(error)")
            }
            .map { channel in
                Hub(port: channel.localAddress?.port ?? config.port, host: config.host, core: core, serverChannel: channel)
            }
    }

    private static func configure(_ channel: Channel, core: HubCore) throws {
        let http = HubHTTPHandler(core: core)
        let maxPayload = core.config.maxPayload
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxPayload,
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(HubRoutes.isEngineWebSocket(head.uri) ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // No NIOWebSocketFrameAggregator: the connection handler reassembles
                    // fragments itself, to check each one (mask, RSV bits) as RFC 6455 says.
                    let outlet = WireFrameOutlet()
                    try sync.addHandler(outlet, position: .first)
                    try sync.addHandler(EngineConnectionHandler(core: core, outlet: outlet))
                }
            })
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.removeHandler(http, promise: nil)
            }))
        try channel.pipeline.syncOperations.addHandler(http)
    }

    /// Connected Socket.IO sockets (tests wait on it).
    func socketCount() -> EventLoopFuture<Int> {
        let core = self.core
        return core.loop.submit { core.router.socketCount }
    }

    /// Stops listening and closes every connection (each socket leaves its channels).
    public func shutdown() -> EventLoopFuture<Void> {
        let core = self.core
        return serverChannel.close().flatMapError { _ in core.loop.makeSucceededVoidFuture() }
            .flatMap { core.closeAll() }
    }
}
