import CurlHTTP
import Foundation
import NIOCore
import NIOPosix
import RTJSON
import XCTest

@testable import Realtime

/// RealtimeManager with the real Socket.IO client against scripts/peer/reference_server.py
/// (python-socketio) on 127.0.0.1: PROTOCOL.md end to end.
class RealtimeInteropTests: XCTestCase {
    static let key = "ck-interop"
    static let master = "mk-interop"

    var group: MultiThreadedEventLoopGroup!
    var server: InteropServer!

    /// The server under test; `RealtimeHubInteropTests` runs this whole suite against rtlua's hub.
    class func makeServer() throws -> InteropServer {
        try PeerServer(["--key", key, "--master-key", master])
    }
    var managers: [LiveManager] = []

    override func setUpWithError() throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        server = try Self.makeServer()
    }

    override func tearDown() {
        for m in managers { m.close() }
        managers = []
        server?.stop()
        try? group?.syncShutdownGracefully()
    }

    func live(key: String? = key, session: String? = nil, _ configure: (inout RealtimeOptions) -> Void = { _ in }) throws -> LiveManager {
        var options = RealtimeOptions(reconnectionDelay: 100, reconnectionDelayMax: 400, timeout: 10000)
        configure(&options)
        let config = RealtimeConfig(baseURL: server.baseURL, clientKey: key, session: session, options: options)
        let m = try LiveManager(loop: group.next(), config: config)
        managers.append(m)
        return m
    }

    func testConnectsWithTheClientKeyAndGetsASocketId() throws {
        let a = try live()
        try a.connect()
        XCTAssertFalse(a.socketId.isEmpty)
        XCTAssertEqual(try a.onLoop { a.lifecycle }, ["connect"])
    }

    func testChannelMessagesBroadcastsAndEcho() throws {
        let a = try live()
        let b = try live { $0.echoMessages = false }
        try a.connect()
        try b.connect()
        // Each join is in before the next one: two connections are not ordered at the server.
        try a.onLoop { try a.manager.join(channel: "room") }
        try a.wait("own join") { $0.received("channel:join").count == 1 }
        try b.onLoop { try b.manager.join(channel: "room") }
        let bid = b.socketId
        try a.wait("b's join") { $0.received("channel:join").contains { $0.message["id"]?.stringValue == bid } }

        try a.onLoop { try a.manager.send(channel: "room", eventName: "chat", message: ["text": "from a"]) }
        try b.onLoop { try b.manager.send(channel: "room", eventName: "chat", message: ["text": "from b"]) }
        try a.onLoop { try a.manager.broadcast(eventName: "news", message: 1, echo: false) }
        try b.onLoop { try b.manager.broadcast(eventName: "marker", message: 2, echo: true) }
        try a.wait("both chats and the marker") { $0.received("chat").count == 2 && $0.received("marker").count == 1 }
        try b.wait("a's chat, the news and b's own marker") {
            $0.received("chat").count == 1 && $0.received("news").count == 1 && $0.received("marker").count == 1
        }
        // a echoes by default, b not (its auth echoMessages=false) unless the call says so.
        let chatsAtA = try a.onLoop { a.received("chat").map { $0.message["text"]?.stringValue ?? "?" } }
        XCTAssertEqual(chatsAtA.sorted(), ["from a", "from b"])
        XCTAssertEqual(try a.onLoop { Set(a.received("chat").map(\.channel)) }, ["room"])
        XCTAssertEqual(try b.onLoop { b.received("chat") }, [EventData(channel: "room", message: ["text": "from a"])])
        XCTAssertEqual(try a.onLoop { a.received("news") }, [], "per-call echo=false")
        XCTAssertEqual(try b.onLoop { b.received("news") }, [EventData(channel: nil, message: 1)])
    }

    func testPresenceBetweenTwoManagers() throws {
        let a = try live()
        let b = try live()
        try a.connect()
        try b.connect()
        try a.onLoop { try a.manager.join(channel: "lobby") }
        try a.wait("own join") { $0.received("channel:join").count == 1 }
        try b.onLoop {
            try b.manager.updateProfile(["name": "bob"])
            try b.manager.join(channel: "lobby")
        }
        let bid = b.socketId
        try a.wait("b joins") { $0.received("channel:join").count == 2 }
        XCTAssertEqual(try a.onLoop { a.received("channel:join").last }, EventData(channel: "lobby", message: ["id": .string(bid), "data": ["name": "bob"]]))

        try b.onLoop { try b.manager.updateProfile(["name": "bobby"], echo: false) }
        try a.wait("b updates") { $0.received("channel:update").count == 1 }
        XCTAssertEqual(try a.onLoop { a.received("channel:update") }, [EventData(channel: "lobby", message: ["id": .string(bid), "data": ["name": "bobby"]])])

        try b.onLoop { try b.manager.leave(channel: "lobby") }
        try a.wait("b leaves") { $0.received("channel:leave").count == 1 }
        try b.onLoop { try b.manager.join(channel: "lobby") }
        try a.wait("b rejoins") { $0.received("channel:join").count == 3 }
        b.close()
        try a.wait("b's disconnect reads as a leave") { $0.received("channel:leave").count == 2 }
        XCTAssertEqual(try a.onLoop { a.received("channel:leave").last?.message["id"] }, .string(bid))
    }

    func testGetMembersOverREST() throws {
        let a = try live()
        let b = try live()
        try a.connect()
        try b.connect()
        try a.onLoop {
            try a.manager.updateProfile(["n": 1])
            try a.manager.join(channel: "m")
        }
        try a.wait("own join") { $0.received("channel:join").count == 1 }
        try b.onLoop { try b.manager.join(channel: "m") }
        try a.wait("b in m") { $0.received("channel:join").count == 2 }

        let list = try members(a, "m").get()
        let ids = Set(list.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
        XCTAssertEqual(ids, [a.socketId, b.socketId])
        XCTAssertTrue(list.arrayValue?.contains(["id": .string(a.socketId), "data": ["n": 1]]) ?? false, "\(list)")
        XCTAssertEqual(try members(a, "nobody-here").get(), [])

        let stranger = try live(key: "wrong")
        guard case .failure(let error) = try members(stranger, "m") else { return XCTFail("wrong key must fail") }
        XCTAssertEqual(error.code, "invalid_client_key")
        XCTAssertEqual(error.value["status"], 401)
        XCTAssertEqual(error.value["items"]?.arrayValue?.first?["origin"], "client_error")
    }

    func testBinaryRoundTrip() throws {
        let a = try live()
        let b = try live()
        try a.connect()
        try b.connect()
        try b.onLoop { try b.manager.join(channel: "bin") }
        try b.wait("joined") { $0.received("channel:join").count == 1 }
        let bytes: [UInt8] = [0, 1, 2, 0xff, 0xfe, 0x80] + Array(repeating: 7, count: 1000)
        try a.onLoop { try a.manager.send(channel: "bin", eventName: "blob", message: ["bytes": .binary(bytes), "n": 2]) }
        try b.wait("blob") { $0.received("blob").count == 1 }
        XCTAssertEqual(try b.onLoop { b.received("blob") }, [EventData(channel: "bin", message: ["bytes": .binary(bytes), "n": 2])])
    }

    func testUserEventsFromTheAdminCall() throws {
        let a = try live(session: "sess-a")
        let b = try live(session: "sess-b")
        try a.connect()
        try b.connect()
        let session: JSONValue = ["token": "sess-a", "userId": "u1"]
        XCTAssertEqual(try admin(["event": "user:signin", "session": session, "to": "sess-a"]), ["delivered": 1])
        try a.wait("user:signin") { $0.userEvents.count == 1 }
        XCTAssertEqual(try admin(["event": "user:signout", "session": .null, "to": "*"]), ["delivered": 2])
        try b.wait("user:signout") { $0.userEvents.count == 1 }
        try a.wait("user:signout") { $0.userEvents.count == 2 }
        let heardByA = try a.onLoop { a.userEvents }
        XCTAssertEqual(heardByA.map(\.0), ["user:signin", "user:signout"])
        XCTAssertEqual(heardByA.map(\.1), [session, .null])
        XCTAssertEqual(try b.onLoop { b.userEvents.map(\.0) }, ["user:signout"])
    }

    func testWrongClientKeyReportsTheServersMessageAndDoesNotRetry() throws {
        let bad = try live(key: "not-the-key") { $0.reconnectionDelay = 20; $0.reconnectionDelayMax = 40 }
        try bad.onLoop { bad.manager.open() }
        try bad.wait("the refusal") { !$0.errors.isEmpty && !$0.manager.isOpen }
        XCTAssertEqual(try bad.onLoop { bad.errors.map(\.message) }, ["Invalid client key"])
        // With a 20–40 ms back-off, a retry loop would show many attempts within a second.
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(try bad.onLoop { bad.lifecycle }, ["error"])
        XCTAssertFalse(try bad.onLoop { bad.manager.isConnected() })
    }

    func testServerRestartReconnectsRejoinsAndDeliversTheBacklogInOrder() throws {
        let a = try live()
        try a.connect()
        try a.onLoop {
            try a.manager.updateProfile(["who": "a"])
            try a.manager.join(channel: "survivors")
        }
        try a.wait("joined") { $0.received("channel:join").count == 1 }
        let port = server.port

        server.kill()
        try a.wait("disconnect noticed") { $0.lifecycle.contains("disconnect") && !$0.manager.isConnected() }
        let count = 50
        try a.onLoop {
            for i in 0..<count { try a.manager.send(channel: "survivors", eventName: "backlog", message: .integer(Int64(i))) }
        }
        try server.start(port: port)
        try a.wait("reconnect and the whole backlog", timeout: 30) { $0.received("backlog").count == count }

        let lifecycle = try a.onLoop { a.lifecycle }
        XCTAssertEqual(lifecycle.first, "connect")
        XCTAssertTrue(lifecycle.contains("attempt:1"), "\(lifecycle)")
        XCTAssertEqual(lifecycle.last, "connect")
        // Rejoined (own echoed join with the replayed profile) before the backlog arrived, in order, none lost.
        let names = try a.onLoop { a.events.map(\.0) }
        let rejoin = try XCTUnwrap(names.lastIndex(of: "channel:join"))
        XCTAssertLessThan(rejoin, try XCTUnwrap(names.firstIndex(of: "backlog")))
        XCTAssertEqual(try a.onLoop { a.received("channel:join").last?.message["data"] }, ["who": "a"])
        XCTAssertEqual(try a.onLoop { a.received("backlog").map(\.message) }, (0..<count).map { .integer(Int64($0)) })
        XCTAssertEqual(try members(a, "survivors").get(), [["id": .string(a.socketId), "data": ["who": "a"]]])
    }

    func testCloseDeliversWhatWasSentBeforeItAndOpenReconnectsAndRejoins() throws {
        let a = try live()
        let b = try live()
        try a.connect()
        try b.connect()
        try b.onLoop { try b.manager.join(channel: "room") }
        try b.wait("own join") { $0.received("channel:join").count == 1 }
        try a.onLoop { try a.manager.join(channel: "room") }
        try b.wait("a's join") { $0.received("channel:join").count == 2 }

        let count = 100
        try a.onLoop {  // same loop tick: the close follows the sends
            for i in 0..<count { try a.manager.send(channel: "room", eventName: "last-words", message: .integer(Int64(i))) }
            a.manager.close()
        }
        try b.wait("every message sent before close, then a's leave") {
            $0.received("last-words").count == count && $0.received("channel:leave").count == 1
        }
        XCTAssertEqual(try b.onLoop { b.received("last-words").map(\.message) }, (0..<count).map { .integer(Int64($0)) })
        XCTAssertFalse(try a.onLoop { a.manager.isOpen })

        try a.connect()  // open() again: a new socket, back in its channel
        try b.wait("a rejoins") { $0.received("channel:join").count == 3 }
        XCTAssertEqual(try b.onLoop { b.received("channel:join").last?.message["id"] }, .string(a.socketId))
    }

    // MARK: helpers

    func testGetMembersOverTheSocketAck() throws {
        let a = try live()
        let b = try live()
        try a.connect()
        try b.connect()
        try a.onLoop {
            try a.manager.updateProfile(["n": 2])
            try a.manager.join(channel: "acked")
        }
        try a.wait("own join") { $0.received("channel:join").count == 1 }
        try b.onLoop { try b.manager.join(channel: "acked") }
        try a.wait("b in acked") { $0.received("channel:join").count == 2 }

        let list = try members(b, "acked", via: .socket).get()
        XCTAssertEqual(Set(list.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []), [a.socketId, b.socketId])
        XCTAssertTrue(list.arrayValue?.contains(["id": .string(a.socketId), "data": ["n": 2]]) ?? false, "\(list)")
        XCTAssertEqual(try members(b, "empty-channel", via: .socket).get(), [])
    }

    func members(_ m: LiveManager, _ channel: String, via source: MembersSource? = nil) throws -> Result<JSONValue, RealtimeError> {
        let promise = m.loop.makePromise(of: Result<JSONValue, RealtimeError>.self)
        try m.onLoop { m.manager.getMembers(channel: channel, via: source) { promise.succeed($0) } }
        return try promise.futureResult.wait()
    }

    func admin(_ body: JSONValue) throws -> JSONValue {
        let request = HTTPRequest(
            url: server.baseURL + "/_api/rest/v1/realtime/user-event", method: "POST",
            headers: [("Authorization", Self.master), ("Content-Type", "application/json")],
            body: Array(try body.jsonText().utf8), timeout: 20)
        let response = try HTTPClient.shared.execute(request, on: group.next()).wait()
        XCTAssertEqual(response.status, 200, response.bodyText)
        return try JSONValue.parse(response.body)
    }
}

