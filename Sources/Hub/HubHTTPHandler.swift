import NIOCore
import NIOHTTP1

/// Serves plain HTTP requests (everything that is not a WebSocket upgrade) with
/// `HubRoutes`; bodies above maxPayload get 413 and the connection is closed.
final class HubHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {  // confined to the hub loop
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HubRoutes
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(core: HubCore) {
        self.routes = HubRoutes(core: core)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: true)
            tooLarge = false
        case .body(let buffer):
            guard !tooLarge else { return }
            if body.count + buffer.readableBytes > routes.core.config.maxPayload {
                tooLarge = true
                body = []
            } else {
                body.append(contentsOf: buffer.readableBytesView)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            routes.core.countHTTPRequest()
            let reply = tooLarge
                ? HTTPReply.altogicError(.payloadTooLarge, code: "payload_too_large", message: "request body over \(routes.core.config.maxPayload) bytes")
                : routes.reply(method: head.method, uri: head.uri, headers: head.headers, body: body)
            // After a declined Upgrade the HTTP decoder parses no further requests on this
            // connection (it waits for the new protocol), so such a connection is closed.
            let declinedUpgrade = head.headers.contains(name: "Upgrade")
            respond(context: context, head: head, reply: reply, keepAlive: head.isKeepAlive && !tooLarge && !declinedUpgrade)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, reply: HTTPReply, keepAlive: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: reply.body.utf8.count)
        buffer.writeString(reply.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
