import NIOCore
import NIOEmbedded
import NIOWebSocket
import AltogicProtocol
import PropertyBased
import RTJSON
import SocketIO
import Testing

@testable import Hub

/// The hub's fast text paths against its value paths, on generated events and commands:
/// the `{channel, message}` envelope and the `42[…]` event text it writes must read back as
/// the values the encoder would have written, and its one-pass command reader must give the
/// verdict the decoder path gives.
@Suite struct EventTextPropertyTests {
    @Test func envelopeTextIsTheEnvelopeValue() async {
        await propertyCheck(count: 300, input: EventGen.channel, EventGen.message) { channel, message in
            let tree: JSONValue = .object(["channel": channel.map(JSONValue.string) ?? .null, "message": message])
            let written = EventEnvelope.value(channel: channel, message: message)
            #expect(written == tree)
            if case .raw(let r) = written { #expect(try JSONValue.parse(r.bytes) == tree) }
            // The same with the body as text, as the hub relays it.
            let rawBody = try EventGen.raw(message)
            #expect(EventEnvelope.value(channel: channel, message: rawBody) == tree)
        }
    }

    @Test func eventFramesDecodeAsTheEncodersPacket() async {
        let core = HubCore(config: HubConfig(), loop: EmbeddedEventLoop())
        await propertyCheck(count: 200, input: EventGen.eventName, EventGen.channel, EventGen.message) { event, channel, message in
            let envelope = Delivery(event: event, content: .channelEvent(channel: channel, message: message), recipients: [])
            let tree: JSONValue = .object(["channel": channel.map(JSONValue.string) ?? .null, "message": message])
            #expect(try decodedEvent(core.eventFrames(envelope)) == .event(event, [tree]))
            let args = [message, .string(event), try EventGen.raw(message)]
            #expect(try decodedEvent(core.eventFrames(event, args)) == .event(event, args))
        }
    }

    @Test func oneShotCommandReaderAgreesWithTheDecoder() async {
        await propertyCheck(count: 500, input: EventGen.commandName, EventGen.payload, Gen.int(in: -1...20), Gen.int(in: 0...5)) {
            name, payload, id, spacing in
            let ackID = id < 0 ? nil : id * 7919
            // As the encoder writes it, and with whitespace the way another client might.
            var packets = [Array(try SocketPacketEncoder.encode(.event(name, [payload], id: ackID)).engineFrame.dropFirst())]
            var spaced: [UInt8] = [UInt8(ascii: "2")] + (ackID.map { Array(String($0).utf8) } ?? [])
            // (The one-pass reader wants the "[" right after the id; the decoder reads the rest.)
            spaced += EventGen.spaced(.array([.string(name), payload]), seed: spacing).drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 }
            packets.append(spaced)
            for p in packets {
                let fast = p.withUnsafeBufferPointer { ClientCommand.parse(eventPacket: $0) }
                #expect(fast != nil, "the one-pass reader left a plain event to the decoder: \(String(decoding: p, as: UTF8.self))")
                for depth in [1, Int.max] {
                    var decoder = SocketPacketDecoder(rawFromDepth: depth)
                    let packet = try #require(try p.withUnsafeBufferPointer { try decoder.receiveText(bytes: $0) })
                    let slow = ClientCommand.parse(event: name, payload: packet.eventArgs.first, ackID: packet.id)
                    #expect(fast == slow, "\(String(decoding: p, as: UTF8.self)) at depth \(depth)")
                }
            }
        }
    }

    /// The event packet in the one text frame `frames` holds.
    private func decodedEvent(_ frames: [ByteBuffer]?) throws -> SocketPacket? {
        guard let frames, frames.count == 1 else { return nil }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(frames[0])
        guard let frame = try channel.readInbound(as: WebSocketFrame.self), frame.opcode == .text else { return nil }
        let text = Array(frame.unmaskedData.readableBytesView)
        guard text.first == UInt8(ascii: "4") else { return nil }
        var decoder = SocketPacketDecoder()
        return try Array(text.dropFirst()).withUnsafeBufferPointer { try decoder.receiveText(bytes: $0) }
    }
}

