import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import XCTest

@testable import Hub

/// The connection layer on its own: HTTP deadlines on an injected clock, the log's rate
/// limit, upgrade rules, the connection cap, and the HTTP pipeline on an EmbeddedChannel.
final class HubHTTPLayerTests: XCTestCase {
    // MARK: HTTPTimeouts

    func testANewConnectionHasTheHeaderTimeoutFromItsAccept() {
        let t = HTTPTimeouts(now: 1000, header: 100, idle: 300)
        XCTAssertEqual(t.deadline, 1100)
        XCTAssertNil(t.expired(now: 1099))
        XCTAssertEqual(t.expired(now: 1100), .headerTimeout)
    }

    func testKeptAliveConnectionsIdleThenGetTheHeaderTimeoutFromTheFirstBytes() {
        var t = HTTPTimeouts(now: 0, header: 100, idle: 300)
        t.headReceived(now: 10)
        t.responding(now: 10)
        XCTAssertEqual(t.deadline, 310, "a response has idleTimeout to be taken")
        t.responseWritten(now: 20)
        XCTAssertEqual(t.deadline, 320)
        XCTAssertEqual(t.expired(now: 320), .idleTimeout)
        t.bytesArrived(now: 200)
        XCTAssertEqual(t.deadline, 300, "first bytes of the next request start its header clock")
        t.bytesArrived(now: 290)
        XCTAssertEqual(t.deadline, 300, "trickling more header bytes does not extend it (slowloris)")
        XCTAssertEqual(t.expired(now: 300), .headerTimeout)
    }

    func testABodyStallsAndAnUnreadResponseAreCutAtTheIdleTimeout() {
        var t = HTTPTimeouts(now: 0, header: 100, idle: 300)
        t.headReceived(now: 50)
        t.bytesArrived(now: 200)
        XCTAssertEqual(t.deadline, 500, "body bytes keep it alive")
        XCTAssertEqual(t.expired(now: 500), .bodyTimeout)
        t.responding(now: 600)
        XCTAssertEqual(t.expired(now: 900), .slowConsumer)
        t.stop()
        XCTAssertNil(t.deadline)
        XCTAssertNil(t.expired(now: 10_000))
    }

    // MARK: LogRateLimit

    func testLogLinesAreLimitedPerReasonAndSecondAndHeldBackOnesReported() {
        var limit = LogRateLimit(perSecond: 3)
        let writes = (0..<10).map { limit.admit("a", now: 5000 + Int64($0)).write }
        XCTAssertEqual(writes.filter { $0 }.count, 3)
        XCTAssertTrue(limit.admit("b", now: 5100).write, "another reason has its own budget")
        XCTAssertTrue(limit.holdsBack)
        let next = limit.admit("a", now: 6000)
        XCTAssertTrue(next.write)
        XCTAssertEqual(next.heldBack, 7, "the next second's first line reports what the last one held back")
        for _ in 0..<5 { _ = limit.admit("a", now: 6001) }
        XCTAssertTrue(limit.drain(now: 6500).isEmpty, "the second is not over")
        XCTAssertEqual(limit.drain(now: 7000).map(\.count), [3])
        XCTAssertFalse(limit.holdsBack)
    }

    // MARK: upgrade rules

    func testOnlyAGETWithConnectionUpgradeAndUpgradeWebsocketUpgrades() {
        func head(_ method: HTTPMethod, _ headers: [(String, String)], uri: String = "/socket.io/?EIO=4&transport=websocket") -> HTTPRequestHead {
            HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
        }
        func refused(_ d: HubRoutes.UpgradeDecision) -> Bool { if case .refused = d { return true } else { return false } }
        XCTAssertEqual(HubRoutes.upgradeRequest(head(.GET, [("connection", "keep-alive, UPGRADE"), ("UPGRADE", "WebSocket")])), .websocket)
        XCTAssertTrue(refused(HubRoutes.upgradeRequest(head(.POST, [("Connection", "Upgrade"), ("Upgrade", "websocket")]))))
        XCTAssertTrue(refused(HubRoutes.upgradeRequest(head(.GET, [("Upgrade", "websocket")]))))
        XCTAssertTrue(refused(HubRoutes.upgradeRequest(head(.GET, [("Connection", "Upgrade"), ("Upgrade", "h2c")]))))
        XCTAssertTrue(refused(HubRoutes.upgradeRequest(
            head(.GET, [("Connection", "Upgrade"), ("Upgrade", "websocket")], uri: "/socket.io/?EIO=3&transport=websocket"))))
        XCTAssertEqual(HubRoutes.upgradeRequest(head(.GET, [])), .none, "no upgrade asked: routed (and refused) as HTTP")
        XCTAssertEqual(HubRoutes.upgradeRequest(head(.GET, [("Connection", "Upgrade"), ("Upgrade", "websocket")], uri: "/healthz")), .none)
    }

