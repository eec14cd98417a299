import Foundation
import NIOCore
import NIOPosix
import RTJSON
import XCTest
@testable import SocketIO

/// Transport behaviour python-socketio never shows on its own, from the raw Engine.IO routes of
/// scripts/peer/socketio_echo_server.py, plus failures before any server speaks.
final class SocketIOClientTransportTests: XCTestCase {
    var server: PeerServer?
    var harness: ClientHarness?

    override func tearDown() {
        harness?.shutdown()
        server?.stop()
    }

    func raw(_ mode: String) throws -> ClientHarness {
        let server = try PeerServer()
        self.server = server
        let h = ClientHarness(config: ClientHarness.config(url: "ws://127.0.0.1:\(server.port)/raw/?mode=\(mode)"))
        harness = h
        try h.onLoop { $0.connect() }
        return h
    }

    func testAnswersPingsThenDetectsASilentServer() throws {
        // The raw server (pingInterval 500, pingTimeout 500) pings three times, reports how
        // many pongs it got, then goes silent while keeping the socket open.
        let h = try raw("heartbeat")
        XCTAssertEqual(try h.waitForConnect(), "raw-heartbeat")
        XCTAssertEqual(try h.waitForEvent("pongs"), [3])
        try h.waitFor("ping timeout") { log in
            log.contains(.disconnect(reason: "ping timeout", willReconnect: true)) ? true : nil
        }
    }

    func testDisconnectGivesUpOnAServerThatNeverAnswersTheClose() throws {
        let mini = try MiniEngineServer(answersClose: false)
        defer { mini.shutdown() }
        let h = ClientHarness(config: ClientHarness.config(url: mini.url))
        harness = h
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect()
        let closed = h.loop.makePromise(of: Void.self)
        let giveUp = h.loop.scheduleTask(in: .seconds(30)) { closed.fail(CancellationError()) }
        try h.onLoop { $0.disconnect { closed.succeed(()) } }
        XCTAssertTrue(h.events.contains(.disconnect(reason: "io client disconnect", willReconnect: false)),
                      "the delegate hears of the disconnect at once")
        try closed.futureResult.wait()  // after the client's own close timeout
        giveUp.cancel()
        XCTAssertFalse(try h.onLoop { $0.isConnected })
    }

    func testFragmentedMessagesAndPingControlFrames() throws {
        let h = try raw("fragments")
        _ = try h.waitForConnect()
        XCTAssertEqual(try h.waitForEvent("frag"), ["hello world"])
        XCTAssertEqual(try h.waitForEvent("bin"), [.binary([0xFF, 0x00, 0x80])])
        // The WebSocket ping between the fragments was answered with its payload.
        XCTAssertEqual(try h.waitForEvent("pong_ok"), ["abc"])
    }

    func testCloseFrameEndsTheConnectionAndReconnects() throws {
        let h = try raw("close")
        _ = try h.waitForConnect()
        let reason = try h.waitFor("close") { log in
            log.lazy.compactMap { r -> String? in if case .disconnect(let reason, true) = r { reason } else { nil } }.first
        }
        XCTAssertTrue(reason.hasPrefix("transport close"), reason)
        try h.waitFor("reconnect attempt") { log in log.contains(.willReconnect(attempt: 1)) ? true : nil }
        _ = try h.waitForConnect(count: 2)
    }

    func testAttemptThatNeverCompletesTimesOutIntoBackoff() throws {
        // A TCP server that accepts and never answers the upgrade.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let silent = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? silent.close().wait() }
        var config = ClientHarness.config(url: "http://127.0.0.1:\(silent.localAddress!.port!)")
        config.timeout = 300
        let h = ClientHarness(config: config)
        harness = h
        try h.onLoop { $0.connect() }
        let error = try h.waitFor("timeout") { log in
            log.lazy.compactMap { r -> SocketIOError? in if case .fail(let e, true) = r { e } else { nil } }.first
        }
        XCTAssertEqual(error.kind, .timeout)
        try h.waitFor("reconnect attempt") { log in log.contains(.willReconnect(attempt: 2)) ? true : nil }
        let kinds = h.events.compactMap { r -> SocketIOError.Kind? in if case .fail(let e, _) = r { e.kind } else { nil } }
        XCTAssertEqual(Array(kinds.prefix(2)), [.timeout, .timeout])
    }

    func testRefusedTCPConnectionIsATransportFailureThatRetries() throws {
        // Bind and close to find a port nobody listens on.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let probe = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = probe.localAddress!.port!
        try probe.close().wait()
        let h = ClientHarness(config: ClientHarness.config(url: "http://127.0.0.1:\(port)"))
        harness = h
        try h.onLoop { $0.connect() }
        let error = try h.waitFor("refused") { log in
            log.lazy.compactMap { r -> SocketIOError? in if case .fail(let e, true) = r { e } else { nil } }.first
        }
        XCTAssertEqual(error.kind, .transport)
        try h.waitFor("reconnect attempt") { log in log.contains(.willReconnect(attempt: 1)) ? true : nil }
    }

    func testInvalidURLFailsWithoutRetry() throws {
        let h = ClientHarness(config: ClientHarness.config(url: "ftp://example"))
        harness = h
        try h.onLoop { $0.connect() }
        let error = try h.waitFor("failure") { log in
            log.lazy.compactMap { r -> SocketIOError? in if case .fail(let e, false) = r { e } else { nil } }.first
        }
        XCTAssertEqual(error.kind, .invalidArgument)
    }

    func testWithoutReconnectionALostConnectionEndsForGood() throws {
        let server = try PeerServer()
        self.server = server
        var config = ClientHarness.config(url: "ws://127.0.0.1:\(server.port)/raw/?mode=close")
        config.reconnection = false
        let h = ClientHarness(config: config)
        harness = h
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect()
        try h.waitFor("final disconnect") { log in
            log.contains { if case .disconnect(_, false) = $0 { true } else { false } } ? true : nil
        }
        // Idle, not waiting: connect() starts over.
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect(count: 2)
        XCTAssertFalse(h.events.contains { if case .willReconnect = $0 { true } else { false } })
    }

    func testHTTPAnswerInsteadOfUpgradeIsATransportFailure() throws {
        let server = try PeerServer()
        self.server = server
        let h = ClientHarness(config: ClientHarness.config(url: "ws://127.0.0.1:\(server.port)/no-such-path/"))
        harness = h
        try h.onLoop { $0.connect() }
        let error = try h.waitFor("failure") { log in
            log.lazy.compactMap { r -> SocketIOError? in if case .fail(let e, true) = r { e } else { nil } }.first
        }
        XCTAssertEqual(error.kind, .transport)
        XCTAssertTrue(error.message.contains("404"), error.message)
    }

    func testWSSSpeaksTLSAndRejectsAnUntrustedCertificate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sio-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                             "-keyout", key, "-out", cert]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        XCTAssertEqual(openssl.terminationStatus, 0)

        let server = try PeerServer(arguments: ["--tls-cert", cert, "--tls-key", key])
        self.server = server
        var config = ClientHarness.config(url: "wss://127.0.0.1:\(server.port)")
        config.reconnection = false
        let h = ClientHarness(config: config)
        harness = h
        try h.onLoop { $0.connect() }
        let error = try h.waitFor("TLS failure") { log in
            log.lazy.compactMap { r -> SocketIOError? in if case .fail(let e, false) = r { e } else { nil } }.first
        }
        XCTAssertEqual(error.kind, .transport)
        XCTAssertTrue(error.message.contains("CERTIFICATE_VERIFY_FAILED"), error.message)
    }
}