/// The same suite against rtlua's own hub (in process).
final class RealtimeHubInteropTests: RealtimeInteropTests {
    override class func makeServer() throws -> InteropServer {
        try InProcessHub(clientKeys: [key], masterKey: master)
    }

    // Linux's XCTest finds only the test methods a class declares itself.
    override func testConnectsWithTheClientKeyAndGetsASocketId() throws { try super.testConnectsWithTheClientKeyAndGetsASocketId() }
    override func testChannelMessagesBroadcastsAndEcho() throws { try super.testChannelMessagesBroadcastsAndEcho() }
    override func testPresenceBetweenTwoManagers() throws { try super.testPresenceBetweenTwoManagers() }
    override func testGetMembersOverREST() throws { try super.testGetMembersOverREST() }
    override func testGetMembersOverTheSocketAck() throws { try super.testGetMembersOverTheSocketAck() }
    override func testBinaryRoundTrip() throws { try super.testBinaryRoundTrip() }
    override func testUserEventsFromTheAdminCall() throws { try super.testUserEventsFromTheAdminCall() }
    override func testWrongClientKeyReportsTheServersMessageAndDoesNotRetry() throws { try super.testWrongClientKeyReportsTheServersMessageAndDoesNotRetry() }
    override func testServerRestartReconnectsRejoinsAndDeliversTheBacklogInOrder() throws { try super.testServerRestartReconnectsRejoinsAndDeliversTheBacklogInOrder() }
    override func testCloseDeliversWhatWasSentBeforeItAndOpenReconnectsAndRejoins() throws { try super.testCloseDeliversWhatWasSentBeforeItAndOpenReconnectsAndRejoins() }
}
