import RTJSON
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
            XCTAssertFalse(ClientCommand.isReservedEventName(name), name)
            XCTAssertEqual(try parse("message", [["eventName": .string(name)]]).get(), .message(channel: nil, eventName: name, message: nil, echo: nil), name)
        }
        XCTAssertTrue(ClientCommand.isReservedEventName("channel:"))
        XCTAssertTrue(ClientCommand.isReservedEventName("user:x"))
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
}
