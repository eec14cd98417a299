import NIOCore

/// Writes the client's data frames whole, masked, in one buffer, straight to the pipeline's
/// head. NIO's WebSocketFrameEncoder masks byte by byte and puts the header in a buffer of
/// its own: on the send path of a chatty bot that was a fifth of the CPU. Control frames
/// (pong, close) still go through NIO's encoder; both ways run on the channel's loop in
/// call order, so frames keep their order.
final class MaskedFrameOutlet: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {  // confined to the channel's loop
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// False until the upgrade has put the outlet in the pipeline.
    var isReady: Bool { context != nil }

    func write(opcode: UInt8, payload: [UInt8], maskKey: UInt32) {
        guard let context else { return }
        let frame = MaskedFrame.make(opcode: opcode, payload: payload, maskKey: maskKey, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(frame), promise: nil)
    }
}

/// A client-to-server frame (RFC 6455 §5.2): FIN, opcode, the length with the mask bit,
/// the 4-byte key, then the payload XORed with the key, eight bytes at a time.
enum MaskedFrame {
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2

    static func make(opcode: UInt8, payload: [UInt8], maskKey: UInt32, allocator: ByteBufferAllocator) -> ByteBuffer {
        let n = payload.count
        var buffer = allocator.buffer(capacity: n + 14)
        buffer.writeInteger(0x80 | opcode)
        if n < 126 {
            buffer.writeInteger(0x80 | UInt8(n))
        } else if n <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(n))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(n))
        }
        buffer.writeInteger(maskKey)  // big-endian: the key's bytes in wire order
        var key = [UInt8](repeating: 0, count: 4)
        for j in 0..<4 { key[j] = UInt8(truncatingIfNeeded: maskKey >> (24 - 8 * j)) }
        var key8: UInt64 = 0
        withUnsafeMutableBytes(of: &key8) { for j in 0..<8 { $0[j] = key[j & 3] } }
        _ = payload.withUnsafeBytes { src in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { dst in
                var i = 0
                while i + 8 <= n {
                    let word = src.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ key8
                    dst.storeBytes(of: word, toByteOffset: i, as: UInt64.self)
                    i += 8
                }
                while i < n {
                    dst[i] = src[i] ^ key[i & 3]
                    i += 1
                }
                return n
            }
        }
        return buffer
    }
}
