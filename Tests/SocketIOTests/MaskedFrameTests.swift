import NIOCore
import XCTest
@testable import SocketIO

/// The client's own frame writer against RFC 6455 §5.2, read back the plain way.
final class MaskedFrameTests: XCTestCase {
    /// (FIN, opcode, mask key, payload) read naively from `frame`, byte by byte.
    func read(_ frame: ByteBuffer) throws -> (fin: Bool, opcode: UInt8, key: [UInt8], payload: [UInt8]) {
        let b = Array(frame.readableBytesView)
        XCTAssertTrue(b[1] & 0x80 != 0, "client frames carry the mask bit")
        var length = Int(b[1] & 0x7F)
        var at = 2
        if length == 126 {
            length = Int(b[2]) << 8 | Int(b[3])
            at = 4
        } else if length == 127 {
            length = b[2..<10].reduce(0) { $0 << 8 | Int($1) }
            at = 10
        }
        let key = Array(b[at..<at + 4])
        at += 4
        XCTAssertEqual(b.count - at, length, "nothing after the payload")
        let payload = (0..<length).map { b[at + $0] ^ key[$0 % 4] }
        return (b[0] & 0x80 != 0, b[0] & 0x0F, key, payload)
    }

    func testEveryLengthFormAndTailRoundTrips() throws {
        let allocator = ByteBufferAllocator()
        for n in [0, 1, 3, 7, 8, 9, 15, 16, 17, 125, 126, 127, 1000, 65535, 65536, 70001] {
            let payload = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let frame = MaskedFrame.make(opcode: MaskedFrame.text, payload: payload, maskKey: 0xA1B2_C3D4, allocator: allocator)
            let r = try read(frame)
            XCTAssertTrue(r.fin)
            XCTAssertEqual(r.opcode, 1)
            XCTAssertEqual(r.key, [0xA1, 0xB2, 0xC3, 0xD4], "the key goes on the wire in order")
            XCTAssertEqual(r.payload, payload, "length \(n)")
            let headerLength = n < 126 ? 6 : n <= 65535 ? 8 : 14
            XCTAssertEqual(frame.readableBytes, headerLength + n, "the shortest length form (\(n))")
            var header = allocator.buffer(capacity: 14)
            WebSocketWire.writeHeader(opcode: MaskedFrame.text, length: n, maskKey: 0xA1B2_C3D4, into: &header)
            XCTAssertEqual(Array(frame.readableBytesView.prefix(headerLength)), Array(header.readableBytesView),
                           "the header WebSocketWire writes (\(n))")
            if n >= 8 {
                let wire = Array(frame.readableBytesView.dropFirst(headerLength))
                XCTAssertNotEqual(wire, payload, "the payload is masked on the wire")
            }
        }
        let binary = MaskedFrame.make(opcode: MaskedFrame.binary, payload: [1, 2, 3], maskKey: 0, allocator: allocator)
        XCTAssertEqual(try read(binary).opcode, 2)
    }

    /// Small frames share one outbox buffer: each must read back whole, in order.
    func testFramesAppendedToOneBufferReadBackInOrder() throws {
        var outbox = ByteBufferAllocator().buffer(capacity: 16)
        let payloads: [[UInt8]] = [Array("42[\"a\"]".utf8), [], Array(repeating: 7, count: 300), Array("last".utf8)]
        for (i, p) in payloads.enumerated() {
            MaskedFrame.write(opcode: MaskedFrame.text, payload: p, maskKey: UInt32(0x0102_0304 &* (i + 1)), into: &outbox)
        }
        for p in payloads {
            let b = Array(outbox.readableBytesView)
            let length = Int(b[1] & 0x7F) == 126 ? Int(b[2]) << 8 | Int(b[3]) : Int(b[1] & 0x7F)
            let header = (Int(b[1] & 0x7F) == 126 ? 4 : 2) + 4
            let frame = outbox.readSlice(length: header + length)!
            XCTAssertEqual(try read(frame).payload, p)
        }
        XCTAssertEqual(outbox.readableBytes, 0)
    }

    func testMaskKeysVaryFromFrameToFrame() {
        var keys = MaskKeyGenerator()
        XCTAssertEqual(Set((0..<100).map { _ in keys.nextKey() }).count, 100)
    }
}
