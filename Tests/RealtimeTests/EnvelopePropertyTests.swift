import AltogicProtocol
import PropertyBased
import RTJSON
import SocketIO
import Testing

@testable import Hub
@testable import Realtime

/// The client's fast text paths against its value paths, and each side's writer against the
/// other side's reader, on generated messages: what the hub writes the client reads as the
/// event it meant (with arguments kept as text or built), and what the client writes the
/// hub reads as the command the client meant.
@Suite struct EnvelopePropertyTests {
    @Test func hubEnvelopeReadsBackAsTheEvent() async {
        await propertyCheck(count: 300, input: EnvelopeGen.channel, EnvelopeGen.message, EnvelopeGen.name) { channel, message, event in
            var text = Array(#"2["#.utf8)
            JSONValue.writeString(event, into: &text)
            text.append(UInt8(ascii: ","))
            try EventEnvelope.write(channel: channel, message: message, into: &text)
            text.append(UInt8(ascii: "]"))
            for depth in [1, Int.max] {  // messagesAsText, and not
                var decoder = SocketPacketDecoder(rawFromDepth: depth)
                let packet = try #require(try text.withUnsafeBufferPointer { try decoder.receiveText(bytes: $0) })
                #expect(packet.eventName == event)
                #expect(EventData(args: packet.eventArgs) == EventData(channel: channel, message: message), "\(String(decoding: text, as: UTF8.self))")
            }
        }
    }

    @Test func envelopeTextReaderAgreesWithTheTreeReader() async {
        // Objects with the envelope's keys or others, repeated or missing, of any type: a
        // plain Socket.IO server's argument is whatever it sent.
        await propertyCheck(count: 500, input: EnvelopeGen.members) { members in
            var text: [UInt8] = [UInt8(ascii: "{")]
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { text.append(UInt8(ascii: ",")) }
                JSONValue.writeString(k, into: &text)
                text.append(UInt8(ascii: ":"))
                try v.write(into: &text)
            }
            text.append(UInt8(ascii: "}"))
            let tree = try JSONValue.parse(text)
            let asText = EventData(args: [.raw(try RawJSON(validating: text))])
            #expect(asText == EventData(args: [tree]), "\(String(decoding: text, as: UTF8.self))")
        }
    }

    @Test func clientMessageReadsBackAsTheHubCommand() async {
        await propertyCheck(count: 300, input: EnvelopeGen.channel, EnvelopeGen.name, EnvelopeGen.message, Gen.int(in: 0...2)) {
            channel, eventName, message, echoCase in
            let echo: Bool? = [nil, true, false][echoCase]
            var body: [UInt8] = []
            try message.write(into: &body)
            let raw = RawJSON(unchecked: body)
            // The payload written from text equals the one built as a value.
            let fast = OutboundState.messagePayload(channel, eventName, .raw(raw), echo)
            let slow = OutboundState.messagePayload(channel, eventName, message, echo)
            #expect(fast == slow)
            // The frame the client writes when online (RealtimeManager.sendMessage), read by
            // the hub's one-pass reader, gives the command the value path gives.
            var frame: [UInt8] = []
            SocketPacketEncoder.writeEventFrame("message", into: &frame) { out in
                MessagePayload.write(channel: channel, eventName: eventName, body: raw, echo: echo, into: &out)
            }
            #expect(Array(frame.prefix(2)) == Array("42".utf8))
            let read = Array(frame.dropFirst()).withUnsafeBufferPointer { ClientCommand.parse(eventPacket: $0) }
            #expect(read == ClientCommand.parse(event: "message", payload: slow, ackID: nil))
            // And the command is the message sent, when the hub takes it.
            if channel.map(NameCheck.isValidChannel) ?? true, !eventName.isEmpty, !NameCheck.isReservedEventName(eventName) {
                #expect(read == .success(.message(channel: channel, eventName: eventName, message: message, echo: echo)))
            }
        }
    }
}

enum EnvelopeGen {
    static let names = ["chat", "message", "é ✓", "a\"b\\c", "tab\there", "", "connect", "user:x", "😀"]

    static func value(_ rng: inout some RandomNumberGenerator, depth: Int) -> JSONValue {
        if depth < 3, Int.random(in: 0..<3, using: &rng) == 0 {
            let n = Int.random(in: 0...3, using: &rng)
            if Bool.random(using: &rng) { return .array((0..<n).map { _ in value(&rng, depth: depth + 1) }) }
            var o: [String: JSONValue] = [:]
            for _ in 0..<n { o[["channel", "message", "text", "n", "é"].randomElement(using: &rng)!] = value(&rng, depth: depth + 1) }
            return .object(o)
        }
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .integer(Int64.random(in: .min ... .max, using: &rng))
        case 3: return .double(Double.random(in: -1e9...1e9, using: &rng))
        default: return .string(names.randomElement(using: &rng)!)
        }
    }

    static let message = Generator<JSONValue, Shrink.None<JSONValue>> { rng in value(&rng, depth: 0) }
    static let name = Generator<String, Shrink.None<String>> { rng in names.randomElement(using: &rng)! }
    static let channel = Generator<String?, Shrink.None<String?>> { rng in
        Int.random(in: 0..<4, using: &rng) == 0 ? nil : names.randomElement(using: &rng)!
    }
    static let members = Generator<[(String, JSONValue)], Shrink.None<[(String, JSONValue)]>> { rng in
        (0..<Int.random(in: 0...4, using: &rng)).map { _ in
            (["channel", "message", "message", "channel", "other"].randomElement(using: &rng)!, value(&rng, depth: 1))
        }
    }
}
