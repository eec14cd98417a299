import XCTest
import RTJSON
@testable import SocketIO

final class EnginePacketTests: XCTestCase {
    func testOpenPacketDecodesHandshake() throws {
        let p = try EnginePacket.decode(#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
        XCTAssertEqual(p, .open(EngineHandshake(sid: "abc", pingInterval: 25000, pingTimeout: 20000, maxPayload: 1_000_000)))
    }

    func testEveryTypeRoundTrips() throws {
        let packets: [EnginePacket] = [
            .open(EngineHandshake(sid: "s", upgrades: ["x"], pingInterval: 1, pingTimeout: 2, maxPayload: 3)),
            .close, .ping(nil), .ping("probe"), .pong(nil), .pong("probe"), .message("2[\"a\"]"), .message(""),
            .upgrade, .noop,
        ]
        for p in packets { XCTAssertEqual(try EnginePacket.decode(p.encoded()), p) }
        XCTAssertEqual(EnginePacket.ping(nil).encoded(), "2")
        XCTAssertEqual(EnginePacket.message("40").encoded(), "440")
    }

    func testMalformedEnginePacketsAreErrors() {
        for bad in ["", "9", "x", "0", "0{", #"0{"sid":"a"}"#, #"0{"pingInterval":1,"pingTimeout":1}"#] {
            XCTAssertThrowsError(try EnginePacket.decode(bad), bad)
        }
    }

    /// Found by the codec fuzz target: a frame starting with a multi-byte character trapped
    /// (the text after its first byte was force-unwrapped into a String) instead of throwing.
    func testMultiByteFirstCharacterIsAnErrorNotACrash() {
        for bad in ["é", "\u{E5}{}", "😀2", "\u{FFFD}"] {
            XCTAssertThrowsError(try EnginePacket.decode(bad), bad)
        }
    }
}

final class SocketPacketCodecTests: XCTestCase {
    func decode(_ text: String) throws -> SocketPacket? {
        var d = SocketPacketDecoder()
        return try d.receiveText(text)
    }

