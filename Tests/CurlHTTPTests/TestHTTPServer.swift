import NIOCore
import NIOHTTP1
import NIOPosix

/// A small real HTTP/1.1 server on 127.0.0.1 for the client tests.
///   /hello            200 "hello"
///   /echo             200, body = request body, X-Method = request method
///   /headers          200, body = the request headers as "name: value" lines, in order
///   /multi            200 with repeated and mixed-case response headers
///   /status/404       404 "not here"
///   /slow             never answers
///   /redirect/N       302 → /redirect/N-1 … /redirect/0 answers 200 "landed"
///   /loop             302 → /loop
///   /big              200 with 1 MiB of bytes
final class TestHTTPServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    var port: Int { channel.localAddress!.port! }
    var base: String { "http://127.0.0.1:\(port)" }

    init() throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() throws {
        try channel.close().wait()
        try group.syncShutdownGracefully()
    }

    static let bigBody: [UInt8] = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                respond(context: context, head: head)
            }
        }

        private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
            let path = head.uri
            switch path {
            case "/hello":
                send(context, .ok, [("Content-Type", "text/plain")], Array("hello".utf8))
            case "/echo":
                send(context, .ok, [("X-Method", head.method.rawValue)], body)
            case "/headers":
                let text = head.headers.map { "\($0.name): \($0.value)\n" }.joined()
                send(context, .ok, [], Array(text.utf8))
            case "/multi":
                send(context, .ok, [("Set-Cookie", "a=1"), ("X-Mixed-Case", "Yes"), ("Set-Cookie", "b=2"),
                                    ("x-lower", "v"), ("X-Empty", "")], [])
            case "/status/404":
                send(context, .notFound, [], Array("not here".utf8))
            case "/slow":
                return
            case "/loop":
                send(context, .found, [("Location", "/loop")], [])
            case "/big":
                send(context, .ok, [], TestHTTPServer.bigBody)
            default:
                if path.hasPrefix("/redirect/"), let n = Int(path.dropFirst("/redirect/".count)) {
                    if n == 0 {
                        send(context, .ok, [("X-Final", "yes")], Array("landed".utf8))
                    } else {
                        send(context, .found, [("Location", "/redirect/\(n - 1)"), ("X-Hop", "\(n)")], Array("hop".utf8))
                    }
                } else {
                    send(context, .notFound, [], Array("no route \(path)".utf8))
                }
            }
        }

        private func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: [(String, String)],
                          _ body: [UInt8]) {
            var fields = HTTPHeaders(headers)
            fields.add(name: "Content-Length", value: "\(body.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: fields))),
                          promise: nil)
            if !body.isEmpty && head?.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
