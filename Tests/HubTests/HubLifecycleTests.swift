import NIOCore
import NIOPosix
import XCTest

@testable import Hub

/// Starting, refusing to start, and shutting down.
final class HubLifecycleTests: XCTestCase {
    var group: MultiThreadedEventLoopGroup!

    override func setUp() { group = MultiThreadedEventLoopGroup(numberOfThreads: 1) }
    override func tearDown() { try? group.syncShutdownGracefully() }

    func testStartsOnAFreePortAndReportsItsBaseURL() throws {
        let hub = try Hub.start(config: HubConfig(), group: group).wait()
        defer { try? hub.shutdown().wait() }
        XCTAssertGreaterThan(hub.port, 0)
        XCTAssertEqual(hub.baseURL, "http://127.0.0.1:\(hub.port)")
    }

    func testBusyPortFailsWithAClearError() throws {
        let first = try Hub.start(config: HubConfig(), group: group).wait()
        defer { try? first.shutdown().wait() }
        XCTAssertThrowsError(try Hub.start(config: HubConfig(port: first.port), group: group).wait()) { error in
            XCTAssertTrue("\(error)".contains("cannot listen on 127.0.0.1:\(first.port)"), "\(error)")
        }
    }

    func testInvalidConfigIsRefused() {
        for (config, words) in [
            (HubConfig(pingInterval: 0), "pingInterval"), (HubConfig(pingTimeout: -1), "pingTimeout"),
            (HubConfig(maxPayload: 10), "maxPayload"), (HubConfig(port: 70000), "port"),
        ] {
            XCTAssertThrowsError(try Hub.start(config: config, group: group).wait()) { error in
                XCTAssertTrue(error is HubError && "\(error)".contains(words), "\(error)")
            }
        }
    }

    func testShutdownDisconnectsClients() throws {
        let hub = try Hub.start(config: HubConfig(), group: group).wait()
        var shutDown = false
        defer { if !shutDown { try? hub.shutdown().wait() } }
        let peer = try PeerHarness.Running("wait_for_shutdown", hub: hub)
        guard peer.waitForOutput("READY", timeout: 30) else {
            XCTFail("the peer never got ready: \(peer.finish(timeout: 1).output)")
            return
        }
        XCTAssertEqual(try hub.socketCount().wait(), 1)
        try hub.shutdown().wait()
        shutDown = true
        XCTAssertEqual(try hub.socketCount().wait(), 0, "every socket was let go")
        let result = peer.finish(timeout: 40)
        XCTAssertTrue(result.status == 0 && result.output.contains("PASS wait_for_shutdown"), result.output)
    }
}
