import Foundation
import RTJSON
import XCTest
@testable import SocketIO

/// SocketIOClient against a real python-socketio AsyncServer (scripts/peer/socketio_echo_server.py)
/// on loopback.
final class SocketIOClientInteropTests: XCTestCase {
    var server: PeerServer!
    var harness: ClientHarness!

    override func setUpWithError() throws {
        server = try PeerServer(arguments: ["--max-payload", "8000000"])
    }

    override func tearDown() {
        harness?.shutdown()
        server?.stop()
    }

    func connected(key: String = "good", configure: (inout SocketIOClientConfig) -> Void = { _ in }) throws -> ClientHarness {
        var config = ClientHarness.config(url: server.url, key: key)
        configure(&config)
        harness = ClientHarness(config: config)
        try harness.onLoop { $0.connect() }
        return harness
    }

    func testConnectsWithAuthAndGetsItsEventEchoed() throws {
        let h = try connected()
        let sid = try h.waitForConnect()
        XCTAssertFalse(sid.isEmpty)
        XCTAssertEqual(try h.onLoop { $0.sid }, sid)
        XCTAssertTrue(try h.onLoop { $0.isConnected })

        let args: [JSONValue] = ["héllo ✓", 42, 1.5, ["nested": [true, .null]]]
        try h.emit("echo", args)
        XCTAssertEqual(try h.waitForEvent("echo"), args)
    }