    func testWireTable() throws {
        let table: [(SocketPacket, String)] = [
            (.connect(auth: nil), "0"),
            (.connect(auth: ["clientKey": "k"]), #"0{"clientKey":"k"}"#),
            (SocketPacket(type: .connect, data: ["sid": "x"]), #"0{"sid":"x"}"#),
            (SocketPacket(type: .disconnect), "1"),
            (.event("hello", [1, "a"]), #"2["hello",1,"a"]"#),
            (.event("hello", [], id: 12), #"212["hello"]"#),
            (.ack(id: 12, args: [["x": .null]]), #"312[{"x":null}]"#),
            (.connectError(message: "bad key"), #"4{"message":"bad key"}"#),
            (SocketPacket(type: .event, namespace: "/admin", data: ["e"], id: 3), #"2/admin,3["e"]"#),
        ]
        for (packet, text) in table {
            let encoded = try SocketPacketEncoder.encode(packet)
            XCTAssertEqual(encoded.text, text)
            XCTAssertEqual(encoded.engineText, "4" + text)
            XCTAssertEqual(encoded.attachments, [])
            XCTAssertEqual(try decode(text), packet, text)
        }
    }

    /// The text-argument path writes the very frame `encode` makes from the same argument.
    func testEventFrameWrittenFromArgumentTextMatchesTheEncoder() throws {
        let cases: [(String, String)] = [
            ("message", #"{"channel":"c","eventName":"e","message":{"seq":1,"pad":"xx"},"echo":false}"#),
            ("q\"u\\o\nte\u{1}", #"{"s":"a\"b\\c\n"}"#),
            ("é€😀", #"["é€😀",{"k":"\u0000"}]"#),
            ("n", #"{"a":[1,{"b":[true,null,-2.5e-7]}],"o":{},"e":[]}"#),
            ("", "null"),
        ]
        for (event, argument) in cases {
            var frame: [UInt8] = [0xAA]  // appended after what is there
            SocketPacketEncoder.writeEventFrame(event, into: &frame) { $0.append(contentsOf: argument.utf8) }
            let encoded = try SocketPacketEncoder.encode(.event(event, [.raw(try RawJSON(validating: Array(argument.utf8)))]))
            XCTAssertEqual(Array(frame.dropFirst()), encoded.engineFrame, event)
            let decoded = try XCTUnwrap(try decode(String(decoding: frame.dropFirst(2), as: UTF8.self)))
            XCTAssertEqual(decoded.eventName, event)
            XCTAssertEqual(decoded.eventArgs, [try JSONValue.parse(Array(argument.utf8))])
        }
        var frame: [UInt8] = []
        SocketPacketEncoder.writeEventFrame("a\"b", into: &frame) { $0.append(contentsOf: "1".utf8) }
        XCTAssertEqual(String(decoding: frame, as: UTF8.self), #"42["a\"b",1]"#)
    }

    func testBinaryEventUsesPlaceholdersAndAttachments() throws {
        let packet = SocketPacket.event("file", [["name": "a", "data": .binary([0xFF, 0x00])], .binary([1])], id: 4)
        let encoded = try SocketPacketEncoder.encode(packet)
        XCTAssertTrue(encoded.text.hasPrefix("52-4[\"file\","), encoded.text)
        XCTAssertTrue(encoded.text.contains(#""_placeholder":true"#))
        XCTAssertEqual(encoded.attachments.count, 2)
        XCTAssertEqual(encoded.byteCount, encoded.engineFrame.count + 3)

        var d = SocketPacketDecoder()
        XCTAssertNil(try d.receiveText(encoded.text))
        XCTAssertTrue(d.isAwaitingAttachments)
        XCTAssertNil(try d.receiveBinary(encoded.attachments[0]))
        var expected = packet
        expected.type = .binaryEvent
        XCTAssertEqual(try d.receiveBinary(encoded.attachments[1]), expected)
        XCTAssertFalse(d.isAwaitingAttachments)
    }

    func testBinaryAckAndPythonStyleText() throws {
        var d = SocketPacketDecoder()
        XCTAssertNil(try d.receiveText(#"61-7[{"_placeholder":true,"num":0}]"#))
        let p = try d.receiveBinary([9, 9])
        XCTAssertEqual(p, SocketPacket(type: .binaryAck, data: [.binary([9, 9])], id: 7))
        XCTAssertEqual(p?.eventArgs, [.binary([9, 9])])
    }

    func testEventAccessors() {
        let p = SocketPacket.event("chat", ["x", 2])
        XCTAssertEqual(p.eventName, "chat")
        XCTAssertEqual(p.eventArgs, ["x", 2])
        XCTAssertNil(SocketPacket.ack(id: 1, args: []).eventName)
    }

    func testMalformedPacketsAreErrorsNotCrashes() {
        let bad = ["", "7", "x", "/", "2", "2{}", "2[]", "2[1]", "2[\"a\"", "3[1]", "1{}", "0[1]", "4",
                   "5[\"a\"]", "5-[\"a\"]", "5x-[\"a\"]", "2123456789012345678[\"a\"]", "2[\"a\"]junk",
                   "511-[\"a\"]"]
        for text in bad {
            XCTAssertThrowsError(try decode(text), text)
        }
    }

    func testBadAttachmentsAreErrors() throws {
        var d = SocketPacketDecoder()
        XCTAssertThrowsError(try d.receiveBinary([1]))
        XCTAssertNil(try d.receiveText(#"51-["e",{"_placeholder":true,"num":5}]"#))
        XCTAssertThrowsError(try d.receiveBinary([1]))
        XCTAssertFalse(d.isAwaitingAttachments)
        XCTAssertNil(try d.receiveText(#"51-["e",{"_placeholder":true,"num":0}]"#))
        XCTAssertThrowsError(try d.receiveText(#"2["e"]"#), "text while awaiting attachments")
        XCTAssertFalse(d.isAwaitingAttachments)
    }

    func testAttachmentLimitIsEnforcedWhileDecoding() {
        var d = SocketPacketDecoder(maxAttachments: 2)
        XCTAssertThrowsError(try d.receiveText(#"53-["e"]"#))
        XCTAssertNoThrow(try d.receiveText(#"52-["e"]"#))
    }

    func testBinaryOutsideEventsIsRefused() {
        XCTAssertThrowsError(try SocketPacketEncoder.encode(.connect(auth: ["k": .binary([1])])))
    }

    func testNonFiniteNumbersAreRefusedOnEncode() {
        XCTAssertThrowsError(try SocketPacketEncoder.encode(.event("e", [.double(.nan)])))
    }

    // MARK: rawFromDepth (a relay's option)

    func rawText(_ v: JSONValue?) -> String? {
        guard case .raw(let r)? = v else { return nil }
        return String(decoding: r.bytes, as: UTF8.self)
    }

    func containsRaw(_ v: JSONValue) -> Bool {
        switch v {
        case .raw: return true
        case .array(let a): return a.contains(where: containsRaw)
        case .object(let o): return o.values.contains(where: containsRaw)
        default: return false
        }
    }

    func testByDefaultNothingStaysRaw() throws {
        let p = try decode(#"2["message",{"channel":"c","message":{"a":[1,{"b":2}]}},[3]]"#)
        XCTAssertFalse(containsRaw(p!.data!), "\(p!)")
        XCTAssertEqual(SocketPacketDecoder().rawFromDepth, .max)
    }

    func testEventArgumentsKeepTheirInnerContainersAsText() throws {
        var d = SocketPacketDecoder(rawFromDepth: 2)
        let text = #"2["message",{"channel":"c","eventName":"e","echo":false,"message":{ "b" : [1.50, -0.0, 1E2],"a":"é" }},[7, {"x":1}],"s"]"#
        let p = try XCTUnwrap(d.receiveText(text))
        XCTAssertEqual(p.eventName, "message")
        let payload = try XCTUnwrap(p.eventArgs.first?.objectValue)
        XCTAssertEqual(payload["channel"], "c")
        XCTAssertEqual(payload["echo"], false)
        XCTAssertEqual(rawText(payload["message"]), #"{ "b" : [1.50, -0.0, 1E2],"a":"é" }"#, "kept byte for byte")
        XCTAssertEqual(payload["message"], ["a": "é", "b": [1.5, -0.0, 100.0]], "and equal to its tree")
        guard case .array(let second) = p.eventArgs[1] else { return XCTFail("an argument at depth 1 is built: \(p)") }
        XCTAssertEqual(second[0], 7)
        XCTAssertEqual(rawText(second[1]), #"{"x":1}"#)
        XCTAssertEqual(p.eventArgs[2], "s")
        // Written back out, the raw part is the sender's text.
        XCTAssertTrue(try SocketPacketEncoder.encode(p).text.contains(#"{ "b" : [1.50, -0.0, 1E2],"a":"é" }"#))
    }

    func testAcksAreCoveredAndDepthZeroStillBuildsTheDataArray() throws {
        var d = SocketPacketDecoder(rawFromDepth: 2)
        let ack = try XCTUnwrap(d.receiveText(#"35[{"k":[1]},2]"#))
        XCTAssertEqual(ack.id, 5)
        XCTAssertEqual(rawText(ack.eventArgs[0]["k"]), "[1]")
        var shallow = SocketPacketDecoder(rawFromDepth: 0)
        let p = try XCTUnwrap(shallow.receiveText(#"2["e",{"a":1},[2]]"#))
        XCTAssertEqual(p.eventName, "e", "the data array itself is never raw")
        XCTAssertEqual(rawText(p.eventArgs[0]), #"{"a":1}"#)
        XCTAssertEqual(rawText(p.eventArgs[1]), "[2]")
    }

    func testOtherPacketTypesAreBuiltWhole() throws {
        var d = SocketPacketDecoder(rawFromDepth: 1)
        let connect = try XCTUnwrap(d.receiveText(#"0{"auth":{"k":[1]}}"#))
        XCTAssertFalse(containsRaw(connect.data!), "\(connect)")
        let refused = try XCTUnwrap(d.receiveText(#"4{"message":"no","data":{"x":[1]}}"#))
        XCTAssertFalse(containsRaw(refused.data!), "\(refused)")
    }

    func testBinaryPacketsAreBuiltWholeSoPlaceholdersAreReplaced() throws {
        var d = SocketPacketDecoder(rawFromDepth: 2)
        XCTAssertNil(try d.receiveText(#"51-["file",{"m":{"data":{"_placeholder":true,"num":0},"n":[1]}}]"#))
        let p = try XCTUnwrap(d.receiveBinary([0xFF, 0]))
        XCTAssertEqual(p.eventArgs, [["m": ["data": .binary([0xFF, 0]), "n": [1]]]])
        XCTAssertFalse(containsRaw(p.data!), "\(p)")
        XCTAssertNil(try d.receiveText(#"61-3[{"a":[{"_placeholder":true,"num":0}]}]"#))
        XCTAssertEqual(try d.receiveBinary([1])?.eventArgs, [["a": [.binary([1])]]])
    }

    func testRawPartsAreStillValidated() {
        let bad: [[UInt8]] = [
            Array(#"2["e",{"m":{"a":[1,}}]"#.utf8),
            Array(#"2["e",{"m":{"a":1]}]"#.utf8),
            Array(#"2["e",{"m":["x",tru]}]"#.utf8),
            Array(#"2["e",{"m":{"s":""#.utf8) + [0xC3, 0x28] + Array(#""}}]"#.utf8),
            Array(#"2["e",{"m":[""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""]}]"#.utf8),
        ]
        for bytes in bad {
            var d = SocketPacketDecoder(rawFromDepth: 2)
            XCTAssertThrowsError(try bytes.withUnsafeBufferPointer { b in try d.receiveText(bytes: b) }, "\(bytes)")
        }
    }
}
