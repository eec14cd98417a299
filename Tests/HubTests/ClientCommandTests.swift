import AltogicProtocol
import RTJSON
import SocketIO
import XCTest

@testable import Hub

/// Which client packets are commands and which are dropped, and why (PROTOCOL.md §3).
final class ClientCommandTests: XCTestCase {
    func parse(_ name: String, _ args: [JSONValue], ack: Int? = nil) -> Result<ClientCommand, DropReason> {
        ClientCommand.parse(event: name, payload: args.first, ackID: ack)
    }

    func testValidCommands() {
        XCTAssertEqual(try parse("message", [["eventName": "e", "message": [1, 2]]]).get(), .message(channel: nil, eventName: "e", message: [1, 2], echo: nil))
        XCTAssertEqual(try parse("message", [["channel": "c", "eventName": "e", "message": "m", "echo": false]]).get(), .message(channel: "c", eventName: "e", message: "m", echo: false))
        XCTAssertEqual(try parse("message", [["eventName": "e"]]).get(), .message(channel: nil, eventName: "e", message: nil, echo: nil))
        XCTAssertEqual(try parse("join", [["channel": "c", "echo": true]]).get(), .join(channel: "c", echo: true))
        XCTAssertEqual(try parse("leave", [["channel": "c"]]).get(), .leave(channel: "c", echo: nil))
        XCTAssertEqual(try parse("update", [["data": ["x": 1]]]).get(), .update(data: ["x": 1], echo: nil))
        XCTAssertEqual(try parse("members", [["channel": "c"]], ack: 3).get(), .members(channel: "c", ackID: 3))
    }