    /// python-socketio reads a packet written from the argument's text as the same value.
    func testAnArgumentWrittenAsTextIsEchoedAsItsValue() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        let text = #"{"s":"héllo \"✓\"\n","n":[42,1.5,-2.5e-7,true,null],"o":{"nested":{}}}"#
        try h.onLoop { try $0.emit("echo") { $0.append(contentsOf: text.utf8) } }
        XCTAssertEqual(try h.waitForEvent("echo"), [try JSONValue.parse(text)])
    }

    /// With `rawFromDepth` the containers inside each argument arrive as text, the text the
    /// server sent, and equal to the tree; binary events are still built whole.
    func testRawFromDepthKeepsNestedContainersAsText() throws {
        let h = try connected { $0.rawFromDepth = 2 }
        _ = try h.waitForConnect()
        let args: [JSONValue] = ["s", ["channel": "c", "message": ["seq": 1, "pad": ["x", 2.5]]]]
        try h.emit("echo", args)
        let got = try h.waitForEvent("echo")
        XCTAssertEqual(got, args)
        guard got.count == 2, case .object(let payload) = got[1] else { return XCTFail("\(got)") }
        XCTAssertEqual(payload["channel"], "c")
        guard case .raw? = payload["message"] else { return XCTFail("the body should stay text: \(payload)") }
        try h.emit("echo", [["b": .binary([0, 255])]])
        let binaryEcho = try h.waitFor("the binary echo") { log in
            log.lazy.compactMap { r -> JSONValue? in
                if case .event("echo", let a, _) = r, a.count == 1, a[0]["b"] != nil { return a[0] } else { return nil }
            }.first
        }
        guard case .object(let withBinary) = binaryEcho, case .binary? = withBinary["b"] else {
            return XCTFail("a binary event is built whole: \(binaryEcho)")
        }
    }

    func testWrongKeyIsRefusedAndNotRetried() throws {
        let h = try connected(key: "wrong")
        let (error, willReconnect) = try h.waitFor("refusal") { log in
            log.lazy.compactMap { r -> (SocketIOError, Bool)? in if case .fail(let e, let w) = r { return (e, w) } else { return nil } }.first
        }
        XCTAssertEqual(error.kind, .connectRefused)
        XCTAssertEqual(error.message, "bad key")
        XCTAssertEqual(error.data?["message"], "bad key")
        XCTAssertFalse(willReconnect)
        XCTAssertFalse(try h.onLoop { $0.isConnected })
        // The client is idle, not waiting to retry: connect() starts exactly one new attempt.
        try h.onLoop { $0.connect() }
        try h.waitFor("second refusal") { log in log.filter { if case .fail = $0 { true } else { false } }.count == 2 ? true : nil }
        XCTAssertFalse(h.events.contains { if case .willReconnect = $0 { true } else { false } }, "\(h.events)")
        XCTAssertFalse(h.events.contains { if case .connect = $0 { true } else { false } })
    }

    func testEmitWithAckGetsTheServersAnswer() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        try h.emit("ack_me", [1, "two", ["three": 3]], ackTag: "a")
        XCTAssertEqual(try h.waitForAck("a").get(), [1, "two", ["three": 3]])
    }

    func testServerEventAskingForAckIsAnswered() throws {
        let h = try connected()
        h.onEvent = { name, args, ack in
            guard name == "question" else { return }
            switch args.first {
            case .string(let q)?: ack?([.string("answer to \(q)")])
            // A binary answer travels as BINARY_ACK with an attachment.
            case .binary(let b)?: ack?([.binary(b.reversed())]); ack?(["second answers are ignored"])
            default: break
            }
        }
        _ = try h.waitForConnect()
        try h.emit("ask", ["life"])
        XCTAssertEqual(try h.waitForEvent("answered"), ["answer to life"])
        XCTAssertTrue(h.events.contains(.event("question", ["life"], askedForAck: true)))

        try h.emit("ask", [.binary([1, 2, 0xFF])])
        try h.waitFor("binary answer") { log in
            log.contains(.event("answered", [.binary([0xFF, 2, 1])], askedForAck: false)) ? true : nil
        }
    }

    func testBinaryPayloadsRoundTrip() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        let notUTF8: [UInt8] = [0xFF, 0x00, 0x80, 0xFE, 0xC3]
        try h.emit("echo", [.binary(notUTF8), "text"])
        XCTAssertEqual(try h.waitForEvent("echo"), [.binary(notUTF8), "text"])

        var big = [UInt8](repeating: 0, count: 3 << 20)
        var x: UInt32 = 12345
        for i in big.indices { x = x &* 1_103_515_245 &+ 12345; big[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try h.emit("ack_me", [["blob": .binary(big), "n": 2]], ackTag: "big")
        XCTAssertEqual(try h.waitForAck("big").get(), [["blob": .binary(big), "n": 2]])
    }

    func testPacketAboveMaxPayloadIsRefusedLocallyAndConnectionStaysUp() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        let tooBig = [UInt8](repeating: 7, count: 8_000_001)
        XCTAssertThrowsError(try h.emit("echo", [.binary(tooBig)])) { error in
            XCTAssertEqual((error as? SocketIOError)?.kind, .payloadTooLarge)
        }
        XCTAssertThrowsError(try h.emit("echo", [.string(String(repeating: "x", count: 8_000_000))])) { error in
            XCTAssertEqual((error as? SocketIOError)?.kind, .payloadTooLarge)
        }
        try h.emit("echo", ["still here"])
        XCTAssertEqual(try h.waitForEvent("echo"), ["still here"])
    }

    func testEmitWhileNotConnectedThrows() throws {
        harness = ClientHarness(config: ClientHarness.config(url: server.url))
        XCTAssertThrowsError(try harness.emit("echo", [])) { error in
            XCTAssertEqual((error as? SocketIOError)?.kind, .notConnected)
        }
    }

    func testReconnectsAfterTheServerIsKilledAndRestarted() throws {
        let h = try connected()
        let firstSid = try h.waitForConnect()
        let port = server.port
        server.kill()
        try h.waitFor("disconnect") { log in log.contains(where: { if case .disconnect(_, true) = $0 { true } else { false } }) ? true : nil }
        XCTAssertFalse(try h.onLoop { $0.isConnected })
        XCTAssertNil(try h.onLoop { $0.sid })
        server = try PeerServer(port: port, arguments: ["--max-payload", "8000000"])

        let secondSid = try h.waitForConnect(count: 2)
        XCTAssertNotEqual(firstSid, secondSid)
        let log = h.events
        let connects = log.indices.filter { if case .connect = log[$0] { true } else { false } }
        let attempts = log.compactMap { if case .willReconnect(let n) = $0 { n } else { nil } }
        XCTAssertFalse(attempts.isEmpty)
        XCTAssertEqual(attempts, Array(1...attempts.count), "attempts count up from 1")
        // Each failed attempt in between was reported as retrying; the last attempt connected.
        let between = log[connects[0]..<connects[1]]
        XCTAssertTrue(between.allSatisfy {
            switch $0 {
            case .disconnect(_, true), .fail(_, true), .willReconnect, .connect: true
            default: false
            }
        }, "\(between)")
        if case .willReconnect = log[connects[1] - 1] {} else { XCTFail("socketWillReconnect must precede the connect: \(log)") }

        try h.emit("echo", ["after restart"])
        XCTAssertEqual(try h.waitForEvent("echo"), ["after restart"])
    }

    func testDisconnectStopsReconnectionUntilConnectAgain() throws {
        let h = try connected { $0.reconnectionDelay = 50; $0.reconnectionDelayMax = 50 }
        _ = try h.waitForConnect()
        let port = server.port
        server.kill()
        try h.waitFor("disconnect") { log in log.contains(where: { if case .disconnect(_, true) = $0 { true } else { false } }) ? true : nil }
        try h.onLoop { $0.disconnect() }
        let stoppedAt = h.events.count
        // Restarting the server takes far longer than the 50 ms back-off: a live reconnect
        // timer would have fired (and connected) meanwhile.
        server = try PeerServer(port: port, arguments: ["--max-payload", "8000000"])
        XCTAssertThrowsError(try h.emit("echo", []), "still idle")
        XCTAssertEqual(Array(h.events[stoppedAt...]), [], "nothing happens after disconnect()")

        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect(count: 2)
        XCTAssertFalse(h.events[stoppedAt...].contains { if case .willReconnect = $0 { true } else { false } })
    }

    func testDisconnectWhileConnectedFailsPendingAcksAndSaysSo() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        try h.emit("nobody_listens", [1], ackTag: "pending") // the server never acks it
        try h.onLoop { $0.disconnect() }
        guard case .failure(let error) = try h.waitForAck("pending") else { return XCTFail("ack must fail") }
        XCTAssertEqual(error.kind, .notConnected)
        XCTAssertTrue(h.events.contains(.disconnect(reason: "io client disconnect", willReconnect: false)))
        XCTAssertNil(try h.onLoop { $0.sid })
    }

    func testServerSideDisconnectIsNotRetried() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        try h.emit("kick", [])
        try h.waitFor("server disconnect") { log in
            log.contains(.disconnect(reason: "io server disconnect", willReconnect: false)) ? true : nil
        }
        try h.onLoop { $0.connect() }
        _ = try h.waitForConnect(count: 2)
        XCTAssertFalse(h.events.contains { if case .willReconnect = $0 { true } else { false } })
    }

    /// The server echoes every `tally`, so the client has unread data when it disconnects:
    /// an abrupt close would reset the connection and the server would lose the emits it
    /// had not read yet.
    func testEverythingEmittedBeforeDisconnectReachesTheServer() throws {
        let h = try connected()
        _ = try h.waitForConnect()
        let n = 200
        let padding = JSONValue.string(String(repeating: "x", count: 2000))
        let closed = h.loop.makePromise(of: Void.self)
        let giveUp = h.loop.scheduleTask(in: .seconds(30)) { closed.fail(CancellationError()) }
        try h.onLoop { client in
            for i in 0..<n { try client.emit("tally", [.integer(Int64(i)), padding], ack: nil) }
            client.disconnect { closed.succeed(()) }
        }
        try closed.futureResult.wait()
        giveUp.cancel()
        XCTAssertTrue(h.events.contains(.disconnect(reason: "io client disconnect", willReconnect: false)))

        let counter = ClientHarness(config: ClientHarness.config(url: server.url))
        defer { counter.shutdown() }
        try counter.onLoop { $0.connect() }
        _ = try counter.waitForConnect()
        // The server runs handlers concurrently: ask until the count reaches n (or stays short).
        var count: Int64 = -1
        for attempt in 0..<50 where count != Int64(n) {
            if attempt > 0 { usleep(100_000) }
            try counter.emit("tally_count", [], ackTag: "count \(attempt)")
            count = try counter.waitForAck("count \(attempt)").get().first?.int64Value ?? -1
        }
        XCTAssertEqual(count, Int64(n), "emits the server received before the disconnect")
    }

    func testDisconnectCompletionRunsAtOnceWhenNothingIsOpen() throws {
        harness = ClientHarness(config: ClientHarness.config(url: server.url))
        let ran = try harness.onLoop { client -> Bool in
            var ran = false
            client.disconnect { ran = true }
            return ran
        }
        XCTAssertTrue(ran)
    }
}