    // MARK: the cap

    func testTheCapKeepsUnderTheDescriptorLimit() {
        var config = HubConfig()
        XCTAssertEqual(config.connectionCap(descriptorLimit: nil), 10_000)
        XCTAssertEqual(config.connectionCap(descriptorLimit: 20_000), 10_000)
        XCTAssertEqual(config.connectionCap(descriptorLimit: 512), 512 - HubConfig.descriptorReserve)
        config.maxConnections = 50
        XCTAssertEqual(config.connectionCap(descriptorLimit: 512), 50)
    }

    func testConnectionLimitsMustBePositive() {
        for (field, change) in [("maxConnections", { (c: inout HubConfig) in c.maxConnections = 0 }),
                                ("headerTimeout", { (c: inout HubConfig) in c.headerTimeout = 0 }),
                                ("idleTimeout", { (c: inout HubConfig) in c.idleTimeout = -1 })] {
            var config = HubConfig()
            change(&config)
            XCTAssertTrue(config.validationError()?.contains(field) == true, field)
        }
    }

    func testAtTheCapTheOldestConnectionWithoutAHandshakeMakesRoom() throws {
        let loop = EmbeddedEventLoop()
        var config = HubConfig()
        config.maxConnections = 3
        let connections = HubConnections(config: config, loop: loop, descriptorLimit: nil)
        func channel() throws -> EmbeddedChannel {
            let ch = EmbeddedChannel(loop: loop)
            try ch.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            return ch
        }
        func admit(_ ch: Channel) throws -> HubConnections.ID {
            guard case .admitted(let id) = connections.admit(ch) else { throw HubError("refused") }
            return id
        }
        // a: a connected socket; b: a WebSocket not yet connected; c: plain HTTP.
        let a = try channel(), b = try channel(), c = try channel()
        connections.upgraded(try admit(a)) { true }
        connections.upgraded(try admit(b)) { false }
        _ = try admit(c)
        let d = try channel()
        connections.upgraded(try admit(d)) { true }
        XCTAssertFalse(c.isActive, "plain HTTP goes first, though b is older")
        XCTAssertTrue(a.isActive && b.isActive)
        let e = try channel()
        let idE = try admit(e)
        XCTAssertFalse(b.isActive, "then the oldest WebSocket without a CONNECT")
        XCTAssertTrue(a.isActive && d.isActive)
        XCTAssertEqual(connections.openCount, 3)
        XCTAssertEqual(connections.metrics.closed[.evicted], 2)
        // e upgrades and connects only later: by then it is not evicted.
        var eConnected = false
        connections.upgraded(idE) { eConnected }
        eConnected = true
        XCTAssertEqual(connections.admit(try channel()), .refused, "all connected sockets: refused")
        XCTAssertTrue(e.isActive)
        XCTAssertEqual(connections.metrics.refusedOverCap, 1)
    }

