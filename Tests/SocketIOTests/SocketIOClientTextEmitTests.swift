import Foundation
import RTJSON
import XCTest
@testable import SocketIO

/// `emit(_:argumentText:)`, the send path of a script's messages: the packet is written once
/// from the argument's text. What reaches the server must be byte for byte what the general
/// `emit` sends for the same argument.
final class SocketIOClientTextEmitTests: XCTestCase {
    static let arguments = [
        #"{"channel":"c","eventName":"e","message":{"seq":1,"ts":1764486280.25,"pad":"xx"},"echo":false}"#,
        #"{"q":"a\"b\\c\n\u0001"}"#,
        #"{"u":"é€😀"}"#,
        #"{"a":[1,{"b":[true,null,-2.5e-7]}],"o":{},"e":[]}"#,
        #"""# + String(repeating: "y", count: 10_000) + #"""#,  // above the outbox's small-frame size
    ]

    func testTheServerGetsTheSameFrameAsFromTheGeneralEmit() throws {
        let mini = try MiniEngineServer()
        defer { mini.shutdown() }
        let h = ClientHarness(config: ClientHarness.config(url: mini.url))
        defer { h.shutdown() }
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect()

        let arguments = Self.arguments
        try h.onLoop { client in
            for argument in arguments {
                try client.emit("text \"ev\"") { $0.append(contentsOf: argument.utf8) }
                try client.emit("text \"ev\"", [.raw(try RawJSON(validating: Array(argument.utf8)))], ack: nil)
            }
        }
        let echoed = try h.waitFor("\(2 * arguments.count) echoes") { log -> [[JSONValue]]? in
            let events = log.compactMap { r -> [JSONValue]? in if case .event("text \"ev\"", let args, _) = r { args } else { nil } }
            return events.count >= 2 * arguments.count ? events : nil
        }
        let expected = arguments.flatMap { a in Array(repeating: #"42["text \"ev\"","# + a + "]", count: 2) }
        XCTAssertEqual(mini.received, expected)
        XCTAssertEqual(echoed, arguments.flatMap { a in Array(repeating: [try! JSONValue.parse(a)], count: 2) })
    }

    /// The frame head of the last event is kept; a different event name must not reuse it.
    func testEventNamesChangingFromEmitToEmit() throws {
        let mini = try MiniEngineServer()
        defer { mini.shutdown() }
        let h = ClientHarness(config: ClientHarness.config(url: mini.url))
        defer { h.shutdown() }
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect()
        let events = ["message", "message", "join", "message", "é\"v", "é\"v", "message"]
        try h.onLoop { client in
            for (i, event) in events.enumerated() { try client.emit(event) { $0.append(contentsOf: String(i).utf8) } }
        }
        try h.waitFor("\(events.count) echoes") { log in
            log.filter { if case .event = $0 { true } else { false } }.count == events.count ? true : nil
        }
        XCTAssertEqual(mini.received, [#"42["message",0]"#, #"42["message",1]"#, #"42["join",2]"#, #"42["message",3]"#,
                                       #"42["é\"v",4]"#, #"42["é\"v",5]"#, #"42["message",6]"#])
    }

    func testRefusalsMatchTheGeneralEmit() throws {
        let mini = try MiniEngineServer()
        defer { mini.shutdown() }
        let h = ClientHarness(config: ClientHarness.config(url: mini.url))
        defer { h.shutdown() }

        XCTAssertThrowsError(try h.onLoop { try $0.emit("e") { $0.append(contentsOf: "1".utf8) } }) { error in
            XCTAssertEqual(error as? SocketIOError, SocketIOError(.notConnected, "cannot emit 'e': not connected"))
        }
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect()

        // The mini server's maxPayload is 1,000,000 bytes: `42["e",` + argument + `]` is 8 bytes more.
        let fits = #"""# + String(repeating: "z", count: 999_990) + #"""#
        let tooBig = #"""# + String(repeating: "z", count: 999_991) + #"""#
        XCTAssertThrowsError(try h.onLoop { try $0.emit("e") { $0.append(contentsOf: tooBig.utf8) } }) { error in
            XCTAssertEqual(error as? SocketIOError, SocketIOError(.payloadTooLarge,
                "event 'e' is 1000001 bytes, above the server's maxPayload of 1000000 bytes"))
        }
        XCTAssertThrowsError(try h.onLoop { try $0.emit("e", [.raw(try RawJSON(validating: Array(tooBig.utf8)))], ack: nil) }) { error in
            XCTAssertEqual(error as? SocketIOError, SocketIOError(.payloadTooLarge,
                "event 'e' is 1000001 bytes, above the server's maxPayload of 1000000 bytes"))
        }
        try h.onLoop { client in
            try client.emit("e") { $0.append(contentsOf: fits.utf8) }
            try client.emit("e") { $0.append(contentsOf: "[1]".utf8) }
        }
        try h.waitFor("both echoes") { log in
            log.filter { if case .event("e", _, _) = $0 { true } else { false } }.count == 2 ? true : nil
        }
        XCTAssertEqual(mini.received.map(\.count), [1_000_000, 11])
        XCTAssertEqual(mini.received.last, #"42["e",[1]]"#)
    }
}
