import NIOCore

/// The pieces of RFC 6455 framing that rtlua writes itself, shared by the client (masked
/// frames, MaskedFrameOutlet) and the hub (frames built once per fan-out, WireFrame).
public enum WebSocketWire {
    /// FIN, `opcode`, the payload length in its shortest form and, for a client frame, the
    /// mask bit and the key (its bytes in wire order, the first in the top byte).
    public static func writeHeader(opcode: UInt8, length n: Int, maskKey: UInt32?, into buffer: inout ByteBuffer) {
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        buffer.writeInteger(0x80 | opcode)
        if n < 126 {
            buffer.writeInteger(maskBit | UInt8(n))
        } else if n <= Int(UInt16.max) {
            buffer.writeInteger(maskBit | 126)
            buffer.writeInteger(UInt16(n))
        } else {
            buffer.writeInteger(maskBit | 127)
            buffer.writeInteger(UInt64(n))
        }
        if let maskKey { buffer.writeInteger(maskKey) }  // big-endian: wire order
    }

    /// RFC 6455 §5.3 masking (the client masking what it sends, the hub unmasking what it
    /// reads): each byte XORed with the key byte at its position mod 4, eight bytes at a
    /// time; NIO's own `webSocketMask` goes byte by byte.
    /// Writes `source` XOR the key into `destination` (at least as long; it may be the same
    /// memory, to unmask in place). `key` holds the four key bytes in wire order, the first
    /// in the top byte.
    public static func mask(key: UInt32, from source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer) {
        let n = source.count
        precondition(destination.count >= n)
        // The key twice, as a word in memory order. Built with shifts: reading a word from a
        // tuple's bytes gave a wrong value under -O with Swift 6.3.1.
        let wireOrder = UInt64(key.byteSwapped)  // first wire byte lowest
        let key8 = UInt64(littleEndian: wireOrder | wireOrder << 32)
        var i = 0
        while i + 8 <= n {
            destination.storeBytes(of: source.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ key8, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            destination[i] = source[i] ^ UInt8(truncatingIfNeeded: key >> (24 - 8 * (i & 3)))
            i += 1
        }
    }
}
