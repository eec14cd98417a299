import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Just enough of an Engine.IO/Socket.IO server, in-process on NIO, to push many messages
/// through the client faster than python can: open, CONNECT answered with a sid, and every
/// event frame echoed back as it came. Writes are flushed once per read burst. With
/// `answersClose: false` it ignores the client's close frame and keeps the connection open.
final class MiniEngineServer {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var channel: Channel!

    init(answersClose: Bool = true) throws {
        let recorder = self.recorder
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler(answersClose: answersClose, recorder: recorder)) }
            })
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    var url: String { "ws://127.0.0.1:\(channel.localAddress!.port!)" }

    /// Every event frame received (Engine.IO text, unmasked), in order.
    var received: [String] { recorder.frames }
    private let recorder = FrameRecorder()

    func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private final class FrameRecorder: @unchecked Sendable {  // under `lock`
        private let lock = NSLock()
        private var list: [String] = []
        var frames: [String] { lock.withLock { list } }
        func add(_ frame: String) { lock.withLock { list.append(frame) } }
    }

    private final class EchoHandler: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame

        let answersClose: Bool
        let recorder: FrameRecorder

        init(answersClose: Bool, recorder: FrameRecorder) {
            self.answersClose = answersClose
            self.recorder = recorder
        }

        func handlerAdded(context: ChannelHandlerContext) {
            send(#"0{"sid":"mini","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#, context)
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard frame.opcode == .text else {
                if frame.opcode == .connectionClose, answersClose { context.close(promise: nil) }
                return
            }
            let text = frame.unmaskedData
            if text.getString(at: text.readerIndex, length: 2) == "40" {
                send(#"40{"sid":"mini-sid"}"#, context)
            } else {
                recorder.add(text.getString(at: text.readerIndex, length: text.readableBytes) ?? "")
                context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: text)), promise: nil)
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }

        private func send(_ text: String, _ context: ChannelHandlerContext) {
            let buffer = context.channel.allocator.buffer(string: text)
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        }
    }
}
