import NIOCore
import NIOWebSocket
import SocketIO

/// Server-to-client WebSocket frames built whole (header and payload in one buffer), so a
/// fan-out encodes once and builds no per-recipient header: big frames are one buffer all
/// recipients share, small ones are copied into each recipient's outbox (one pipeline write
/// per recipient and loop turn; see EngineConnectionHandler.write).
/// Server frames are never masked (RFC 6455 §5.1).
enum WireFrame {
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let pong: UInt8 = 0xA

    static func make(opcode: UInt8, payload: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let n = payload.count
        var buffer = allocator.buffer(capacity: n + 10)
        WebSocketWire.writeHeader(opcode: opcode, length: n, maskKey: nil, into: &buffer)
        buffer.writeBytes(payload)
        return buffer
    }

    /// The size of an unmasked frame with `n` payload bytes.
    static func size(ofPayload n: Int) -> Int {
        n + WebSocketWire.headerSize(length: n, masked: false)
    }
}

extension WireFrame {
    /// Copies a client frame's payload into `out` (emptied first, capacity kept) and unmasks
    /// it there (`WebSocketWire.mask`): no buffer allocated per frame, unlike
    /// `WebSocketFrame.unmaskedData`, and one copy the packet decoder can read in place.
    static func unmaskPayload(of frame: WebSocketFrame, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        appendUnmaskedPayload(of: frame, to: &out)
    }

    /// Appends a client frame's payload to `out`, unmasked (a fragment of a message being
    /// put together).
    static func appendUnmaskedPayload(of frame: WebSocketFrame, to out: inout [UInt8]) {
        let start = out.count
        let data = frame.data
        data.withUnsafeReadableBytes { out.append(contentsOf: $0) }
        guard let key = frame.maskKey, out.count > start else { return }
        // The hub negotiates no extensions, so the mask starts at the payload's first byte.
        let wireOrder = UInt32(key[0]) << 24 | UInt32(key[1]) << 16 | UInt32(key[2]) << 8 | UInt32(key[3])
        out.withUnsafeMutableBytes { all in
            let b = UnsafeMutableRawBufferPointer(rebasing: all[start...])
            WebSocketWire.mask(key: wireOrder, from: UnsafeRawBufferPointer(b), to: b)
        }
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

    func write(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        if let context {
            context.write(wrapOutboundOut(buffer), promise: promise)
        } else {
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
