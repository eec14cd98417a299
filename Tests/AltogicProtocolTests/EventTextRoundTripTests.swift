import AltogicProtocol
import RTJSON
import SocketIO
import XCTest

/// Pins the fast text path (written and read in place) to the value path (a tree through
/// SocketPacketEncoder / JSONValue.parse / SocketPacketDecoder), on edge cases and random
/// values: unicode, escapes, nesting, text bodies, binary.
final class EventTextRoundTripTests: XCTestCase {
    static let channels: [String?] = [
        nil, "c", "", "room 1", "\"quoted\" \\ back", "line\nbreak\ttab\u{0}\u{1F}", "ünï©ødé", "😀👨‍👩‍👧", "\u{2028}\u{2029}",
        String(repeating: "x", count: 256),
    ]
    static let events = ["message", "chat", "channel:join", "é\"\\", "😀", "a b\u{7}"]

    static let edgeMessages: [JSONValue] = [
        .null, .bool(true), .bool(false), .integer(0), .integer(-1), .integer(.max), .integer(.min), .double(1.5), .double(-2.25e-7),
        .string(""), .string("\"\\/\u{0}\u{1F}\u{7F}"), .string("ünï©ødé 😀"), .array([]), .object([:]),
        .array([.array([.array([.null])])]), .object(["channel": .string("inner"), "message": .integer(1)]),
        .object(["a": .object(["b": .array([.string("c"), .object(["d": .null])])])]),
        raw(#"{"x":[1,2,{"y":"z"}],"s":"\u00e9\n"}"#), raw(#"[]"#), raw(#""text""#), raw("42"), raw("null"),
    ]

    static func raw(_ s: String) -> JSONValue { .raw(try! RawJSON(validating: Array(s.utf8))) }

    /// Random values with no binary; doubles with a fraction so text gives the same case back.
    static func randomValue(_ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch rng.int(depth > 3 ? 6 : 9) {
        case 0: return .null
        case 1: return .bool(rng.int(2) == 0)
        case 2: return .integer(Int64(bitPattern: rng.next()) >> rng.int(64))
        case 3: return .double(Double(rng.int(1_000_000)) + 0.5)
        case 4, 5: return .string(randomString(&rng))
        case 6: return .array((0..<rng.int(4)).map { _ in randomValue(&rng, depth: depth + 1) })
        case 7:
            var o: [String: JSONValue] = [:]
            for _ in 0..<rng.int(4) { o[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        default:
            // A text body, as a script's message arrives.
            let v = randomValue(&rng, depth: depth + 1)
            return .raw(RawJSON(unchecked: try! v.jsonBytes()))
        }
    }

    static func randomString(_ rng: inout SplitMix64) -> String {
        let pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{2028}", "{", "]", ":", ","]
        return (0..<rng.int(8)).map { _ in pieces[rng.int(pieces.count)] }.joined()
    }

    func samples() -> [(channel: String?, message: JSONValue)] {
        var out: [(String?, JSONValue)] = []
        for c in Self.channels { for m in Self.edgeMessages { out.append((c, m)) } }
        var rng = SplitMix64(seed: 14)
        for _ in 0..<1500 {
            out.append((rng.int(3) == 0 ? nil : Self.randomString(&rng), Self.randomValue(&rng)))
        }
        return out
    }

    func testEnvelopeTextMatchesTreeAndReadsBack() throws {
        for (channel, message) in samples() {
            let value = EventEnvelope.value(channel: channel, message: message)
            guard case .raw(let text) = value else { return XCTFail("no text for \(message)") }
            let parsed = try JSONValue.parse(text.bytes)
            XCTAssertEqual(parsed, EventEnvelope.tree(channel: channel, message: message))
            // The fast reader, on the text and on the tree, gives back what was written.
            for argument in [value, parsed] {
                let read = try XCTUnwrap(EventEnvelope.read(argument), "\(argument)")
                XCTAssertEqual(read.channel, channel)
                XCTAssertEqual(read.message, message)
            }
        }
    }

    /// Text not written by `EventEnvelope.write` reads as the tree path reads it: keys in
    /// any order, duplicates (last wins), a non-string channel, a missing channel; anything
    /// else is not an envelope.
    func testEnvelopeReaderAgreesWithTreeReaderOnForeignText() throws {
        let texts = [
            #"{"message":1,"channel":"c"}"#, #"{"message":{"a":[1]}}"#, #"{"channel":5,"message":"m"}"#,
            #"{"channel":"a","channel":"b","message":2}"#, #"{"channel":"c"}"#, #"{"channel":"c","message":1,"x":2}"#,
            #"{"x":1}"#, #"{}"#, #"[1]"#, #""s""#, #"{"message":null}"#, #"{ "channel" : null , "message" : [ ] }"#,
            #"{"chan\u006eel":"esc","message":true}"#,
        ]
        for t in texts {
            let raw = try RawJSON(validating: Array(t.utf8))
            let fromText = EventEnvelope.read(.raw(raw))
            let fromTree = EventEnvelope.read(try JSONValue.parse(t))
            XCTAssertEqual(fromText?.channel, fromTree?.channel, t)
            XCTAssertEqual(fromText?.message, fromTree?.message, t)
            XCTAssertEqual(fromText == nil, fromTree == nil, t)
        }
    }

    /// `EventText` writes exactly the bytes SocketPacketEncoder writes for the same event,
    /// and SocketPacketDecoder reads them back to the value.
    func testEventTextIsTheEncodersBytes() throws {
        var n = 0
        for (channel, message) in samples() {
            let event = Self.events[n % Self.events.count]
            n += 1
            var fast: [UInt8] = []
            try EventText.write(event: event, channel: channel, message: message, into: &fast)
            let envelope = EventEnvelope.value(channel: channel, message: message)
            XCTAssertEqual(fast, try SocketPacketEncoder.encode(.event(event, [envelope])).engineFrame)

            var decoder = SocketPacketDecoder()
            let packet = try XCTUnwrap(try decoder.receiveText(String(decoding: fast.dropFirst(), as: UTF8.self)))
            XCTAssertEqual(packet.type, .event)
            XCTAssertEqual(packet.data, .array([.string(event), EventEnvelope.tree(channel: channel, message: message)]))

            // Any arguments, none included.
            let args = Array([envelope, message, .string(channel ?? "")].prefix(n % 4))
            var text: [UInt8] = []
            try EventText.write(event: event, args: args, into: &text)
            XCTAssertEqual(text, try SocketPacketEncoder.encode(.event(event, args)).engineFrame)
        }
    }

    /// A binary message has no text: the fast writer refuses it, the value stays a tree, and
    /// the encoder's binary event decodes back to it.
    func testBinaryGoesTheValuePath() throws {
        let bytes: [UInt8] = [0, 1, 0xFF, 0x80, 0x7B]
        for message: JSONValue in [.binary(bytes), .object(["b": .binary(bytes), "n": .integer(2)]), .array([.binary([]), .string("x")])] {
            var out: [UInt8] = []
            XCTAssertThrowsError(try EventText.write(event: "blob", channel: "bin", message: message, into: &out))
            let value = EventEnvelope.value(channel: "bin", message: message)
            XCTAssertEqual(value, EventEnvelope.tree(channel: "bin", message: message))
            if case .raw = value { XCTFail("binary written as text") }

            let encoded = try SocketPacketEncoder.encode(.event("blob", [value]))
            XCTAssertFalse(encoded.attachments.isEmpty)
            XCTAssertTrue(encoded.engineText.hasPrefix("45"))
            XCTAssertTrue(encoded.engineText.contains(#"{"_placeholder":true,"num":0}"#) || encoded.engineText.contains(#"{"num":0,"_placeholder":true}"#))
            var decoder = SocketPacketDecoder()
            var packet = try decoder.receiveText(encoded.text)
            for a in encoded.attachments { packet = try decoder.receiveBinary(a) }
            XCTAssertEqual(try XCTUnwrap(packet).data, .array([.string("blob"), EventEnvelope.tree(channel: "bin", message: message)]))
            XCTAssertEqual(EventEnvelope.read(value)?.message, message)
        }
    }

    /// JSON has no NaN: the text path refuses it and the value falls back to the tree (whose
    /// encoding fails too), rather than writing half an envelope.
    func testNonFiniteFallsBackToTree() {
        let message = JSONValue.array([.double(.nan)])
        XCTAssertEqual(EventEnvelope.value(channel: nil, message: message), EventEnvelope.tree(channel: nil, message: message))
        var out: [UInt8] = []
        XCTAssertThrowsError(try EventText.write(event: "e", channel: nil, message: message, into: &out))
    }

    /// The client's `message` payload (§3): the text written around a text body is the tree's.
    func testMessagePayloadTextMatchesTree() throws {
        var n = 0
        for (channel, message) in samples() {
            let eventName = Self.events[n % Self.events.count]
            let echo: Bool? = [nil, true, false][n % 3]
            n += 1
            let body = RawJSON(unchecked: try message.jsonBytes())
            let text = MessagePayload.value(channel: channel, eventName: eventName, message: .raw(body), echo: echo)
            guard case .raw(let bytes) = text else { return XCTFail("a text body gives a text payload") }
            let tree = MessagePayload.tree(channel: channel, eventName: eventName, message: message, echo: echo)
            XCTAssertEqual(try JSONValue.parse(bytes.bytes), tree)
            XCTAssertEqual(MessagePayload.value(channel: channel, eventName: eventName, message: message, echo: echo), tree)

            var head: [UInt8] = []
            MessagePayload.writeHead(channel: channel, eventName: eventName, into: &head)
            head += body.bytes
            MessagePayload.writeTail(echo: echo, into: &head)
            XCTAssertEqual(head, bytes.bytes)
        }
    }
}

/// A small seeded generator: the random cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
}

extension JSONValue {
    func jsonBytes() throws(JSONError) -> [UInt8] {
        var out: [UInt8] = []
        try write(into: &out)
        return out
    }
}
