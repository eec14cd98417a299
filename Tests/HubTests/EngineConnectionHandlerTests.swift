import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOWebSocket
import XCTest

@testable import Hub

/// The connection handler on an EmbeddedChannel: RFC 6455 checks, the outbound limit on
/// the handler's own writes, the rate limit, and what gets logged and counted.
final class EngineConnectionHandlerTests: XCTestCase {
    final class LogStore: Sendable {
        let lines = NIOLockedValueBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
        var all: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lines.withLockedValue { $0 } }
    }

    struct CapturingHandler: LogHandler {
        let store: LogStore
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let m = event.metadata ?? [:]
            store.lines.withLockedValue { $0.append((event.level, "\(event.message)", m)) }
        }
    }

    /// One connection on an embedded channel, its hub core, and what it logged.
    final class Harness {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let core: HubCore
        let logs = LogStore()
        private var wire = ByteBuffer()

        init(_ change: (inout HubConfig) -> Void = { _ in }) throws {
            var config = HubConfig()
            change(&config)
            config.logger = Logger(label: "test", factory: { [logs] _ in CapturingHandler(store: logs) })
            config.logger.logLevel = .debug
            core = HubCore(config: config, loop: loop)
            channel = EmbeddedChannel(loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "10.1.2.3", port: 4567)).wait()
            let outlet = WireFrameOutlet()
            try channel.pipeline.syncOperations.addHandler(outlet)
            try channel.pipeline.syncOperations.addHandler(EngineConnectionHandler(core: core, outlet: outlet))
            loop.run()
            XCTAssertEqual(try frames().first?.payload.first, UInt8(ascii: "0"), "the open packet")
        }

        func send(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, masked: Bool = true) {
            var data = ByteBuffer(bytes: payload)
            let key: WebSocketMaskingKey? = masked ? [0x11, 0x22, 0x33, 0x44] : nil
            if let key { data.webSocketMask(key) }
            try? channel.writeInbound(WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: key, data: data))
            loop.run()
        }

        func sendText(_ text: String) { send(.text, Array(text.utf8)) }

        /// The frames the hub wrote since the last call: (opcode, payload).
        func frames() throws -> [(opcode: UInt8, payload: [UInt8])] {
            while var b = try channel.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&b) }
            var out: [(UInt8, [UInt8])] = []
            while wire.readableBytes >= 2 {
                let start = wire.readerIndex
                let b0 = wire.readInteger(as: UInt8.self)!, b1 = wire.readInteger(as: UInt8.self)!
                var n = Int(b1 & 0x7F)
                if n == 126 { n = Int(wire.readInteger(as: UInt16.self)!) } else if n == 127 { n = Int(wire.readInteger(as: UInt64.self)!) }
                guard let payload = wire.readBytes(length: n) else {
                    wire.moveReaderIndex(to: start)
                    break
                }
                out.append((b0 & 0x0F, payload))
            }
            return out
        }

        /// The code of the close frame the hub wrote last (nil: an empty one; -1: none).
        func closeCode() throws -> Int? {
            guard let close = try frames().last(where: { $0.opcode == 0x8 }) else { return -1 }
            return close.payload.count >= 2 ? Int(close.payload[0]) << 8 | Int(close.payload[1]) : nil
        }
    }

    func testRFC6455ViolationsAreClosedWithTheirCodeCountedAndLogged() throws {
        let cases: [(String, (Harness) -> Void, Int)] = [
            ("unmasked", { $0.send(.text, Array("3".utf8), masked: false) }, 1002),
            ("rsv1", { $0.send(.text, Array("3".utf8), rsv1: true) }, 1002),
            ("opcode 5", { $0.send(WebSocketOpcode(encodedWebSocketOpcode: 5)!, []) }, 1002),
            ("continuation first", { $0.send(.continuation, [1]) }, 1002),
            ("binary inside text", { h in h.send(.text, [0x34], fin: false); h.send(.binary, [1]) }, 1002),
            ("close 1005", { $0.send(.connectionClose, [0x03, 0xED]) }, 1002),
            ("close with one byte", { $0.send(.connectionClose, [0x03]) }, 1002),
            ("text not UTF-8", { $0.send(.text, [0x34, 0x32, 0xC3, 0x28]) }, 1007),
            ("close reason not UTF-8", { $0.send(.connectionClose, [0x03, 0xE8, 0xFF]) }, 1007),
        ]
        for (name, act, code) in cases {
            let h = try Harness()
            act(h)
            XCTAssertEqual(try h.closeCode(), code, name)
            XCTAssertEqual(h.core.metrics.protocolCloses[UInt16(code)], 1, name)
            let logged = h.logs.all.filter { $0.level == .debug && $0.message == "protocol error" }
            XCTAssertEqual(logged.count, 1, name)
            XCTAssertEqual(logged.first?.metadata["peer"]?.description.contains("10.1.2.3"), true, "\(name): \(logged)")
            h.send(.text, Array("40".utf8))
            XCTAssertTrue(try h.frames().isEmpty, "\(name): nothing read after the failure")
        }
    }

    func testValidClosesAreEchoed() throws {
        for (payload, code) in [([UInt8](), nil), ([0x03, 0xE8, 0x62], 1000), ([0x0F, 0xA0], 4000), ([0x03, 0xF3], 1011)] as [([UInt8], Int?)] {
            let h = try Harness()
            h.send(.connectionClose, payload)
            XCTAssertEqual(try h.closeCode(), code, "\(payload)")
            XCTAssertTrue(h.core.metrics.protocolCloses.isEmpty)
        }
    }

    func testFragmentsAreReassembledAroundAPing() throws {
        let h = try Harness()
        h.send(.text, Array("4".utf8), fin: false)
        h.send(.ping, Array("hi".utf8))
        h.send(.continuation, Array("0".utf8))
        let f = try h.frames()
        XCTAssertEqual(f.map(\.opcode), [0xA, 0x1])
        XCTAssertEqual(f[0].payload, Array("hi".utf8))
        XCTAssertTrue(f[1].payload.starts(with: Array("40{\"sid\":".utf8)))
    }

    /// Many connections breaking the protocol at once: their lines go through the hub's
    /// per-reason rate limit (10 a second), not one line each.
    func testProtocolErrorLinesAreRateLimitedAcrossConnections() throws {
        let h = try Harness()
        for _ in 0..<30 {
            let channel = EmbeddedChannel(loop: h.loop)
            try channel.connect(to: SocketAddress(ipAddress: "10.1.2.3", port: 4567)).wait()
            let outlet = WireFrameOutlet()
            try channel.pipeline.syncOperations.addHandler(outlet)
            try channel.pipeline.syncOperations.addHandler(EngineConnectionHandler(core: h.core, outlet: outlet))
            h.loop.run()
            // Unmasked: a protocol error (1002).
            try? channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: Array("3".utf8))))
            h.loop.run()
        }
        XCTAssertEqual(h.core.metrics.protocolCloses[1002], 30)
        let logged = h.logs.all.filter { $0.message == "protocol error" }
        // 10 in each second the loop spans (one, or two at a second's edge).
        XCTAssertGreaterThanOrEqual(logged.count, 10)
        XCTAssertLessThanOrEqual(logged.count, 20, "\(logged.count) lines for 30 errors")
    }

    /// A client that does not read: its pongs meet the outbound limit like any write.
    func testPongsToANonReaderCutItOff() throws {
        for ping in [{ (h: Harness) in h.sendText("2probe") }, { (h: Harness) in h.send(.ping, [1, 2]) }] {
            let h = try Harness()
            h.sendText("40")
            _ = try h.frames()
            h.channel.isWritable = false
            ping(h)
            XCTAssertTrue(try h.frames().isEmpty, "no pong past the limit")
            XCTAssertFalse(h.channel.isActive, "cut off")
            XCTAssertEqual(h.core.metrics.slowConsumerDisconnects, 1)
            let cut = h.logs.all.filter { $0.level == .notice && $0.message == "connection cut off" }
            XCTAssertEqual(cut.count, 1)
            XCTAssertEqual(cut.first?.metadata["reason"]?.description.hasPrefix("slow consumer"), true, "\(cut)")
            XCTAssertEqual(cut.first?.metadata["peer"]?.description.contains("10.1.2.3:4567"), true, "\(cut)")
        }
    }

    func testRateLimitDropsPacketsAndLogsOnce() throws {
        let h = try Harness { $0.packetRate = 1; $0.packetBurst = 3 }
        for _ in 0..<10 { h.sendText("6") }
        XCTAssertEqual(h.core.metrics.dropped[.rateLimited], 7)
        h.send(.pong, [])
        h.send(.binary, [1])
        XCTAssertEqual(h.core.metrics.dropped[.rateLimited], 9, "pongs and stray binary frames take tokens too")
        h.send(.text, Array("4".utf8), fin: false)
        h.send(.continuation, Array("0".utf8))
        XCTAssertEqual(h.core.metrics.dropped[.rateLimited], 10, "a fragmented message over the rate is dropped whole")
        XCTAssertTrue(h.core.metrics.protocolCloses.isEmpty, "not a protocol error")
        XCTAssertEqual(h.logs.all.filter { $0.message == "connection cut off" }.count, 1, "\(h.logs.all)")
        XCTAssertTrue(h.channel.isActive, "dropped, not disconnected")
    }

    func testWrongKeysCloseAfterTheLimit() throws {
        let h = try Harness { $0.clientKeys = ["k"]; $0.maxConnectAttempts = 2 }
        h.sendText(#"40{"clientKey":"x"}"#)
        XCTAssertEqual(try h.frames().map { String(decoding: $0.payload.prefix(2), as: UTF8.self) }, ["44"])
        h.sendText(#"40{"clientKey":"y"}"#)
        XCTAssertEqual(try h.closeCode(), 1008)
        XCTAssertEqual(h.core.metrics.wrongKeyDisconnects, 1)
    }
}
