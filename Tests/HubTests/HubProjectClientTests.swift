import Foundation
import NIOCore
import NIOPosix
import RTJSON
import SocketIO
import XCTest

@testable import Hub

/// The project's own Socket.IO client (module SocketIO) against the hub: the two halves of
/// the wire contract agree, binary included.
final class HubProjectClientTests: XCTestCase {
    final class Recorder: SocketIOConnectionDelegate, @unchecked Sendable {  // used on the test loop only
        var sid: String?
        var events: [(String, [JSONValue])] = []
        var failures: [SocketIOError] = []
        func socketDidConnect(sid: String) { self.sid = sid }
        func socketDidDisconnect(reason: String, willReconnect: Bool) {}
        func socketDidFail(error: SocketIOError, willReconnect: Bool) { failures.append(error) }
        func socketWillReconnect(attempt: Int) {}
        func socketDidReceive(event: String, args: [JSONValue], ack: (([JSONValue]) -> Void)?) { events.append((event, args)) }
    }

    var group: MultiThreadedEventLoopGroup!
    var loop: EventLoop { group.next() }

    override func setUp() { group = MultiThreadedEventLoopGroup(numberOfThreads: 1) }
    override func tearDown() { try? group.syncShutdownGracefully() }

    func waitUntil(_ what: String, timeout: TimeInterval = 20, _ condition: @escaping @Sendable () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !loop.submit(condition).wait() {
            guard Date() < deadline else { throw TimeoutError(what: what) }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    struct TimeoutError: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting for \(what)" }
    }

    func client(_ hub: Hub, auth: JSONValue) throws -> (SocketIOClient, Recorder) {
        try loop.submit {
            var config = SocketIOClientConfig(url: hub.baseURL, auth: auth)
            config.reconnection = false
            let c = SocketIOClient(config: config, eventLoop: self.loop)
            let r = Recorder()
            c.delegate = r
            c.connect()
            return (c, r)
        }.wait()
    }

    func testChannelMessageWithBinaryAndMembersAck() throws {
        let hub = try Hub.start(config: HubConfig(clientKeys: ["k"]), group: group).wait()
        defer { try? hub.shutdown().wait() }
        let (a, ra) = try client(hub, auth: ["clientKey": "k", "echoMessages": true])
        let (b, rb) = try client(hub, auth: ["clientKey": "k", "echoMessages": false])
        try waitUntil("both connected") { ra.sid != nil && rb.sid != nil }

        try loop.submit { try a.emit("join", [["channel": "room"]], ack: nil) }.wait()
        try waitUntil("A's own join (echo on)") { ra.events.contains { $0.0 == "channel:join" } }
        let blob: [UInt8] = [0, 255, 1, 254]
        try loop.submit {
            try b.emit("message", [["channel": "room", "eventName": "data", "message": ["bytes": .binary(blob)]]], ack: nil)
        }.wait()
        try waitUntil("A receives B's binary message") { ra.events.contains { $0.0 == "data" } }
        let got = try loop.submit { ra.events.first { $0.0 == "data" }!.1 }.wait()
        XCTAssertEqual(got, [["channel": "room", "message": ["bytes": .binary(blob)]]])

        let members = try loop.submit { () -> EventLoopFuture<[JSONValue]> in
            let p = self.loop.makePromise(of: [JSONValue].self)
            try b.emit("members", [["channel": "room"]]) { p.completeWith($0.mapError { $0 as any Error }) }
            return p.futureResult
        }.wait().wait()
        let aSid = try loop.submit { ra.sid! }.wait()
        let expected: [JSONValue] = [[["id": .string(aSid), "data": nil]]]
        XCTAssertEqual(members, expected)
        let bGotOwn = try loop.submit { rb.events.contains { $0.0 == "data" } }.wait()
        XCTAssertFalse(bGotOwn, "B is not a member and echo is off")
        try loop.submit { a.disconnect(); b.disconnect() }.wait()
    }

    func testWrongKeyIsRefusedWithTheHubsMessage() throws {
        let hub = try Hub.start(config: HubConfig(clientKeys: ["k"]), group: group).wait()
        defer { try? hub.shutdown().wait() }
        let (c, r) = try client(hub, auth: ["clientKey": "nope"])
        try waitUntil("the refusal") { !r.failures.isEmpty }
        let failure = try loop.submit { r.failures[0] }.wait()
        XCTAssertEqual(failure.kind, .connectRefused)
        XCTAssertEqual(failure.data?["message"], "Invalid client key")
        try loop.submit { c.disconnect() }.wait()
    }
}
