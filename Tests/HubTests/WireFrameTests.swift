import NIOCore
import NIOEmbedded
import NIOWebSocket
import RTJSON
import SocketIO
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

    func testUnmaskMatchesNIOAtEveryTailLength() throws {
        var out: [UInt8] = [9, 9, 9]
        for n in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 100, 1001] {
            let plain = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            let key: WebSocketMaskingKey = [0x12, 0xA5, 0x00, 0xFF]
            var masked = ByteBuffer(bytes: plain)
            masked.webSocketMask(key)
            let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: key, data: masked)
            XCTAssertEqual(Array(frame.unmaskedData.readableBytesView), plain, "NIO's own view, length \(n)")
            WireFrame.unmaskPayload(of: frame, into: &out)
            XCTAssertEqual(out, plain, "length \(n)")
        }
        // Not masked (an aggregated frame): copied as is.
        WireFrame.unmaskPayload(of: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "42[]")), into: &out)
        XCTAssertEqual(out, Array("42[]".utf8))
    }

    func testUTF8Check() {
        func valid(_ b: [UInt8]) -> Bool { b.withUnsafeBufferPointer { JSONValue.isValidUTF8($0) } }
        let ascii = Array(#"42["message",{"eventName":"e","message":{"a":1}}]"#.utf8)
        XCTAssertTrue(valid([]))
        XCTAssertTrue(valid(ascii))
        XCTAssertTrue(valid(Array("é ✓ 😀 \u{FFFD}".utf8)))
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xC3], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            XCTAssertFalse(valid(bad), "\(bad)")
            XCTAssertFalse(valid(ascii + bad), "after a run of whole words: \(bad)")
            XCTAssertFalse(valid(Array(ascii.prefix(8)) + bad + ascii), "inside a word: \(bad)")
        }
    }

    /// The hub's own event writer gives exactly the encoder's text, and hands binary to it.
    func testEventFramesMatchTheEncoder() throws {
        let core = HubCore(config: HubConfig(), loop: EmbeddedEventLoop())
        let raw = JSONValue.raw(try RawJSON(validating: Array(#"{ "a" : [1.50] }"#.utf8)))
        let cases: [(String, [JSONValue])] = [
            ("e", []), ("chat", [raw]), ("quote\"é\n", ["s", 1, -2.5, nil, true, ["k": [1, ["x": raw]]]]),
            ("user:signin", ["user:signin", ["token": "t"]]), ("big", [.string(String(repeating: "x", count: 70_000))]),
        ]
        for (event, args) in cases {
            let frames = try XCTUnwrap(core.eventFrames(event, args))
            let encoded = try SocketPacketEncoder.encode(.event(event, args))
            XCTAssertEqual(frames, [WireFrame.make(opcode: WireFrame.text, payload: encoded.engineFrame, allocator: ByteBufferAllocator())], event)
        }
        let withBinary = try XCTUnwrap(core.eventFrames("f", [["b": .binary([7, 8])]]))
        XCTAssertEqual(withBinary.count, 2, "a text frame and one attachment")
        XCTAssertEqual(Array(withBinary[1].readableBytesView), [0x82, 2, 7, 8])
        XCTAssertNil(core.eventFrames("e", [.double(.infinity)]), "not encodable: nothing to send")
    }

    /// A channel event is written straight into its frame: the same frames as encoding its
    /// arguments, binary and unencodable bodies included.
    func testChannelEventFramesMatchTheEncoder() throws {
        let core = HubCore(config: HubConfig(), loop: EmbeddedEventLoop())
        let raw = JSONValue.raw(try RawJSON(validating: Array(#"{ "a" : [1.50, "\u00e9"] }"#.utf8)))
        let cases: [(String, String?, JSONValue)] = [
            ("bnchtick", "ch", raw), ("e", nil, raw), ("quote\"é", "c\"h\u{1}é", ["k": [1, nil, "x"]]), ("e", "c", nil),
            ("e", "c", .raw(try RawJSON(validating: Array("1.50".utf8)))), ("channel:join", "r", ["id": "S", "data": raw]),
            ("big", "c", .string(String(repeating: "x", count: 70_000))),
        ]
        for (event, channel, message) in cases {
            let d = Delivery(event: event, content: .channelEvent(channel: channel, message: message), recipients: [1])
            let frames = try XCTUnwrap(core.eventFrames(d))
            let encoded = try SocketPacketEncoder.encode(.event(event, d.args))
            XCTAssertEqual(frames, [WireFrame.make(opcode: WireFrame.text, payload: encoded.engineFrame, allocator: ByteBufferAllocator())], event)
        }
        let binary = Delivery(event: "f", content: .channelEvent(channel: "c", message: ["b": .binary([7, 8])]), recipients: [1])
        let withBinary = try XCTUnwrap(core.eventFrames(binary))
        XCTAssertEqual(withBinary.count, 2, "a text frame and one attachment")
        XCTAssertEqual(Array(withBinary[1].readableBytesView), [0x82, 2, 7, 8])
        XCTAssertNil(core.eventFrames(Delivery(event: "e", content: .channelEvent(channel: nil, message: .double(.nan)), recipients: [1])))
    }

    /// The size the fan-out decides by is the size of the frame `make` builds.
    func testFrameSizeMatchesTheBuiltFrame() {
        for n in [0, 1, 125, 126, 127, 4090, 4092, 4093, 65535, 65536, 70000] {
            let frame = WireFrame.make(opcode: WireFrame.text, payload: [UInt8](repeating: 0x61, count: n), allocator: ByteBufferAllocator())
            XCTAssertEqual(WireFrame.size(ofPayload: n), frame.readableBytes, "\(n)")
        }
    }
}