    func testReservedEventNamesAreDropped() {
        for name in ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener", "channel:join", "user:signin"] {
            XCTAssertEqual(parse("message", [["eventName": .string(name), "message": 1]]), .failure(.reservedName), name)
            XCTAssertEqual(parse(name, [["eventName": "x"]]), .failure(.reservedName), name)
        }
    }

    func testNamesCloseToReservedOnesAreAllowed() {
        for name in ["chat", "c", "u", "connected", "Connect", "channel", "channels", "user", "users:x", "rename", "newlistener", "x:channel:", "déconnect"] {
            XCTAssertFalse(NameCheck.isReservedEventName(name), name)
            XCTAssertEqual(try parse("message", [["eventName": .string(name)]]).get(), .message(channel: nil, eventName: name, message: nil, echo: nil), name)
        }
        XCTAssertTrue(NameCheck.isReservedEventName("channel:"))
        XCTAssertTrue(NameCheck.isReservedEventName("user:x"))
    }

    func testBadPayloadsAreDropped() {
        XCTAssertEqual(parse("message", []), .failure(.badPayload))
        XCTAssertEqual(parse("message", ["text"]), .failure(.badPayload))
        XCTAssertEqual(parse("message", [["eventName": ""]]), .failure(.badPayload))
        XCTAssertEqual(parse("message", [["eventName": 5]]), .failure(.badPayload))
        XCTAssertEqual(parse("message", [["eventName": "e", "channel": 5]]), .failure(.badPayload))
        XCTAssertEqual(parse("message", [["eventName": "e", "channel": ""]]), .failure(.badPayload))
        XCTAssertEqual(parse("message", [["eventName": "e", "echo": "yes"]]), .failure(.badPayload))
        XCTAssertEqual(parse("join", [["channel": .string(String(repeating: "x", count: 257))]]), .failure(.badPayload))
        XCTAssertEqual(try parse("join", [["channel": .string(String(repeating: "x", count: 256))]]).get(), .join(channel: String(repeating: "x", count: 256), echo: nil))
        XCTAssertEqual(parse("join", [[:]]), .failure(.badPayload))
        XCTAssertEqual(parse("leave", [nil]), .failure(.badPayload))
        XCTAssertEqual(parse("update", [3]), .failure(.badPayload))
        XCTAssertEqual(parse("members", [["channel": "c"]]), .failure(.badPayload), "members without an ack id")
    }

    func testUnknownEventsAreDropped() {
        XCTAssertEqual(parse("chat", [["eventName": "e"]]), .failure(.unknownEvent))
        XCTAssertEqual(parse("chat", []), .failure(.unknownEvent))
    }

    /// The hub's decoder hands the payload over as text (`.raw`); a payload built as a tree
    /// (a binary event's) gives the same command or the same drop reason.
    func testTextAndTreePayloadsGiveTheSameResult() throws {
        for (name, text, ack, expected) in Self.payloads {
            let tree = try JSONValue.parse(text)
            let raw = JSONValue.raw(try RawJSON(validating: Array(text.utf8)))
            XCTAssertEqual(ClientCommand.parse(event: name, payload: raw, ackID: ack), expected, "\(name) \(text) as text")
            XCTAssertEqual(ClientCommand.parse(event: name, payload: tree, ackID: ack), expected, "\(name) \(text) as a tree")
        }
    }

    /// Event name, payload text, ack id, and what the hub makes of them.
    static let payloads: [(String, String, Int?, Result<ClientCommand, DropReason>)] = {
        let long = String(repeating: "x", count: 257)
        return [
            ("message", #"{"channel":"ch","eventName":"bnchtick","echo":false,"message":{"seq":1,"t":2.5}}"#, nil,
             .success(.message(channel: "ch", eventName: "bnchtick", message: ["seq": 1, "t": 2.5], echo: false))),
            ("message", #"{ "eventName" : "e" , "message" : [ 1 , {"s":"}\"{]"} ] , "echo" : null }"#, nil,
             .success(.message(channel: nil, eventName: "e", message: [1, ["s": "}\"{]"]], echo: nil))),
            ("message", #"{"message":{"eventName":"inner","channel":5,"echo":"x"},"eventName":"outer"}"#, nil,
             .success(.message(channel: nil, eventName: "outer", message: ["eventName": "inner", "channel": 5, "echo": "x"], echo: nil))),
            ("message", #"{"eventName":"e","channel":null,"data":{"ignored":["}"]}}"#, nil,
             .success(.message(channel: nil, eventName: "e", message: nil, echo: nil))),
            ("message", #"{"event\u004eame":"\u00e9v","chan\u006eel":"c\"h","Echo":5,"echoes":[],"x":{"y":[1,{}]}}"#, nil,
             .success(.message(channel: "c\"h", eventName: "év", message: nil, echo: nil))),
            // Repeated keys: the last one counts.
            ("message", #"{"eventName":"a","eventName":"b","message":1,"message":{"m":"}"},"echo":"no","echo":true}"#, nil,
             .success(.message(channel: nil, eventName: "b", message: ["m": "}"], echo: true))),
            ("message", #"{"eventName":"e","echo":true,"echo":"no"}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","channel":"c","channel":null}"#, nil, .success(.message(channel: nil, eventName: "e", message: nil, echo: nil))),
            ("message", #"{"eventName":"e","channel":null,"channel":""}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"connect","eventName":"ok"}"#, nil, .success(.message(channel: nil, eventName: "ok", message: nil, echo: nil))),
            ("message", #"{"eventName":"ok","eventName":"user:x"}"#, nil, .failure(.reservedName)),
            // Wrong types and values.
            ("message", #"{"eventName":""}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":null}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":5}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":["e"]}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":{"e":1}}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":true}"#, nil, .failure(.badPayload)),
            ("message", #"{"message":1}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","channel":5}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","channel":true}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","channel":["c"]}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","channel":"\#(long)"}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","echo":1}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","echo":"true"}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"e","echo":{}}"#, nil, .failure(.badPayload)),
            ("message", #"{"eventName":"disconnecting"}"#, nil, .failure(.reservedName)),
            ("message", #"{"eventName":"channel:update"}"#, nil, .failure(.reservedName)),
            ("connect", #"{"eventName":"e"}"#, nil, .failure(.reservedName)),
            ("message", "{}", nil, .failure(.badPayload)),
            ("message", "[]", nil, .failure(.badPayload)),
            ("message", #"[{"eventName":"e"}]"#, nil, .failure(.badPayload)),
            ("message", #""{\"eventName\":\"e\"}""#, nil, .failure(.badPayload)),
            ("message", "null", nil, .failure(.badPayload)),
            ("message", "5", nil, .failure(.badPayload)),
            ("join", #"{"channel":"c","echo":false}"#, nil, .success(.join(channel: "c", echo: false))),
            ("join", #"{"channel":"a","channel":"b"}"#, nil, .success(.join(channel: "b", echo: nil))),
            ("join", #"{"channel":null}"#, nil, .failure(.badPayload)),
            ("join", #"{"channel":"\#(long)"}"#, nil, .failure(.badPayload)),
            ("join", "[]", nil, .failure(.badPayload)),
            ("leave", #"{"channel":"c","eventName":5,"message":{"x":1}}"#, nil, .success(.leave(channel: "c", echo: nil))),
            ("leave", #"{"echo":true}"#, nil, .failure(.badPayload)),
            ("update", #"{"data":{"name":"ann","tags":["}"]},"echo":true}"#, nil, .success(.update(data: ["name": "ann", "tags": ["}"]], echo: true))),
            ("update", #"{"data":"s","data":null}"#, nil, .success(.update(data: nil, echo: nil))),
            ("update", "{}", nil, .success(.update(data: nil, echo: nil))),
            ("update", #"{"message":{"x":1}}"#, nil, .success(.update(data: nil, echo: nil))),
            ("update", #"{"data":1,"echo":0}"#, nil, .failure(.badPayload)),
            ("update", "3", nil, .failure(.badPayload)),
            ("members", #"{"channel":"c"}"#, 7, .success(.members(channel: "c", ackID: 7))),
            ("members", #"{"channel":"c"}"#, nil, .failure(.badPayload)),
            ("members", #"{"channel":""}"#, 7, .failure(.badPayload)),
            ("members", #"{"channel":"c","echo":[]}"#, 7, .failure(.badPayload)),
            // Names outside §3: unknown, unless the echo field is already wrong.
            ("chat", #"{"eventName":"e"}"#, nil, .failure(.unknownEvent)),
            ("chat", "[1]", nil, .failure(.unknownEvent)),
            ("chat", "null", nil, .failure(.unknownEvent)),
            ("chat", #"{"echo":"x"}"#, nil, .failure(.badPayload)),
        ]
    }()

    /// A body read from the payload's text is that text, byte for byte: the hub relays it
    /// without rewriting numbers, escapes or spacing.
    func testBodyIsKeptAsItsTextByteForByte() throws {
        let bodies = [
            #"{ "z" : 1.50e+2 , "a" : [ -0.0 , "\u00e9\"}" ] }"#, "1.50", "12345678901234567890", "1E2", "-0",
            #""\u00e9\/""#, "null", "true", "[ ]", #"{"k":{"k":{"k":"]"}}}"#,
        ]
        for body in bodies {
            for (name, key) in [("message", "message"), ("update", "data")] {
                let text = #"{"eventName":"e","\#(key)":\#(body) ,"echo":false}"#
                let payload = JSONValue.raw(try RawJSON(validating: Array(text.utf8)))
                let kept: JSONValue?
                switch ClientCommand.parse(event: name, payload: payload, ackID: nil) {
                case .success(.message(_, _, let m, _)): kept = m
                case .success(.update(let d, _)): kept = d
                default: kept = nil
                }
                guard case .raw(let r)? = kept else { return XCTFail("\(name) \(body): body not kept as text: \(String(describing: kept))") }
                XCTAssertEqual(String(decoding: r.bytes, as: UTF8.self), body, name)
            }
        }
    }

    func testBinaryBodiesComeFromTreePayloads() throws {
        let body: JSONValue = ["b": .binary([1, 2]), "s": "x"]
        XCTAssertEqual(try parse("message", [["eventName": "e", "channel": "c", "message": body]]).get(), .message(channel: "c", eventName: "e", message: body, echo: nil))
        // Member data is listed as JSON (get-members): binary in it is refused.
        XCTAssertEqual(parse("update", [["data": body, "echo": false]]), .failure(.binaryMemberData))
        XCTAssertEqual(try parse("update", [["data": ["s": "x"], "echo": false]]).get(), .update(data: ["s": "x"], echo: false))
    }

    func testPayloadKeysAreMatchedExactly() {
        let keys: [(String, PayloadFields.Key)] = [
            ("echo", .echo), ("data", .data), ("channel", .channel), ("message", .message), ("eventName", .eventName),
            ("ech", .other), ("echO", .other), ("date", .other), ("Channel", .other), ("messages", .other),
            ("eventname", .other), ("eventNam", .other), ("", .other), ("éch", .other),
        ]
        for (k, expected) in keys {
            var k = k
            XCTAssertEqual(k.withUTF8 { PayloadFields.Key(utf8: $0) }, expected, k)
        }
    }

    /// What the hub's decoder path makes of a Socket.IO packet's text (an EVENT, or junk).
    func decoderVerdict(_ text: String) -> Result<ClientCommand, DropReason> {
        var decoder = SocketPacketDecoder(rawFromDepth: 1)
        guard let packet = try? decoder.receiveText(text) else { return .failure(.malformed) }
        guard packet.type == .event else { return .failure(.unknownType) }
        guard packet.namespace == "/" else { return .failure(.badNamespace) }
        guard case .array(let data)? = packet.data, case .string(let name)? = data.first else { return .failure(.malformed) }
        return ClientCommand.parse(event: name, payload: data.count > 1 ? data[1] : nil, ackID: packet.id)
    }

    func onePass(_ text: String) -> Result<ClientCommand, DropReason>? {
        var text = text
        return text.withUTF8 { ClientCommand.parse(eventPacket: $0) }
    }

    /// The one-pass reader of plain events gives the decoder's verdict on every packet it
    /// takes, and takes every well-formed plain event; the rest it leaves to the decoder.
    func testOnePassEventReadingAgreesWithTheDecoder() throws {
        let nest = { (n: Int) in String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        let limit = JSONValue.maxParseDepth
        var taken: [String] = [
            #"2["message",{"channel":"ch","eventName":"bnchtick","echo":false,"message":{"seq":1,"ts":1.5,"pad":"x"}}]"#,
            #"2[ "message" , { "eventName" : "e" , "message" : [ 1 ] } ] "#,
            #"27["members",{"channel":"c"}]"#, #"2123456789012345["members",{"channel":"c"}]"#,
            #"2["message",{"eventName":"e"},1,{"x":[2]},"s"]"#, #"2["message"]"#, #"2["chat"]"#, #"2["connect",{}]"#,
            #"2["join","c"]"#, #"2["update",[1]]"#, #"2["x",null]"#, #"2["mess\u0061ge",{"eventName":"e"}]"#,
            // Nesting at the parser's limit (the message sits at depth 2, an extra argument at 1).
            #"2["message",{"eventName":"e","message":\#(nest(limit - 1))}]"#,
            #"2["message",{"eventName":"e","other":\#(nest(limit - 1))}]"#,
            #"2["message",{"eventName":\#(nest(limit - 1))}]"#,
            #"2["message",{"eventName":"e"},\#(nest(limit))]"#,
        ]
        taken += Self.payloads.map { name, payload, ack, _ in "2\(ack.map(String.init) ?? "")[\"\(name)\",\(payload)]" }
        let left = [
            "2", "2[]", "2[1]", "2{}", #"2 ["message",{"eventName":"e"}]"#, #"2/admin,["message",{"eventName":"e"}]"#,
            #"21234567890123456["members",{"channel":"c"}]"#, #"2["message",{"eventName":"e",}]"#,
            #"2["message",{"eventName":"e"}"#, #"2["message",{"eventName":"e"}]x"#, #"2["message",{"eventName":"e"}]]"#,
            #"2["message",{"eventName":"e","message":[1,]}]"#, #"2["message",{"eventName":"e\u12"}]"#,
            "2[\"message\",{\"eventName\":\"e\u{01}\"}]", #"2["message",{"eventName":"e","message":tru}]"#,
            #"2["message",{"eventName":"e","echo":01}]"#, #"2["message",{"eventName":"e"},[1,]]"#, #"2["message",{"eventName" "e"}]"#,
            #"2["message",{"eventName":"e","message":\#(nest(limit))}]"#, #"2["message",{"eventName":"e","other":\#(nest(limit))}]"#,
            #"2["message",{"eventName":\#(nest(limit))}]"#, #"2["message",{"eventName":"e"},\#(nest(limit + 1))]"#,
            #"3["message",{"eventName":"e"}]"#, #"0{}"#, #"51-["message",{"eventName":"e"}]"#,
        ]
        for text in taken {
            guard let got = onePass(text) else {
                XCTFail("left to the decoder: \(text.prefix(120))")
                continue
            }
            let expected = decoderVerdict(text)
            XCTAssertEqual(got, expected, String(text.prefix(120)))
            if case .success(.message(_, _, .raw(let a), _)) = got, case .success(.message(_, _, .raw(let b), _)) = expected {
                XCTAssertEqual(a.bytes, b.bytes, "the same body text: \(text.prefix(120))")
            }
        }
        for text in left {
            XCTAssertNil(onePass(text), String(text.prefix(120)))
        }
        XCTAssertEqual(decoderVerdict(#"2["message",{"eventName":"e","message":\#(nest(limit))}]"#), .failure(.malformed))
        XCTAssertEqual(decoderVerdict(#"2["message",{"eventName":"e","message":\#(nest(limit - 1))}]"#),
                       .success(.message(channel: nil, eventName: "e", message: try JSONValue.parse(nest(limit - 1)), echo: nil)))
    }
}
