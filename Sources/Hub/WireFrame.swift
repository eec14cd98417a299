import NIOCore

/// Server-to-client WebSocket frames built whole (header and payload in one buffer), so a
/// fan-out shares one buffer among all recipients: no per-recipient header, copy or encode.
/// Server frames are never masked (RFC 6455 §5.1).
enum WireFrame {
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2

    static func make(opcode: UInt8, payload: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let n = payload.count
        var buffer = allocator.buffer(capacity: n + 10)
        buffer.writeInteger(0x80 | opcode)  // FIN + opcode
        if n < 126 {
            buffer.writeInteger(UInt8(n))
        } else if n <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(n))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(n))
        }
        buffer.writeBytes(payload)
        return buffer
    }
}

/// Sits next to the pipeline's head; the connection handler writes pre-built frames
/// through it, past NIO's WebSocketFrameEncoder.
final class WireFrameOutlet: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {  // confined to the hub loop
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }
}
