import NIOCore
import NIOPosix
import RTJSON
import XCTest

@testable import Realtime

/// getMembers through CurlHTTP against the reference server, without a socket (a fake
/// connection stands in): the REST half of PROTOCOL.md §5.
final class MembersRESTTests: XCTestCase {
    func testAnswersAndErrorsFromTheReferenceServer() throws {
        let server = try PeerServer(["--key", "ck-rest"])
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()

        func members(key: String?, channel: String) throws -> Result<JSONValue, RealtimeError> {
            let promise = loop.makePromise(of: Result<JSONValue, RealtimeError>.self)
            let config = RealtimeConfig(baseURL: server.baseURL + "/", clientKey: key, session: "tok")
            try loop.submit {
                let m = RealtimeManager(config: config, connection: FakeConnection(eventLoop: loop))
                m.getMembers(channel: channel) { promise.succeed($0) }
            }.wait()
            return try promise.futureResult.wait()
        }

        XCTAssertEqual(try members(key: "ck-rest", channel: "empty").get(), [])
        for key in ["wrong", nil] {
            guard case .failure(let error) = try members(key: key, channel: "empty") else { return XCTFail("key \(key ?? "nil") must fail") }
            XCTAssertEqual(error.code, "invalid_client_key")
            XCTAssertEqual(error.value["status"], 401)
            XCTAssertEqual(error.value["statusText"], "Unauthorized")
        }
        guard case .failure(let bad) = try members(key: "ck-rest", channel: "") else { return XCTFail("empty channel must fail") }
        XCTAssertEqual(bad.message, "channel must not be empty")
    }

    func testAnUnreachableServerIsANetworkError() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        let promise = loop.makePromise(of: Result<JSONValue, RealtimeError>.self)
        try loop.submit {
            let m = RealtimeManager(config: RealtimeConfig(baseURL: "http://127.0.0.1:9"), connection: FakeConnection(eventLoop: loop))
            m.getMembers(channel: "c") { promise.succeed($0) }
        }.wait()
        guard case .failure(let error) = try promise.futureResult.wait() else { return XCTFail("must fail") }
        XCTAssertEqual(error.code, "network_error")
        XCTAssertTrue(error.message.hasPrefix("get-members request failed: "), error.message)
    }
}
