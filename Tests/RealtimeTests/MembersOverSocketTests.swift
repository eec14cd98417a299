import NIOEmbedded
import RTJSON
import SocketIO
import XCTest

@testable import Realtime

/// getMembers through the `members` event and its ack (PROTOCOL.md §3), without a network.
final class MembersOverSocketTests: XCTestCase {
    var loop: EmbeddedEventLoop!
    var conn: FakeConnection!

    override func setUp() {
        loop = EmbeddedEventLoop()
        conn = FakeConnection(eventLoop: loop)
    }

    func manager(baseURL: String) -> RealtimeManager {
        let m = RealtimeManager(config: RealtimeConfig(baseURL: baseURL), connection: conn)
        m.open()
        return m
    }

    func ask(_ m: RealtimeManager, _ channel: String, via source: MembersSource? = nil) -> [Result<JSONValue, RealtimeError>] {
        var results: [Result<JSONValue, RealtimeError>] = []
        m.getMembers(channel: channel, via: source) { results.append($0) }
        loop.run()
        return results
    }

    func testTheAckCarriesTheMembers() throws {
        let m = manager(baseURL: "http://127.0.0.1:1")
        conn.serverAccepts()
        var results: [Result<JSONValue, RealtimeError>] = []
        m.getMembers(channel: "room", via: .socket) { results.append($0) }
        XCTAssertEqual(conn.awaitingAck.map(\.emit), [OutboundEmit(event: "members", payload: ["channel": "room"])])
        conn.serverAcks([[["id": "s1", "data": .null]]])
        XCTAssertEqual(try results.first?.get(), [["id": "s1", "data": .null]])
    }

    func testAWebSocketBaseURLAsksOverTheSocket() {
        let m = manager(baseURL: "ws://127.0.0.1:1")
        conn.serverAccepts()
        m.getMembers(channel: "room") { _ in }
        XCTAssertEqual(conn.awaitingAck.count, 1)
    }

    func testOfflineIsAnErrorNotABufferedQuestion() {
        let m = manager(baseURL: "ws://127.0.0.1:1")
        let results = ask(m, "room")
        guard case .failure(let error)? = results.first else { return XCTFail("\(results)") }
        XCTAssertEqual(error.code, "not_connected")
        XCTAssertTrue(conn.sent.isEmpty)
    }

    func testAnAckWithoutAnArrayAndADroppedConnectionAreErrors() {
        let m = manager(baseURL: "http://127.0.0.1:1")
        conn.serverAccepts()
        var results: [Result<JSONValue, RealtimeError>] = []
        m.getMembers(channel: "a", via: .socket) { results.append($0) }
        conn.serverAcks(["not an array"])
        m.getMembers(channel: "b", via: .socket) { results.append($0) }
        conn.transportDrops()
        XCTAssertEqual(results.count, 2)
        if case .failure(let e) = results[0] { XCTAssertEqual(e.code, "invalid_response") } else { XCTFail() }
        if case .failure(let e) = results[1] { XCTAssertEqual(e.code, "not_connected") } else { XCTFail() }
    }

    func testABadChannelIsRefusedBeforeAsking() {
        let m = manager(baseURL: "http://127.0.0.1:1")
        conn.serverAccepts()
        let results = ask(m, "", via: .socket)
        guard case .failure(let error)? = results.first else { return XCTFail("\(results)") }
        XCTAssertEqual(error.code, "invalid_argument")
        XCTAssertTrue(conn.awaitingAck.isEmpty)
    }
}