    func testShutdownClosesHTTPConnectionsToo() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let hub = try Hub.start(config: HubConfig(), group: group).wait()
        let client = try ClientBootstrap(group: group).connect(host: "127.0.0.1", port: hub.port).wait()
        try hub.shutdown().wait()
        let closed = client.closeFuture.map { true }
        group.next().scheduleTask(in: .seconds(5)) { client.close(promise: nil) }
        XCTAssertTrue(try closed.wait())
        XCTAssertFalse(client.isActive)
    }

    func testReadsAreSmallUntilTheUpgradeAndTheChannelsOwnAfter() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let core = HubCore(config: HubConfig(), loop: loop)
        let connections = HubConnections(config: HubConfig(), loop: loop, descriptorLimit: nil)
        let accepted = loop.makePromise(of: Channel.self)
        let server = try ServerBootstrap(group: loop, childGroup: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Hub.configure(channel, core: core, connections: connections, upgrader: Hub.upgrader(core: core))
                    accepted.succeed(channel)
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let client = try ClientBootstrap(group: group).connect(to: server.localAddress!).wait()
        defer { try? client.close().wait() }
        let channel = try accepted.futureResult.wait()
        func perRead() throws -> UInt {
            try loop.submit { try channel.syncOptions!.getOption(.maxMessagesPerRead) }.wait()
        }
        func readMaximum() throws -> Int? {
            try loop.submit { (try channel.syncOptions!.getOption(.recvAllocator) as? AdaptiveRecvByteBufferAllocator)?.maximum }.wait()
        }
        XCTAssertEqual(try perRead(), 1, "HTTP: one small read per wake-up")
        XCTAssertEqual(try readMaximum(), 16 * 1024)
        let upgrade = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
            + "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try client.writeAndFlush(ByteBuffer(string: upgrade)).wait()
        let deadline = NIODeadline.now() + .seconds(5)
        while try perRead() == 1, NIODeadline.now() < deadline { usleep(10_000) }
        XCTAssertEqual(try perRead(), 4, "the WebSocket reads as NIO's default again")
        XCTAssertEqual(try readMaximum(), AdaptiveRecvByteBufferAllocator().maximum)
    }

    // MARK: the HTTP pipeline

    private func pipeline(_ config: HubConfig = HubConfig()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let core = HubCore(config: config, loop: channel.embeddedEventLoop)
        let connections = HubConnections(config: config, loop: channel.embeddedEventLoop, descriptorLimit: nil)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try Hub.configure(channel, core: core, connections: connections, upgrader: Hub.upgrader(core: core), limitReads: false)
        return channel
    }

    private func outbound(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let b = try channel.readOutbound(as: ByteBuffer.self) { out += String(decoding: b.readableBytesView, as: UTF8.self) }
        return out
    }

    func testPipelinedRequestsAreAnsweredInOrderAndTheUpgradeOnAReusedConnection() throws {
        let channel = try pipeline()
        let upgrade = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
            + "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try channel.writeInbound(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n" + upgrade))
        channel.embeddedEventLoop.run()  // the hub flushes WebSocket writes after the loop's batch
        let out = try outbound(channel)
        let statuses = out.components(separatedBy: "HTTP/1.1 ").dropFirst().map { "HTTP/1.1 " + ($0.components(separatedBy: "\r\n").first ?? "") }
        XCTAssertEqual(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 101 Switching Protocols"], out)
        XCTAssertTrue(out.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), out)
        let afterUpgrade = out.components(separatedBy: "101 Switching Protocols").last ?? ""
        XCTAssertTrue(afterUpgrade.contains("0{") && afterUpgrade.contains("\"sid\":"), "the Engine.IO open packet follows: \(out)")
        let sync = channel.pipeline.syncOperations
        XCTAssertNil(try? sync.handler(type: HubHTTPHandler.self), "the HTTP handlers are gone")
        XCTAssertNil(try? sync.handler(type: HTTPResponseEncoder.self))
        XCTAssertNil(try? sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
        XCTAssertNotNil(try? sync.handler(type: EngineConnectionHandler.self))
        _ = try? channel.finish()
    }

    func testReadsAreHeldBackWhileAResponseIsPending() throws {
        let channel = try pipeline()
        let head = HoldWrites()
        try channel.pipeline.syncOperations.addHandler(head, position: .first)
        let two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        try channel.writeInbound(ByteBuffer(string: two))
        channel.read()
        XCTAssertEqual(head.reads, 0, "the first response is not written yet: no read")
        XCTAssertEqual(head.heldResponses, 1, "one response at a time")
        head.release()
        XCTAssertEqual(head.reads, 0, "the second response is in flight")
        XCTAssertEqual(head.heldResponses, 1)
        head.release()
        XCTAssertEqual(head.reads, 1, "both answered: the held-back read goes through")
        channel.read()
        XCTAssertEqual(head.reads, 2)
        _ = try? channel.finish()
    }
}

/// Next to the head: counts reads and keeps writes (and their promises) until released.
private final class HoldWrites: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData
    var reads = 0
    var held: [(IOData, EventLoopPromise<Void>?)] = []
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func read(context: ChannelHandlerContext) { reads += 1 }
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append((unwrapOutboundIn(data), promise))
    }
    func flush(context: ChannelHandlerContext) {}

    var heldResponses: Int {
        held.filter { data, _ in
            if case .byteBuffer(let b) = data { return b.readableBytesView.starts(with: Array("HTTP/1.1 ".utf8)) }
            return false
        }.count
    }

    /// Writes what is held, as if the client took it.
    func release() {
        let all = held
        held = []
        for (data, promise) in all { context!.write(wrapOutboundOut(data), promise: promise) }
        context!.flush()
    }
}
