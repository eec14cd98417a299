import NIOCore
import NIOHTTP1
import NIOWebSocket

/// What the transport handlers report, on the channel's event loop. `epoch` names the
/// connection attempt so reports from a channel the client already gave up are ignored.
protocol WebSocketTransportSink: AnyObject {
    func transportReceivedText(_ data: ByteBuffer, epoch: UInt64)
    func transportReceivedBinary(_ data: ByteBuffer, epoch: UInt64)
    func transportClosed(reason: String, epoch: UInt64)
}

/// Sends the upgrade request once the connection is up, and reports whatever ends the
/// attempt before the upgrade: an HTTP answer other than 101, an error, the peer closing.
/// The upgrade handler removes it together with the HTTP codec.
final class WebSocketUpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let endpoint: WebSocketEndpoint
    private let headers: [(String, String)]
    private let sink: WebSocketTransportSink
    private let epoch: UInt64

    init(endpoint: WebSocketEndpoint, headers: [(String, String)], sink: WebSocketTransportSink, epoch: UInt64) {
        self.endpoint = endpoint
        self.headers = headers
        self.sink = sink
        self.epoch = epoch
    }

    func channelActive(context: ChannelHandlerContext) {
        var h = HTTPHeaders()
        h.add(name: "Host", value: endpoint.hostHeader)
        for (name, value) in headers { h.add(name: name, value: value) }
        h.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.requestURI, headers: h)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only an answer that is not an upgrade reaches this handler.
        if case .head(let head) = unwrapInboundIn(data) {
            sink.transportClosed(reason: "server answered HTTP \(head.status.code) instead of upgrading to WebSocket", epoch: epoch)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        sink.transportClosed(reason: "transport error: \(error)", epoch: epoch)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.transportClosed(reason: "transport close", epoch: epoch)
        context.fireChannelInactive()
    }
}

/// The WebSocket end of the pipeline, after the upgrade (and after NIO's frame aggregator,
/// so fragmented messages arrive whole): hands text and binary messages to the sink,
/// answers pings, and completes the close handshake, whichever side starts it. Once the
/// client has sent its close frame, the server's close frame ends the connection.
final class WebSocketFrameHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let sink: WebSocketTransportSink
    private let epoch: UInt64
    private var closeSent = false

    init(sink: WebSocketTransportSink, epoch: UInt64) {
        self.sink = sink
        self.epoch = epoch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            sink.transportReceivedText(frame.unmaskedData, epoch: epoch)
        case .binary:
            sink.transportReceivedBinary(frame.unmaskedData, epoch: epoch)
        case .ping:
            guard !closeSent else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readWebSocketErrorCode()
            sink.transportClosed(reason: "transport close" + (code.map { " (\($0))" } ?? ""), epoch: epoch)
            if !closeSent {
                closeSent = true
                var echo = context.channel.allocator.buffer(capacity: 2)
                echo.write(webSocketErrorCode: code ?? .normalClosure)
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
                context.writeAndFlush(wrapOutboundOut(close), promise: nil)
            }
            context.close(promise: nil)
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { closeSent = true }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        sink.transportClosed(reason: "transport error: \(error)", epoch: epoch)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.transportClosed(reason: "transport close", epoch: epoch)
        context.fireChannelInactive()
    }
}
