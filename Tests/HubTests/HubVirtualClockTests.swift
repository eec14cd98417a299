import Clocks
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOWebSocket
import XCTest

@testable import Hub
@testable import SocketIO

/// The hub's connection timers on a virtual clock (`rtlua test`, HubConfig.clock): a
/// client that answers at once is pinged once per quiet stretch however far the clock
/// moves; one that does not answer is evicted `pingTimeout` after the ping, in virtual time.
final class HubVirtualClockTests: XCTestCase {
    var group: MultiThreadedEventLoopGroup!
    let start = 1_767_225_600.0  // 2026-01-01T00:00:00Z

    override func setUp() { group = MultiThreadedEventLoopGroup(numberOfThreads: 2) }
    override func tearDown() { try? group.syncShutdownGracefully() }

    /// A raw Engine.IO client: CONNECTs after the open packet (or never), answers pings (or
    /// not), and notes the virtual time of each ping and how the connection ended.
    final class Peer: WebSocketTransportSink, @unchecked Sendable {  // callbacks on its loop; reads under `state`
        struct State {
            var connected = false
            var pingTimes: [Double] = []
            var closed: String?
        }
        enum Behaviour { case answersPings, ignoresPings, neverConnects }
        let state = NIOLockedValueBox(State())
        let behaviour: Behaviour
        let clock: EventClock
        var channel: Channel?

        init(_ behaviour: Behaviour, clock: EventClock) {
            self.behaviour = behaviour
            self.clock = clock
        }

        func transportReceivedText(_ data: ByteBuffer, epoch: UInt64) {
            let text = String(buffer: data)
            if text.hasPrefix("0{") {
                if behaviour != .neverConnects { send("40") }
            } else if text.hasPrefix("40") {
                state.withLockedValue { $0.connected = true }
            } else if text == "2" {
                state.withLockedValue { $0.pingTimes.append(clock.now()) }
                if behaviour == .answersPings { send("3") }
            }
        }

        func transportReceivedBinary(_ data: ByteBuffer, epoch: UInt64) {}

        func transportClosed(reason: String, epoch: UInt64) {
            state.withLockedValue { $0.closed = reason }
        }

        private func send(_ text: String) {
            channel?.writeAndFlush(
                WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text)), promise: nil)
        }
    }

    private func connect(_ peer: Peer, to hub: Hub) throws {
        let loop = group.next()
        let endpoint = try WebSocketEndpoint(url: hub.baseURL)
        let channel = try loop.flatSubmit {
            WebSocketConnector.connect(endpoint: endpoint, headers: [], tls: nil, connectTimeout: .seconds(5),
                                       eventLoop: loop, sink: peer, outlet: MaskedFrameOutlet(), epoch: 1)
                .map { channel in
                    peer.channel = channel
                    return channel
                }
        }.wait()
        addTeardownBlock { try? channel.close().wait() }
        if peer.behaviour != .neverConnects {
            try waitUntil("the peer's CONNECT") { peer.state.withLockedValue { $0.connected } }
        }
    }

    private func startHub(on clock: VirtualClock, _ config: HubConfig = HubConfig()) throws -> Hub {
        var config = config
        config.clock = clock
        let hub = try Hub.start(config: config, group: group).wait()
        addTeardownBlock { try? hub.shutdown().wait() }
        return hub
    }

    private func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { throw HubError("timed out waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    private func advance(_ clock: VirtualClock, by seconds: Double) throws {
        let loop = group.next()
        let done = loop.makePromise(of: Void.self)
        clock.advance(by: seconds, on: loop) { done.succeed(()) }
        try done.futureResult.wait()
    }

    private func pingTimeouts(_ hub: Hub) throws -> UInt64 {
        try hub.core.loop.submit { hub.core.metrics.pingTimeouts }.wait()
    }

    func testAClientThatAnswersIsPingedOncePerStretchOverFourteenDays() throws {
        let clock = VirtualClock(start: start)
        let hub = try startHub(on: clock)
        let peer = Peer(.answersPings, clock: clock)
        try connect(peer, to: hub)
        XCTAssertEqual(peer.state.withLockedValue { $0.pingTimes }, [], "nothing timed happens while the clock stands")

        try advance(clock, by: 14 * 86_400)
        // The first ping at 25 s, answered at once; then one for the rest of the fortnight,
        // at its end, instead of 48,383.
        XCTAssertEqual(peer.state.withLockedValue { $0.pingTimes }, [start + 25, start + 14 * 86_400])
        XCTAssertNil(peer.state.withLockedValue { $0.closed })
        XCTAssertEqual(try pingTimeouts(hub), 0)

        // A timer of the test inside the next stretch cuts it: the pings land on each side.
        let timerRan = NIOLockedValueBox(false)
        _ = clock.schedule(in: 100, on: group.next()) { timerRan.withLockedValue { $0 = true } }
        try advance(clock, by: 130)
        XCTAssertTrue(timerRan.withLockedValue { $0 })
        XCTAssertEqual(Array(peer.state.withLockedValue { $0.pingTimes }.dropFirst(2)),
                       [start + 14 * 86_400 + 100, start + 14 * 86_400 + 130])
    }

    func testAClientThatDoesNotAnswerIsEvictedPingTimeoutAfterThePingInVirtualTime() throws {
        let clock = VirtualClock(start: start, holdLimit: .milliseconds(300))
        let hub = try startHub(on: clock)
        let peer = Peer(.ignoresPings, clock: clock)
        try connect(peer, to: hub)

        // The clock waits up to its holdLimit (real time) for the pong that never comes, then
        // moves on to just before the deadline.
        try advance(clock, by: 44.999)
        XCTAssertEqual(peer.state.withLockedValue { $0.pingTimes }, [start + 25])
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertNil(peer.state.withLockedValue { $0.closed }, "still connected 19.999 s after the ping")
        XCTAssertEqual(try pingTimeouts(hub), 0)

        try advance(clock, by: 0.001)
        try waitUntil("the eviction") { peer.state.withLockedValue { $0.closed } != nil }
        XCTAssertEqual(try pingTimeouts(hub), 1)
    }

    func testAWebSocketThatNeverConnectsIsClosedAtTheConnectTimeoutInVirtualTime() throws {
        let clock = VirtualClock(start: start)
        var config = HubConfig(pingInterval: 3_600_000, pingTimeout: 20_000)
        config.connectTimeout = 45_000
        let hub = try startHub(on: clock, config)
        let peer = Peer(.neverConnects, clock: clock)
        try connect(peer, to: hub)
        Thread.sleep(forTimeInterval: 0.1)
        try advance(clock, by: 44.999)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertNil(peer.state.withLockedValue { $0.closed })
        try advance(clock, by: 0.001)
        try waitUntil("the close") { peer.state.withLockedValue { $0.closed } != nil }
        XCTAssertEqual(try hub.core.loop.submit { hub.core.metrics.connectTimeouts }.wait(), 1)
    }
}
