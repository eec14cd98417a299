import NIOCore
import NIOEmbedded
import RTJSON
import SocketIO
import XCTest

@testable import Realtime

/// PROTOCOL.md §3 and §6 on a fake connection: what goes on the wire, when, in which order.
final class RealtimeManagerSendingTests: XCTestCase {
    var loop: EmbeddedEventLoop!
    var conn: FakeConnection!

    override func setUp() {
        loop = EmbeddedEventLoop()
        conn = FakeConnection(eventLoop: loop)
    }

    func manager(_ configure: (inout RealtimeOptions) -> Void = { _ in }) -> RealtimeManager {
        var options = RealtimeOptions()
        configure(&options)
        let m = RealtimeManager(config: RealtimeConfig(baseURL: "http://127.0.0.1:1", options: options), connection: conn)
        m.open()
        return m
    }

    func testOnlineEmitsGoOutAtOnceCarryingThePerCallEcho() throws {
        let m = manager()
        conn.serverAccepts()
        try m.broadcast(eventName: "hi", message: ["n": 1], echo: false)
        try m.send(channel: "room", eventName: "chat", message: "x", echo: true)
        try m.send(channel: "room", eventName: "chat", message: .binary([0, 255]))
        try m.join(channel: "room", echo: false)
        try m.leave(channel: "room", echo: true)
        try m.updateProfile(["name": "a"], echo: false)
        XCTAssertEqual(conn.takeSent(), [
            Wire.message("hi", ["n": 1], echo: false),
            Wire.message("chat", "x", channel: "room", echo: true),
            Wire.message("chat", .binary([0, 255]), channel: "room"),
            Wire.join("room", echo: false),
            Wire.leave("room", echo: true),
            Wire.update(["name": "a"], echo: false),
        ])
    }

