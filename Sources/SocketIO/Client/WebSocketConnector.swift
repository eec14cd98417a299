import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Opens one WebSocket connection: TCP (and TLS for wss), the HTTP upgrade, then the frame
/// handlers. Everything it reports goes to the sink, tagged with the attempt's epoch.
enum WebSocketConnector {
    /// Large enough for multi-megabyte binary attachments in one message.
    static let maxMessageSize = 64 << 20
    /// Reads start with a 512-byte buffer rather than NIO's 2 KiB and double after each full
    /// read, up to 64 KiB. The channel keeps its receive buffer for reuse, so an idle
    /// connection (pings, presence events) holds 1.5 KiB less; a burst grows it in a few reads.
    static let receiveBuffer = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    static func connect(
        endpoint: WebSocketEndpoint,
        headers: [(String, String)],
        tls: NIOSSLContext?,
        connectTimeout: TimeAmount,
        eventLoop: EventLoop,
        sink: WebSocketTransportSink & Sendable,
        outlet: MaskedFrameOutlet,
        epoch: UInt64
    ) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: receiveBuffer)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let tls {
                        let sni = isIPAddress(endpoint.host) ? nil : endpoint.host
                        try ops.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni))
                    }
                    let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: maxMessageSize, automaticErrorHandling: true) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            let ops = channel.pipeline.syncOperations
                            try ops.addHandler(NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096, maxAccumulatedFrameSize: maxMessageSize))
                            try ops.addHandler(WebSocketFrameHandler(sink: sink, epoch: epoch))
                            // Head-side of NIO's frame encoder, tail-side of TLS.
                            try ops.addHandler(outlet, position: .before(ops.handler(type: WebSocketFrameEncoder.self)))
                        }
                    }
                    let encoder = HTTPRequestEncoder()
                    // The server's first Engine.IO packet may share a TCP segment with the
                    // 101 answer: keep those bytes for the frame decoder.
                    let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes))
                    let requester = WebSocketUpgradeRequester(endpoint: endpoint, headers: headers, sink: sink, epoch: epoch)
                    let upgradeHandler = NIOHTTPClientUpgradeHandler(
                        upgraders: [upgrader], httpHandlers: [encoder, decoder, requester], upgradeCompletionHandler: { _ in })
                    try ops.addHandler(encoder)
                    try ops.addHandler(decoder)
                    try ops.addHandler(upgradeHandler)
                    try ops.addHandler(requester)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    }
}
