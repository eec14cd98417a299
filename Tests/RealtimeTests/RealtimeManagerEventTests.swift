import NIOCore
import NIOEmbedded
import RTJSON
import SocketIO
import XCTest

@testable import Realtime

/// PROTOCOL.md §2–§4 on a fake connection: argument checks, listener dispatch, user
/// events, connection life.
final class RealtimeManagerEventTests: XCTestCase {
    var loop: EmbeddedEventLoop!
    var conn: FakeConnection!
    var m: RealtimeManager!

    override func setUp() {
        loop = EmbeddedEventLoop()
        conn = FakeConnection(eventLoop: loop)
        m = RealtimeManager(config: RealtimeConfig(baseURL: "http://127.0.0.1:1"), connection: conn)
        m.open()
        conn.serverAccepts()
    }

    func assertRefused(_ message: String, _ call: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try call(), line: line) { error in
            XCTAssertEqual((error as? RealtimeError)?.message, message, line: line)
            XCTAssertEqual((error as? RealtimeError)?.value, ["message": .string(message), "code": "invalid_argument"], line: line)
        }
    }

    // MARK: §3 argument checks

    func testBadArgumentsAreRefusedBeforeAnythingIsSent() {
        for name in ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"] {
            assertRefused("eventName must not be a reserved name ('\(name)')") { try m.broadcast(eventName: name, message: 1) }
        }
        assertRefused("eventName must not be empty") { try m.broadcast(eventName: "", message: 1) }
        assertRefused("eventName must not start with 'channel:' ('channel:join')") {
            try m.send(channel: "c", eventName: "channel:join", message: 1)
        }
        assertRefused("eventName must not start with 'user:' ('user:signin')") { try m.broadcast(eventName: "user:signin", message: 1) }
        assertRefused("channel must not be empty") { try m.send(channel: "", eventName: "e", message: 1) }
        assertRefused("channel must not be empty") { try m.join(channel: "") }
        assertRefused("channel must not be empty") { try m.leave(channel: "") }
        assertRefused("channel must be at most 256 bytes (got 257)") { try m.join(channel: String(repeating: "x", count: 257)) }
        assertRefused("channel must be at most 256 bytes (got 258)") { try m.join(channel: String(repeating: "é", count: 129)) }
        assertRefused("message.a[2] must be a finite number (JSON has no NaN or infinity)") {
            try m.broadcast(eventName: "e", message: ["a": [1, .double(.nan)]])
        }
        assertRefused("data must be a finite number (JSON has no NaN or infinity)") { try m.updateProfile(.double(.infinity)) }
        XCTAssertEqual(conn.sent, [])
    }

    /// The checks are skipped only for the very channel and event name of the last message
    /// sent from text: anything else, however close, is still checked, with the same errors.
    func testChecksStillRunAfterATextMessageWasSent() throws {
        let text = JSONValue.raw(try RawJSON(validating: Array("{}".utf8)))
        let long = String(repeating: "x", count: 257)
        try m.send(channel: "c", eventName: "e", message: text)
        try m.broadcast(eventName: "e", message: text)
        for _ in 0..<2 {
            assertRefused("eventName must not be a reserved name ('connect')") { try m.send(channel: "c", eventName: "connect", message: text) }
            assertRefused("eventName must not be a reserved name ('connect')") { try m.broadcast(eventName: "connect", message: text) }
            assertRefused("eventName must not be empty") { try m.send(channel: "c", eventName: "", message: text) }
            assertRefused("eventName must not start with 'user:' ('user:e')") { try m.broadcast(eventName: "user:e", message: text) }
            assertRefused("channel must not be empty") { try m.send(channel: "", eventName: "e", message: text) }
            assertRefused("channel must be at most 256 bytes (got 257)") { try m.send(channel: long, eventName: "e", message: text) }
            assertRefused("eventName must not start with 'channel:' ('channel:e')") {
                try m.send(channel: "c", eventName: "channel:e", message: text)
            }
            try m.send(channel: "c", eventName: "e", message: text)
            try m.broadcast(eventName: "e", message: text)
        }
        XCTAssertEqual(conn.frames, Array(repeating: [#"42["message",{"channel":"c","eventName":"e","message":{}}]"#,
                                                      #"42["message",{"eventName":"e","message":{}}]"#], count: 3).flatMap { $0 })
    }

    func testLimitsAreInclusive() throws {
        try m.join(channel: String(repeating: "é", count: 128))  // exactly 256 bytes
        try m.broadcast(eventName: "message", message: .null)  // not reserved by the contract
        try m.broadcast(eventName: "channelx", message: 1)
        XCTAssertEqual(conn.sent.count, 3)
    }

    // MARK: §4 dispatch

    func testListenersRunInRegistrationOrderAfterCatchAll() {
        var calls: [String] = []
        m.on("chat") { calls.append("on1 \($0.channel ?? "-") \($0.message)") }
        m.onAny { name, data in calls.append("any \(name) \(data.message)") }
        m.once("chat") { _ in calls.append("once") }
        m.on("chat") { _ in calls.append("on2") }
        m.on("other") { _ in calls.append("other") }
        conn.serverDelivers("chat", Wire.delivered("room", "hi"))
        conn.serverDelivers("chat", Wire.delivered(nil, 2))
        XCTAssertEqual(calls, [
            "any chat \(JSONValue.string("hi"))", "on1 room \(JSONValue.string("hi"))", "once", "on2",
            "any chat \(JSONValue.integer(2))", "on1 - \(JSONValue.integer(2))", "on2",
        ])
    }

    func testOffRemovesOneListenerOrAllOfAnEvent() {
        var calls: [String] = []
        let a = m.on("e") { _ in calls.append("a") }
        m.on("e") { _ in calls.append("b") }
        m.on("f") { _ in calls.append("f") }
        m.off("f", token: a)  // wrong event: nothing removed
        m.off("e", token: a)
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        m.off("e")
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        conn.serverDelivers("f", Wire.delivered(nil, 1))
        XCTAssertEqual(calls, ["b", "f"])
    }

    func testOffAnyAndRemoveListenerAndRemoveAll() {
        var calls: [String] = []
        let any1 = m.onAny { _, _ in calls.append("any1") }
        m.onAny { _, _ in calls.append("any2") }
        let e = m.on("e") { _ in calls.append("e") }
        m.offAny(token: any1)
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        m.removeListener(token: e)
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        m.offAny()
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        XCTAssertEqual(calls, ["any2", "e", "any2"])

        m.onConnect { calls.append("connect") }
        m.onJoin { _ in calls.append("join") }
        m.onUserEvent { _, _ in calls.append("user") }
        m.removeAllListeners()
        conn.transportDrops()
        conn.serverAccepts()
        conn.serverDelivers("channel:join", Wire.delivered("c", ["id": "x", "data": .null]))
        conn.serverDelivers("user:signin", ["user:signin", .null])
        XCTAssertEqual(calls, ["any2", "e", "any2"])
    }

    /// The catch-all list is handed to the dispatch without a copy: a catch-all listener that
    /// removes a later one, or adds one, during a dispatch still gets the usual answers (the
    /// removed one is not called, the added one only from the next event).
    func testCatchAllListenersChangedDuringADispatch() {
        var calls: [String] = []
        var second: ListenerToken = 0
        let manager: RealtimeManager = m
        m.onAny { [weak manager] name, _ in
            calls.append("first \(name)")
            manager?.offAny(token: second)
            manager?.onAny { name, _ in calls.append("added \(name)") }
        }
        second = m.onAny { name, _ in calls.append("second \(name)") }
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        conn.serverDelivers("f", Wire.delivered(nil, 1))
        XCTAssertEqual(calls, ["first e", "first f", "added f"])
    }

    func testOnceFiresOnceEvenWhenItsCallbackTriggersTheEventAgain() {
        var count = 0
        m.once("e") { [conn] _ in
            count += 1
            conn!.serverDelivers("e", Wire.delivered(nil, 2))
        }
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        XCTAssertEqual(count, 1)
    }

    func testAListenerRemovedDuringDispatchIsNotCalled() {
        var calls: [String] = []
        var second: ListenerToken = 0
        m.on("e") { [m] _ in
            calls.append("first")
            m!.removeListener(token: second)
        }
        second = m.on("e") { _ in calls.append("second") }
        conn.serverDelivers("e", Wire.delivered(nil, 1))
        XCTAssertEqual(calls, ["first"])
    }

    func testPresenceEventsReachBothTheConvenienceAndThePlainListeners() {
        var calls: [String] = []
        m.on("channel:join") { calls.append("on-join \($0.channel!) \($0.message["id"]!)") }
        m.onJoin { calls.append("onJoin \($0.message["data"]!)") }
        m.onLeave { calls.append("onLeave \($0.channel!)") }
        m.onUpdate { calls.append("onUpdate \($0.message["data"]!)") }
        conn.serverDelivers("channel:join", Wire.delivered("room", ["id": "s2", "data": ["n": 1]]))
        conn.serverDelivers("channel:update", Wire.delivered("room", ["id": "s2", "data": 5]))
        conn.serverDelivers("channel:leave", Wire.delivered("room", ["id": "s2", "data": .null]))
        XCTAssertEqual(calls, [
            "on-join room \(JSONValue.string("s2"))", "onJoin \(JSONValue.object(["n": 1]))",
            "onUpdate \(JSONValue.integer(5))", "onLeave room",
        ])
    }

    func testUserEventsGoToOnUserEventWithNameAndSession() {
        var got: [String] = []
        m.onUserEvent { name, session in got.append("\(name) \(session["token"]?.stringValue ?? "null")") }
        m.on("user:signout") { got.append("on \($0.message["token"]?.stringValue ?? "null")") }
        for name in ["user:signin", "user:signout", "user:update", "user:delete", "user:pwdchange", "user:emailchange", "user:phonechange"] {
            conn.serverDelivers(name, [.string(name), ["token": "t"]])
        }
        conn.serverDelivers("user:signin", ["user:signin", .null])
        conn.serverDelivers("user:unknown", ["user:unknown", .null])  // not one of the seven
        XCTAssertEqual(got, [
            "user:signin t", "on t", "user:signout t", "user:update t", "user:delete t", "user:pwdchange t",
            "user:emailchange t", "user:phonechange t", "user:signin null",
        ])
    }

    func testUnwrappedPayloadsArriveAsTheMessage() {
        var got: [EventData] = []
        m.on("plain") { got.append($0) }
        conn.serverDelivers("plain", ["just a string"])
        conn.serverDelivers("plain", [])
        conn.serverDelivers("plain", [["channel": "c", "message": 1, "extra": true]])
        XCTAssertEqual(got, [
            EventData(channel: nil, message: "just a string"), EventData(channel: nil, message: .null),
            EventData(channel: nil, message: ["channel": "c", "message": 1, "extra": true]),
        ])
    }

    /// With `messagesAsText` each argument arrives as text (`rawFromDepth` 1): the envelope
    /// is read from the text with the tree branch's rules, and an object or array body
    /// stays text for the Lua bridge.
    func testEnvelopesReadFromTextAgreeWithTrees() throws {
        let texts = [
            #"{"channel":"c","message":{"a":1}}"#, #"{"message":{"a":[1,2]}}"#, #"{"message":"str"}"#,
            #"{"channel":null,"message":5}"#, #"{"channel":7,"message":5}"#, #"{"channel":{"x":1},"message":[true]}"#,
            #"{"channel":"c","message":1,"extra":true}"#, #"{"channel":"c"}"#, "{}", "[1,2]",
            #"{"message":1,"message":{"b":2}}"#, #"{"channel":"a","channel":"b","message":null}"#,
            #"{ "channel" : "c\"q" , "message" : {"s":"}\\"} }"#, #"{"extra":1,"message":2}"#,
        ]
        for text in texts {
            let tree = try JSONValue.parse(text)
            let raw = JSONValue.raw(try RawJSON(validating: Array(text.utf8)))
            let fromText = EventData(args: [raw])
            XCTAssertEqual(fromText, EventData(args: [tree]), text)
            XCTAssertEqual(fromText.channel, EventData(args: [tree]).channel, text)  // == of messages sees through text
        }
        let data = EventData(args: [.raw(try RawJSON(validating: Array(#"{"channel":"c","message":{"a":"x"}}"#.utf8)))])
        guard case .raw(let body) = data.message else { return XCTFail("the body should stay text") }
        XCTAssertEqual(String(decoding: body.bytes, as: UTF8.self), #"{"a":"x"}"#)
        guard case .string("str") = EventData(args: [.raw(try RawJSON(validating: Array(#"{"message":"str"}"#.utf8)))]).message
        else { return XCTFail("a plain body is a plain value") }
    }

    // MARK: §2 connection life

    func testConnectListenersRunAfterTheReplay() throws {
        try m.join(channel: "A")
        _ = conn.takeSent()
        var sentAtConnect: [OutboundEmit] = []
        m.onConnect { [conn] in sentAtConnect = conn!.sent }
        conn.transportDrops()
        conn.serverAccepts()
        XCTAssertEqual(sentAtConnect, [Wire.join("A")])
    }

    func testAuthRefusalIsReportedWithTheServersMessageAndEndsTheConnection() {
        var errors: [RealtimeError] = []
        m.onError { errors.append($0) }
        conn.transportDrops()
        conn.delegate?.socketDidFail(
            error: SocketIOError(.connectRefused, "connection refused", data: ["message": "Invalid client key"]),
            willReconnect: false)
        XCTAssertEqual(errors, [RealtimeError(message: "Invalid client key", code: "connect_refused", value: ["message": "Invalid client key"])])
        XCTAssertFalse(m.isOpen)
    }

    func testTransportFailuresAreReportedAndReconnectAttemptsForwarded() {
        var log: [String] = []
        m.onError { log.append("error \($0.code ?? "") \($0.message)") }
        m.onReconnectAttempt { log.append("attempt \($0)") }
        conn.transportDrops()
        conn.delegate?.socketWillReconnect(attempt: 1)
        conn.delegate?.socketDidFail(error: SocketIOError(.transport, "connection refused (ECONNREFUSED)"), willReconnect: true)
        conn.delegate?.socketWillReconnect(attempt: 2)
        conn.delegate?.socketDidFail(error: SocketIOError(.timeout, "no CONNECT within 20000 ms"), willReconnect: true)
        XCTAssertEqual(log, [
            "attempt 1", "error transport_error connection refused (ECONNREFUSED)",
            "attempt 2", "error timeout no CONNECT within 20000 ms",
        ])
        XCTAssertTrue(m.isOpen, "still trying")
    }
}