    /// A body that is already JSON text (what a Lua script sends) makes the whole payload
    /// text, with the same meaning as the tree form.
    func testATextBodyMakesTheWholePayloadText() throws {
        let m = manager()
        conn.serverAccepts()
        let body = JSONValue.raw(try RawJSON(validating: Array(#"{"seq":1,"pad":"x"}"#.utf8)))
        try m.send(channel: "r\"oom", eventName: "chat/é", message: body, echo: false)
        try m.broadcast(eventName: "hi", message: body)
        let sent = conn.takeSent()
        XCTAssertEqual(sent, [
            Wire.message("chat/é", ["seq": 1, "pad": "x"], channel: "r\"oom", echo: false),
            Wire.message("hi", ["seq": 1, "pad": "x"]),
        ])
        guard sent.count == 2, case .raw(let first) = sent[0].payload, case .raw(let second) = sent[1].payload else {
            return XCTFail("payloads should be text: \(sent)")
        }
        XCTAssertEqual(String(decoding: first.bytes, as: UTF8.self),
                       #"{"channel":"r\"oom","eventName":"chat/é","message":{"seq":1,"pad":"x"},"echo":false}"#)
        XCTAssertEqual(String(decoding: second.bytes, as: UTF8.self), #"{"eventName":"hi","message":{"seq":1,"pad":"x"}}"#)
        XCTAssertNoThrow(try RawJSON(validating: first.bytes))
    }

    /// Online, a text body is written straight into the packet (`emit(_:argumentText:)`);
    /// offline it is buffered and later flushed through the general encoder. Both give the
    /// exact frame python-socketio reads, for plain, escaped, unicode and nested bodies.
    func testTextBodiesGoOutAsTheSamePacketOnlineAndAfterBuffering() throws {
        let bodies = [#"{"seq":1,"ts":1764486280.25,"pad":"xx"}"#, #"{"q":"a\"b\\c\n\u0001"}"#, #"{"u":"é€😀"}"#,
                      #"{"a":[1,{"b":[true,null,-2.5e-7]}],"o":{},"e":[]}"#, #""just text""#]
        let expected = bodies.map { #"42["message",{"channel":"c\"h/é","eventName":"ev😀","message":"# + $0 + #","echo":false}]"# }
            + bodies.map { #"42["message",{"eventName":"all","message":"# + $0 + "}]" }
        let m = manager()
        func sendAll() throws {
            for body in bodies {
                try m.send(channel: "c\"h/é", eventName: "ev😀", message: .raw(try RawJSON(validating: Array(body.utf8))), echo: false)
            }
            for body in bodies { try m.broadcast(eventName: "all", message: .raw(try RawJSON(validating: Array(body.utf8)))) }
        }
        try sendAll()
        conn.serverAccepts()
        XCTAssertEqual(conn.frames, expected, "buffered offline, flushed on connect")
        XCTAssertEqual(conn.textEmits, 0)
        try sendAll()
        XCTAssertEqual(Array(conn.frames.dropFirst(expected.count)), expected, "online")
        XCTAssertEqual(conn.textEmits, expected.count, "online text bodies take the direct path")
    }

    /// The payload head of the last text message is kept; any change of channel or event
    /// name (or none for a broadcast) must write its own, and the echo is never part of it.
    func testChannelsEventsAndEchoChangingFromSendToSend() throws {
        let m = manager()
        conn.serverAccepts()
        let body = JSONValue.raw(try RawJSON(validating: Array("1".utf8)))
        try m.send(channel: "a", eventName: "e", message: body, echo: true)
        try m.send(channel: "a", eventName: "e", message: body, echo: false)
        try m.send(channel: "a", eventName: "e", message: body)
        try m.send(channel: "b", eventName: "e", message: body)
        try m.broadcast(eventName: "e", message: body)
        try m.send(channel: "b", eventName: "f", message: body)
        try m.send(channel: "a", eventName: "e", message: body)
        try m.send(channel: "e", eventName: "a", message: body)
        XCTAssertEqual(conn.frames, [
            #"42["message",{"channel":"a","eventName":"e","message":1,"echo":true}]"#,
            #"42["message",{"channel":"a","eventName":"e","message":1,"echo":false}]"#,
            #"42["message",{"channel":"a","eventName":"e","message":1}]"#,
            #"42["message",{"channel":"b","eventName":"e","message":1}]"#,
            #"42["message",{"eventName":"e","message":1}]"#,
            #"42["message",{"channel":"b","eventName":"f","message":1}]"#,
            #"42["message",{"channel":"a","eventName":"e","message":1}]"#,
            #"42["message",{"channel":"e","eventName":"a","message":1}]"#,
        ])
        XCTAssertEqual(conn.textEmits, 8)
    }

    func testATextBodyThatFindsTheTransportGoneIsBufferedNotLost() throws {
        let m = manager()
        conn.serverAccepts()
        conn.failNextEmit = SocketIOError(.notConnected, "gone")
        try m.send(channel: "c", eventName: "late", message: .raw(try RawJSON(validating: Array(#"{"n":1}"#.utf8))), echo: true)
        XCTAssertEqual(conn.takeSent(), [])
        conn.transportDrops()
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.message("late", ["n": 1], channel: "c", echo: true)])
        XCTAssertEqual(conn.frames, [#"42["message",{"channel":"c","eventName":"late","message":{"n":1},"echo":true}]"#])
    }

    func testOfflineEmitsAreBufferedAndFlushedInOrderWithTheirEcho() throws {
        let m = manager()
        try m.broadcast(eventName: "a", message: 1)
        try m.send(channel: "c", eventName: "b", message: 2, echo: false)
        try m.broadcast(eventName: "c", message: 3, echo: true)
        XCTAssertEqual(conn.sent, [])
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [
            Wire.message("a", 1), Wire.message("b", 2, channel: "c", echo: false), Wire.message("c", 3, echo: true),
        ])
        // Flushed once: a reconnect does not send them again.
        conn.transportDrops()
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [])
    }

    func testWithoutBufferingOfflineEmitsAreDropped() throws {
        let m = manager { $0.bufferMessages = false }
        try m.broadcast(eventName: "lost", message: 1)
        conn.serverAccepts()
        try m.broadcast(eventName: "kept", message: 2)
        conn.transportDrops()
        try m.send(channel: "c", eventName: "lost", message: 3)
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.message("kept", 2)])
    }

    func testFirstConnectSendsProfileThenJoinsThenBuffer() throws {
        let m = manager()
        try m.broadcast(eventName: "m1", message: 1)
        try m.join(channel: "A", echo: false)
        try m.updateProfile(["p": 1])
        try m.join(channel: "B")
        try m.broadcast(eventName: "m2", message: 2)
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [
            Wire.update(["p": 1]), Wire.join("A", echo: false), Wire.join("B"), Wire.message("m1", 1), Wire.message("m2", 2),
        ])
    }

    func testReconnectRejoinsWithTheirEchoAfterTheProfileAndBeforeTheBacklog() throws {
        let m = manager()
        conn.serverAccepts()
        try m.updateProfile(["name": "a"], echo: false)
        try m.join(channel: "A", echo: true)
        try m.join(channel: "B")
        try m.join(channel: "C")
        try m.leave(channel: "B")
        _ = conn.takeSent()

        conn.transportDrops()
        try m.broadcast(eventName: "y", message: 1)
        try m.send(channel: "A", eventName: "z", message: 2)
        conn.serverAccepts(sid: "sid-2")
        XCTAssertEqual(conn.takeSent(), [
            Wire.update(["name": "a"], echo: false), Wire.join("A", echo: true), Wire.join("C"),
            Wire.message("y", 1), Wire.message("z", 2, channel: "A"),
        ])
    }

    func testOfflineMembershipIsFoldedIntoState() throws {
        let m = manager()
        conn.serverAccepts()
        try m.join(channel: "kept")
        _ = conn.takeSent()
        conn.transportDrops()
        try m.join(channel: "temp")
        try m.leave(channel: "temp")  // join then leave offline: neither is sent
        try m.updateProfile(1)
        try m.updateProfile(2, echo: true)  // only the latest profile
        try m.join(channel: "kept", echo: false)  // re-join updates the echo, keeps the place
        try m.join(channel: "new")
        try m.leave(channel: "gone-anyway")
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.update(2, echo: true), Wire.join("kept", echo: false), Wire.join("new")])
    }

    func testANullProfileIsNotReplayed() throws {
        let m = manager()
        try m.updateProfile(["x": 1])
        try m.updateProfile(.null)
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [])
    }

    func testWithoutAutoJoinNothingIsReplayedAndOfflineMembershipIsAPlainEmit() throws {
        let m = manager { $0.autoJoinChannels = false }
        conn.serverAccepts()
        try m.updateProfile(["p": 1])
        try m.join(channel: "A")
        _ = conn.takeSent()
        conn.transportDrops()
        try m.join(channel: "B")
        try m.leave(channel: "B")
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.join("B"), Wire.leave("B")])
    }

    /// Membership and profile are state, not volatile messages: even with neither auto-join
    /// nor buffering, what a script set up before connecting reaches the server.
    func testWithoutAutoJoinOrBufferingOfflineMembershipIsStillSent() throws {
        let m = manager {
            $0.autoJoinChannels = false
            $0.bufferMessages = false
        }
        try m.updateProfile(["p": 1])
        try m.join(channel: "A")
        try m.broadcast(eventName: "lost", message: 1)
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.update(["p": 1]), Wire.join("A")])
        // Not replayed after a reconnect (no auto-join), and not sent twice.
        conn.transportDrops()
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [])
    }

    func testTheFirstDroppedMessageIsLoggedOnce() throws {
        final class Lines: @unchecked Sendable { var list: [String] = [] }  // one thread: the embedded loop's
        let warnings = Lines()
        var options = RealtimeOptions()
        options.bufferMessages = false
        var config = RealtimeConfig(baseURL: "http://127.0.0.1:1", options: options)
        config.log = RealtimeLog(debug: nil, warn: { warnings.list.append($0) })
        let m = RealtimeManager(config: config, connection: conn)
        m.open()
        try m.join(channel: "A")
        XCTAssertEqual(warnings.list, [])
        try m.broadcast(eventName: "lost", message: 1)
        try m.send(channel: "A", eventName: "lost", message: 2)
        XCTAssertEqual(warnings.list.count, 1)
        XCTAssertTrue(warnings.list.first?.contains("dropped") ?? false, "\(warnings.list)")
    }

    func testWithoutBufferingAutoJoinStillReplaysMembership() throws {
        let m = manager { $0.bufferMessages = false }
        try m.join(channel: "A")
        try m.broadcast(eventName: "lost", message: 1)
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.join("A")])
    }

    func testAnEmitThatFindsTheTransportGoneIsBufferedNotLost() throws {
        let m = manager()
        conn.serverAccepts()
        conn.failNextEmit = SocketIOError(.notConnected, "gone")
        try m.broadcast(eventName: "late", message: 1)
        conn.transportDrops()
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.message("late", 1)])
    }

    func testOversizedPayloadThrowsToTheCaller() throws {
        let m = manager()
        conn.serverAccepts()
        conn.failNextEmit = SocketIOError(.payloadTooLarge, "packet of 2000000 bytes exceeds maxPayload 1000000")
        XCTAssertThrowsError(try m.broadcast(eventName: "big", message: "x")) { error in
            XCTAssertEqual((error as? RealtimeError)?.code, "payload_too_large")
            XCTAssertEqual((error as? RealtimeError)?.message, "packet of 2000000 bytes exceeds maxPayload 1000000")
        }
    }

    func testAFailingBufferedEmitIsReportedAndTheRestIsStillSent() throws {
        let m = manager()
        var errors: [RealtimeError] = []
        m.onError { errors.append($0) }
        try m.broadcast(eventName: "first", message: 1)
        try m.broadcast(eventName: "second", message: 2)
        conn.failNextEmit = SocketIOError(.payloadTooLarge, "too large")
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.message("second", 2)])
        XCTAssertEqual(errors.map(\.message), ["too large"])
    }

    func testCloseFlushesDisconnectsForGoodAndCompletesWhenTheSocketIsClosed() throws {
        let m = manager()
        var log: [String] = []
        m.onDisconnect { log.append("disconnect \($0)") }
        conn.serverAccepts()
        XCTAssertTrue(m.isOpen)
        XCTAssertTrue(m.isConnected())
        try m.broadcast(eventName: "last", message: 1)
        m.close { log.append("closed") }
        XCTAssertFalse(m.isOpen)
        XCTAssertFalse(m.isConnected())
        XCTAssertEqual(conn.disconnectCalls, 1)
        XCTAssertEqual(conn.takeSent(), [Wire.message("last", 1)])
        XCTAssertEqual(log, ["disconnect io client disconnect"], "the socket is not closed yet")
        conn.transportClosed()
        XCTAssertEqual(log, ["disconnect io client disconnect", "closed"])

        try m.broadcast(eventName: "while-closed", message: 1)  // buffered for the next open()
        m.open()
        m.open()  // already open: no second connect
        XCTAssertEqual(conn.connectCalls, 2)
        XCTAssertTrue(m.isOpen)
        conn.serverAccepts()
        XCTAssertEqual(conn.takeSent(), [Wire.message("while-closed", 1)])
    }

    func testEveryCloseCompletes() {
        let m = manager()
        var closed = 0
        conn.serverAccepts()
        m.close { closed += 1 }
        m.close { closed += 1 }
        XCTAssertEqual(closed, 0)
        conn.transportClosed()
        XCTAssertEqual(closed, 2)
    }

    func testOpenRightAfterCloseConnectsAgain() throws {
        let m = manager()
        conn.serverAccepts()
        m.close()
        m.open()
        XCTAssertTrue(m.isOpen)
        XCTAssertEqual(conn.connectCalls, 2)
        conn.serverAccepts(sid: "sid-2")
        try m.broadcast(eventName: "still-here", message: 1)
        XCTAssertEqual(conn.takeSent(), [Wire.message("still-here", 1)])
    }

    func testCloseWhileOfflineStopsReconnecting() {
        let m = manager()
        conn.serverAccepts()
        conn.transportDrops()
        XCTAssertTrue(m.isOpen, "waiting to reconnect is still open")
        var closed = false
        m.close { closed = true }
        XCTAssertFalse(m.isOpen)
        XCTAssertEqual(conn.disconnectCalls, 1)
        conn.transportClosed()
        XCTAssertTrue(closed)
        XCTAssertEqual(conn.takeSent(), [], "nothing to flush while offline")
    }

    func testSocketIdOnlyWhileConnected() {
        let m = manager()
        XCTAssertNil(m.getSocketId())
        XCTAssertFalse(m.isConnected())
        conn.serverAccepts(sid: "abc")
        XCTAssertEqual(m.getSocketId(), "abc")
        conn.transportDrops()
        XCTAssertNil(m.getSocketId())
    }

    func testNotOpenedUntilOpen() {
        let m = RealtimeManager(config: RealtimeConfig(baseURL: "http://127.0.0.1:1"), connection: conn)
        XCTAssertFalse(m.isOpen)
        XCTAssertEqual(conn.connectCalls, 0)
        m.open()
        XCTAssertEqual(conn.connectCalls, 1)
    }
}
