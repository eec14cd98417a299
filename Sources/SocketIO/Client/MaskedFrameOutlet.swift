import NIOCore

/// Writes the client's data frames whole, masked, straight to the pipeline's head. NIO's
/// WebSocketFrameEncoder masks byte by byte and puts the header in a buffer of its own: on
/// the send path of a chatty bot that was a fifth of the CPU. Small frames are laid end to
/// end in one outbox that goes down as one write at the next flush (NIO's per-write
/// bookkeeping was another fifth); a big frame is written on its own.
///
/// Control frames (pong, close) still go through NIO's encoder and pass this handler on
/// their way to the head: the outbox goes first, and so does it before any flush, so frames
/// keep the order they were written in.
final class MaskedFrameOutlet: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {  // confined to the channel's loop
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Frames up to this size share the outbox.
    static let smallFrame = 4096

    private var context: ChannelHandlerContext?
    private var outbox: ByteBuffer?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        outbox = nil
    }

    /// False until the upgrade has put the outlet in the pipeline.
    var isReady: Bool { context != nil }

    func write(opcode: UInt8, payload: [UInt8], maskKey: UInt32) {
        guard let context else { return }
        if payload.count <= Self.smallFrame {
            if outbox == nil { outbox = context.channel.allocator.buffer(capacity: 1024) }
            MaskedFrame.write(opcode: opcode, payload: payload, maskKey: maskKey, into: &outbox!)
            return
        }
        releaseOutbox(context)
        var frame = context.channel.allocator.buffer(capacity: payload.count + 14)
        MaskedFrame.write(opcode: opcode, payload: payload, maskKey: maskKey, into: &frame)
        context.write(wrapOutboundOut(frame), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        releaseOutbox(context)
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        releaseOutbox(context)
        context.flush()
    }

    private func releaseOutbox(_ context: ChannelHandlerContext) {
        guard let frames = outbox else { return }
        outbox = nil
        context.write(wrapOutboundOut(frames), promise: nil)
    }
}

/// A client-to-server frame (RFC 6455 §5.2): FIN, opcode, the length with the mask bit,
/// the 4-byte key, then the payload masked (`WebSocketWire`).
enum MaskedFrame {
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2

    static func make(opcode: UInt8, payload: [UInt8], maskKey: UInt32, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 14)
        write(opcode: opcode, payload: payload, maskKey: maskKey, into: &buffer)
        return buffer
    }

    /// Appends the frame to `buffer`: the header and the masked payload in one reservation
    /// of the buffer.
    static func write(opcode: UInt8, payload: [UInt8], maskKey: UInt32, into buffer: inout ByteBuffer) {
        let n = payload.count
        let header = WebSocketWire.headerSize(length: n, masked: true)
        _ = payload.withUnsafeBytes { src in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: header + n) { dst in
                let d = dst.baseAddress!
                _ = WebSocketWire.storeHeader(opcode: opcode, length: n, maskKey: maskKey, at: d)
                WebSocketWire.mask(key: maskKey, from: src, to: UnsafeMutableRawBufferPointer(start: d + header, count: n))
                return header + n
            }
        }
    }
}
