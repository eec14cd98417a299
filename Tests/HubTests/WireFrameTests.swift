import NIOCore
import NIOEmbedded
import NIOWebSocket
import XCTest

@testable import Hub

/// Pre-built frames read back by NIO's own WebSocket decoder, at every length-form boundary.
final class WireFrameTests: XCTestCase {
    func testFramesDecodeAtEveryLengthBoundary() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        defer { _ = try? channel.finish() }
        for (n, opcode) in [(0, WireFrame.text), (125, WireFrame.binary), (126, WireFrame.text), (65535, WireFrame.binary), (65536, WireFrame.text), (70001, WireFrame.binary)] {
            let payload = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try channel.writeInbound(WireFrame.make(opcode: opcode, payload: payload, allocator: channel.allocator))
            let frame = try XCTUnwrap(try channel.readInbound(as: WebSocketFrame.self), "length \(n)")
            XCTAssertTrue(frame.fin)
            XCTAssertNil(frame.maskKey)
            XCTAssertEqual(frame.opcode, opcode == WireFrame.text ? .text : .binary)
            XCTAssertEqual(Array(frame.data.readableBytesView), payload, "length \(n)")
        }
    }
}
