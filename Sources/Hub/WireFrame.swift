import NIOCore
import NIOWebSocket

/// Server-to-client WebSocket frames built whole (header and payload in one buffer), so a
/// fan-out encodes once and builds no per-recipient header: big frames are one buffer all
/// recipients share, small ones are copied into each recipient's outbox (one pipeline write
/// per recipient and loop turn; see EngineConnectionHandler.write).
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

extension WireFrame {
    /// Copies a client frame's payload into `out` (emptied first, capacity kept) and unmasks
    /// it there eight bytes at a time: no buffer allocated per frame, unlike
    /// `WebSocketFrame.unmaskedData`, and one copy the packet decoder can read in place.
    static func unmaskPayload(of frame: WebSocketFrame, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        let data = frame.data
        data.withUnsafeReadableBytes { out.append(contentsOf: $0) }
        guard let key = frame.maskKey else { return }
        // The hub negotiates no extensions, so the mask starts at the payload's first byte.
        // The key repeated over eight bytes, in memory order. Built with shifts: reading it
        // from a tuple (`withUnsafeBytes(of: &tuple) { $0.loadUnaligned(as: UInt64.self) }`)
        // gave a wrong word under -O with Swift 6.3.1.
        let key32 = UInt64(key[0]) | UInt64(key[1]) << 8 | UInt64(key[2]) << 16 | UInt64(key[3]) << 24
        let mask = UInt64(littleEndian: key32 | key32 << 32)
        out.withUnsafeMutableBytes { b in
            var i = 0
            while i + 8 <= b.count {
                b.storeBytes(of: b.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ mask, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < b.count {
                b[i] ^= key[i & 3]
                i += 1
            }
        }
    }

    /// RFC 6455 §5.6: a text frame holds UTF-8. ASCII (most packets) is checked a word at a
    /// time; anything else goes through the standard library's validator.
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(b)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= raw.count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < raw.count {
            high |= UInt64(raw[i])
            i += 1
        }
        if high & 0x8080_8080_8080_8080 == 0 { return true }
        return String(validating: b, as: UTF8.self) != nil
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