/// Generated parts of events and commands: names, channels, bodies, payload objects.
enum EventGen {
    static let names = ["message", "join", "leave", "update", "members", "chat", "connect", "disconnect", "channel:x",
                        "user:y", "newListener", "é", "", "a\"b", "x\\y\n"]

    static func scalarOrContainer(_ rng: inout some RandomNumberGenerator, depth: Int) -> JSONValue {
        if depth < 3, Int.random(in: 0..<4, using: &rng) == 0 {
            let n = Int.random(in: 0...3, using: &rng)
            if Bool.random(using: &rng) { return .array((0..<n).map { _ in scalarOrContainer(&rng, depth: depth + 1) }) }
            var o: [String: JSONValue] = [:]
            for _ in 0..<n { o[names.randomElement(using: &rng)!] = scalarOrContainer(&rng, depth: depth + 1) }
            return .object(o)
        }
        switch Int.random(in: 0..<7, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .integer(Int64.random(in: -1_000_000...1_000_000, using: &rng))
        case 3: return .double(Double.random(in: -1e6...1e6, using: &rng))
        case 4: return .string(String(repeating: "c", count: Int.random(in: 250...260, using: &rng)))  // around the channel limit
        default: return .string(names.randomElement(using: &rng)!)
        }
    }

    static let message = Generator<JSONValue, Shrink.None<JSONValue>> { rng in scalarOrContainer(&rng, depth: 0) }
    static let eventName = Generator<String, Shrink.None<String>> { rng in
        Bool.random(using: &rng) ? names.randomElement(using: &rng)! : "event-" + String(Int.random(in: 0...99, using: &rng))
    }
    static let commandName = Generator<String, Shrink.None<String>> { rng in names.randomElement(using: &rng)! }
    static let channel = Generator<String?, Shrink.None<String?>> { rng in
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return nil
        case 1: return ""
        case 2: return names.randomElement(using: &rng)!
        default: return "room-" + String(Int.random(in: 0...9, using: &rng))
        }
    }

    /// A command payload: mostly an object with some of §3's fields (of the right type or
    /// not) and other keys; now and then not an object at all.
    static let payload = Generator<JSONValue, Shrink.None<JSONValue>> { rng in
        guard Int.random(in: 0..<8, using: &rng) > 0 else { return scalarOrContainer(&rng, depth: 0) }
        var o: [String: JSONValue] = [:]
        for key in ["channel", "eventName", "message", "data", "echo", "other"] where Int.random(in: 0..<3, using: &rng) > 0 {
            switch key {
            case "channel", "eventName":
                o[key] = Int.random(in: 0..<4, using: &rng) > 0 ? .string(names.randomElement(using: &rng)! + (Bool.random(using: &rng) ? "" : "-1"))
                    : scalarOrContainer(&rng, depth: 1)
            case "echo":
                o[key] = Bool.random(using: &rng) ? .bool(Bool.random(using: &rng)) : scalarOrContainer(&rng, depth: 1)
            default:
                o[key] = scalarOrContainer(&rng, depth: 0)
            }
        }
        return .object(o)
    }

    /// `v` as a `.raw` value: its text, as a relay keeps it.
    static func raw(_ v: JSONValue) throws -> JSONValue {
        var out: [UInt8] = []
        try v.write(into: &out)
        return .raw(try RawJSON(validating: out))
    }

    /// The value's text with whitespace (chosen by `seed`) between tokens.
    static func spaced(_ v: JSONValue, seed: Int) -> [UInt8] {
        let ws: [[UInt8]] = [[], [0x20], [0x0A, 0x20], [0x09]]
        let gap = ws[seed % ws.count]
        var out: [UInt8] = []
        func write(_ v: JSONValue) {
            out += gap
            switch v {
            case .array(let a):
                out.append(0x5B)
                for (i, x) in a.enumerated() { if i > 0 { out += gap; out.append(0x2C) }; write(x) }
                out += gap; out.append(0x5D)
            case .object(let o):
                out.append(0x7B)
                for (i, (k, x)) in o.enumerated() {
                    if i > 0 { out += gap; out.append(0x2C) }
                    out += gap; JSONValue.writeString(k, into: &out); out += gap; out.append(0x3A); write(x)
                }
                out += gap; out.append(0x7D)
            default:
                try! v.write(into: &out)
            }
            out += gap
        }
        write(v)
        return out
    }
}
