import NIOCore

/// The pieces of RFC 6455 framing that rtlua writes itself, shared by the client (masked
/// frames, MaskedFrameOutlet) and the hub (frames built once per fan-out, WireFrame).
public enum WebSocketWire {
    /// FIN, `opcode`, the payload length in its shortest form and, for a client frame, the
    /// mask bit and the key (its bytes in wire order, the first in the top byte).
    public static func writeHeader(opcode: UInt8, length n: Int, maskKey: UInt32?, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: headerSize(length: n, masked: maskKey != nil)) {
            storeHeader(opcode: opcode, length: n, maskKey: maskKey, at: $0.baseAddress!)
        }
    }

    /// The header's size for a payload of `n` bytes: 2, the extended length (0, 2 or 8
    /// bytes) and, for a client frame, the 4-byte key.
    @inline(__always) public static func headerSize(length n: Int, masked: Bool) -> Int {
        2 + (n < 126 ? 0 : n <= Int(UInt16.max) ? 2 : 8) + (masked ? 4 : 0)
    }

    /// Stores the header (as `writeHeader` writes it) at `d`, which has room for
    /// `headerSize` bytes; returns that size. For a caller that writes the payload in the same
    /// reservation of its buffer.
    @inline(__always) public static func storeHeader(opcode: UInt8, length n: Int, maskKey: UInt32?, at d: UnsafeMutableRawPointer) -> Int {
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        d.storeBytes(of: 0x80 | opcode, as: UInt8.self)
        var size: Int
        if n < 126 {
            d.storeBytes(of: maskBit | UInt8(n), toByteOffset: 1, as: UInt8.self)
            size = 2
        } else if n <= Int(UInt16.max) {
            d.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            d.storeBytes(of: UInt16(n).bigEndian, toByteOffset: 2, as: UInt16.self)
            size = 4
        } else {
            d.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            d.storeBytes(of: UInt64(n).bigEndian, toByteOffset: 2, as: UInt64.self)
            size = 10
        }
        if let maskKey {
            d.storeBytes(of: maskKey.bigEndian, toByteOffset: size, as: UInt32.self)  // wire order
            size += 4
        }
        return size
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
