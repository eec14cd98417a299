import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// One HTTP connection until it closes or upgrades: serves each request with `HubRoutes`,
/// one at a time and each on its merits, a WebSocket upgrade included (on the first request
/// or the tenth of a kept-alive connection; NIO's upgrade handler only looks at the first).
///
/// Bounded whatever the client sends (issue #14):
/// - Requests are answered in order and one at a time; while a response is being written,
///   parts of pipelined requests wait here and the socket is not read (`read` is held back),
///   so a client that sends without reading fills its own buffers, not the hub.
/// - A response the client does not take within idleTimeout, or one that puts the channel
///   over the outbound limit (the write-buffer high mark), cuts the connection off.
/// - Deadlines (`HTTPTimeouts`): headers within headerTimeout, idleTimeout between requests
///   and for a stalled body. A body over maxPayload gets 413 and the connection is closed.
///
/// Pipeline: HTTPResponseEncoder, ByteToMessageHandler(HTTPRequestDecoder), this. An upgrade
/// removes all three and leaves the WebSocket handlers in their place.
final class HubHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {  // confined to the hub loop
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HubRoutes
    private let connections: HubConnections
    private let id: HubConnections.ID
    private let upgrader: NIOWebSocketServerUpgrader
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private var context: ChannelHandlerContext?

    private enum State: Equatable {
        /// Between requests, or reading a request's head.
        case idle
        /// Head in, reading the body.
        case receiving
        /// A response is being written; `keepAlive` once it is.
        case responding(keepAlive: Bool)
        case upgrading
        case closed
    }

    private var state = State.idle
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    /// Parts of pipelined requests that came while a response was being written.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    /// Raw bytes the HTTP decoder handed on during an upgrade: the WebSocket handlers' input.
    private var upgradeInput: [NIOAny] = []
    private var driving = false
    private var driveScheduled = false
    /// Requests answered since the loop last turned to other sockets (see `drive`).
    private var servedThisTurn = 0
    private var readHeldBack = false
    private var badInput = false
    /// The last part of the current socket read was a request's end.
    private var readEndedRequest = false
    private var timeouts: HTTPTimeouts
    private var timer: Scheduled<Void>?
    private var timerDeadline = Int64.max
    /// The channel's read settings before `limitReads`, for the WebSocket.
    private let savedReads: SavedReads?

    init(
        core: HubCore, connections: HubConnections, id: HubConnections.ID, upgrader: NIOWebSocketServerUpgrader,
        encoder: HTTPResponseEncoder, decoder: ByteToMessageHandler<HTTPRequestDecoder>, savedReads: SavedReads?
    ) {
        self.savedReads = savedReads
        self.routes = HubRoutes(core: core, connections: connections)
        self.connections = connections
        self.id = id
        self.upgrader = upgrader
        self.encoder = encoder
        self.decoder = decoder
        self.timeouts = HTTPTimeouts(now: Self.nowMillis(), header: core.config.headerTimeout, idle: core.config.idleTimeout)
    }

    /// Request line and headers together, at most (Node's default): what a connection may
    /// make the hub hold before its request is even known.
    static let maxHeaderBytes = 16 * 1024

    private static func nowMillis() -> Int64 { EngineConnectionHandler.nowMillis() }

    private var config: HubConfig { routes.core.config }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        armTimer()
    }

    /// Until the upgrade, one read of at most 16 KiB per wake-up: pipelined requests are
    /// parsed ahead of their answers by that much at most, and a deep pipeline does not hold
    /// the loop (NIO reads up to 4 × 64 KiB per wake-up, thousands of small requests: /healthz
    /// on another connection waited seconds). Returns the channel's own settings, which the
    /// WebSocket gets back (`restoreReads`).
    static func limitReads(_ channel: Channel) throws -> SavedReads? {
        guard let options = channel.syncOptions else { return nil }
        let saved = SavedReads(
            maxMessagesPerRead: try options.getOption(.maxMessagesPerRead), allocator: try options.getOption(.recvAllocator))
        try options.setOption(.maxMessagesPerRead, value: 1)
        // Starting at 256 bytes like the WebSocket's allocator (Hub.start): the channel keeps
        // its receive buffer for life, and one of 2 KiB was a third of an idle WebSocket's
        // memory (issue #14); a longer request grows it (up to 16 KiB) as before.
        try options.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 16 * 1024))
        return saved
    }

    struct SavedReads {
        var maxMessagesPerRead: UInt
        var allocator: RecvByteBufferAllocator
    }

    private func restoreReads(_ context: ChannelHandlerContext) {
        guard let saved = savedReads, let options = context.channel.syncOptions else { return }
        try? options.setOption(.maxMessagesPerRead, value: saved.maxMessagesPerRead)
        try? options.setOption(.recvAllocator, value: saved.allocator)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state != .upgrading { state = .closed }
        cancelTimer()
        context.fireChannelInactive()
    }

    /// Leaving after an upgrade: what the client sent after its upgrade request goes on to
    /// the WebSocket handlers, and a read held back is let through.
    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        let input = upgradeInput
        upgradeInput = []
        for data in input { context.fireChannelRead(data) }
        if !input.isEmpty { context.fireChannelReadComplete() }
        if readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .upgrading: upgradeInput.append(data)
        case .closed: break
        case .idle, .receiving, .responding:
            let part = unwrapInboundIn(data)
            if case .end = part { readEndedRequest = true } else { readEndedRequest = false }
            queued.append(part)
            drive()
        }
    }

    /// Once per socket read, after its parts. Bytes that did not end a request are the
    /// start (or more) of the next one: they start its header clock or keep its body alive.
    func channelReadComplete(context: ChannelHandlerContext) {
        if !readEndedRequest, state == .idle || state == .receiving {
            timeouts.bytesArrived(now: Self.nowMillis())
            armTimer()
        }
        readEndedRequest = false
        if queued.isEmpty { servedThisTurn = 0 }  // the next read starts a new turn
        context.fireChannelReadComplete()
    }

    /// Handles queued parts in order until a response is in flight or nothing is left; a
    /// response written meanwhile (a write can complete inside the call that makes it) is
    /// picked up here rather than by recursion, whatever the number of pipelined requests.
    /// After `requestsPerTurn` requests the rest waits for a later turn of the loop, so one
    /// connection's pipeline cannot keep the loop from everyone else (`driveLater`).
    private func drive() {
        guard !driving, !driveScheduled else { return }
        driving = true
        defer { driving = false }
        while true {
            switch state {
            case .idle, .receiving:
                guard let part = queued.popFirst() else { return letReadThrough() }
                if case .end = part { servedThisTurn += 1 }
                handle(part)
                if servedThisTurn >= Self.requestsPerTurn, !queued.isEmpty, state == .idle || state == .receiving {
                    return driveLater()
                }
            case .responding, .upgrading, .closed:
                return
            }
        }
    }

    static let requestsPerTurn = 64

    /// Goes on with the queue after the loop has looked at other sockets. Not `execute`: NIO
    /// runs tasks submitted by tasks in the same tick, before any I/O; a task due a moment
    /// later is not ready when the loop next looks for tasks, so the loop polls I/O first.
    private func driveLater() {
        guard !driveScheduled, let context else { return }
        driveScheduled = true
        context.eventLoop.scheduleTask(in: .microseconds(100)) {
            self.driveScheduled = false
            self.servedThisTurn = 0
            self.drive()
        }
    }

    private func letReadThrough() {
        guard readHeldBack, let context else { return }
        readHeldBack = false
        context.read()
    }

    private func handle(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let h):
            head = h
            if body.capacity > 64 * 1024 { body = [] } else { body.removeAll(keepingCapacity: true) }
            tooLarge = false
            state = .receiving
            timeouts.headReceived(now: Self.nowMillis())
            armTimer()
        case .body(let buffer):
            guard !tooLarge else { return }
            if body.count + buffer.readableBytes > config.maxPayload {
                tooLarge = true
                body = []
            } else {
                body.append(contentsOf: buffer.readableBytesView)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            requestComplete(head)
        }
    }

    private func requestComplete(_ head: HTTPRequestHead) {
        routes.core.countHTTPRequest()
        if tooLarge {
            let reply = HTTPReply.altogicError(
                .payloadTooLarge, code: "payload_too_large", message: "request body over \(config.maxPayload) bytes")
            return respond(head: head, reply: reply, keepAlive: false)
        }
        switch HubRoutes.upgradeRequest(head) {
        case .websocket:
            return upgrade(head)
        case .refused(let reply):
            connections.countUpgradeRefused()
            log(.debug, "upgrade_refused", "refused WebSocket upgrade: \(head.method) \(head.uri): \(reply.body)")
            return respond(head: head, reply: reply, keepAlive: false)
        case .none:
            break
        }
        let reply = routes.reply(method: head.method, uri: head.uri, headers: head.headers, body: body)
        // After a request asking for an upgrade that is not made, the HTTP decoder reads no
        // further requests (it waits for the other protocol), so such a connection closes.
        let upgradeAsked = head.headers.contains(name: "Upgrade") || head.method == .CONNECT
        respond(head: head, reply: reply, keepAlive: head.isKeepAlive && !upgradeAsked)
    }

    // MARK: outbound

    func read(context: ChannelHandlerContext) {
        // Read on only while nothing waits: no response in flight, no queued request.
        if (state == .idle || state == .receiving) && queued.isEmpty {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    private func respond(head: HTTPRequestHead, reply: HTTPReply, keepAlive: Bool) {
        guard let context else { return }
        state = .responding(keepAlive: keepAlive)
        timeouts.responding(now: Self.nowMillis())
        armTimer()
        var buffer = context.channel.allocator.buffer(capacity: reply.body.utf8.count)
        buffer.writeString(reply.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { result in
            self.responseWritten(failed: (try? result.get()) == nil)
        }
    }

    private func responseWritten(failed: Bool) {
        guard case .responding(let keepAlive) = state, let context else { return }
        guard keepAlive, !failed else {
            state = .closed
            cancelTimer()
            context.close(promise: nil)
            return
        }
        state = .idle
        timeouts.responseWritten(now: Self.nowMillis())
        armTimer()
        drive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable, state != .upgrading, state != .closed {
            cutOff(.slowConsumer, "outbound buffer over \(config.effectiveOutboundLimit) bytes: the client does not read")
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: upgrade

    /// The WebSocket handshake (RFC 6455 §4.2.2): NIO's upgrader checks the key and version
    /// and computes the accept value; the HTTP handlers leave and the WebSocket ones take over.
    /// Reads stay held back meanwhile; bytes the decoder still held come here and are
    /// passed on when this handler leaves.
    private func upgrade(_ head: HTTPRequestHead) {
        guard let context else { return }
        state = .upgrading
        timeouts.stop()
        cancelTimer()
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: head, initialResponseHeaders: HTTPHeaders())
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    self.state = .idle
                    self.connections.countUpgradeRefused()
                    self.log(.debug, "upgrade_refused", "refused WebSocket upgrade: \(error)")
                    self.respond(head: head, reply: .text(.badRequest, "bad WebSocket handshake: \(error)\n"), keepAlive: false)
                case .success(let headers):
                    self.switchProtocols(head: head, headers: headers)
                }
            }
    }

    private func switchProtocols(head: HTTPRequestHead, headers: HTTPHeaders) {
        guard let context, state == .upgrading else { return }
        let sync = context.pipeline.syncOperations
        // No more HTTP parsing: what the decoder still holds comes here as raw bytes.
        sync.removeHandler(decoder, promise: nil)
        let response = HTTPResponseHead(version: head.version, status: .switchingProtocols, headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(response)), promise: nil)
        sync.removeHandler(encoder, promise: nil)
        // NIO's upgrader checked the request and made the response; the WebSocket's handlers
        // are the hub's own (Hub.addWebSocketHandlers: no frame encoder).
        do {
            try Hub.addWebSocketHandlers(context.channel, core: routes.core)
        } catch {
            state = .closed
            connections.count(.protocolError)
            log(.debug, "protocol_error", "WebSocket upgrade failed: \(error)")
            context.close(promise: nil)
            return
        }
        restoreReads(context)
        if let engine = try? sync.handler(type: EngineConnectionHandler.self), engine.key != 0 {
            connections.upgraded(id, key: engine.key)
        } else {
            connections.upgraded(id) { true }  // gone already: not one to evict
        }
        sync.removeHandler(context: context, promise: nil)
    }

    // MARK: errors and deadlines

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Closing makes the decoder see an early end of the stream: nothing to report then.
        guard state != .closed else { return }
        guard error is HTTPParserError || error is ByteToMessageDecoderError, state != .upgrading else {
            // A reset, a failed write, a failed upgrade: the connection is done.
            state = .closed
            cancelTimer()
            context.close(promise: nil)
            return
        }
        // The decoder reports bad input once and then refuses all that follows.
        guard !badInput else { return }
        badInput = true
        connections.count(.protocolError)
        log(.debug, "protocol_error", "bad HTTP request: \(error)")
        queued.removeAll()
        switch state {
        case .idle, .receiving:
            head = nil
            let bad = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
            let reply: HTTPReply = (error as? HTTPParserError) == .headerOverflow
                ? .text(.requestHeaderFieldsTooLarge, "request line and headers over \(Self.maxHeaderBytes) bytes\n")
                : .text(.badRequest, "bad request: \(error)\n")
            respond(head: bad, reply: reply, keepAlive: false)
        case .responding:
            state = .responding(keepAlive: false)  // the answer in flight is the last
        case .upgrading, .closed:
            break
        }
    }

    private func armTimer() {
        guard let context, let deadline = timeouts.deadline else { return cancelTimer() }
        // An earlier timer stays: it re-arms for the later deadline when it fires.
        if timer != nil && timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, deadline)) * 1_000_000)) {
            self.timerFired()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = .max
    }

    private func timerFired() {
        timer = nil
        timerDeadline = .max
        guard state != .closed, state != .upgrading else { return }
        if let reason = timeouts.expired(now: Self.nowMillis()) {
            let seconds = Double(reason == .headerTimeout ? timeouts.header : timeouts.idle) / 1000
            switch reason {
            case .headerTimeout: cutOff(reason, "request headers not complete within \(seconds) s (headerTimeout)")
            case .idleTimeout: cutOff(reason, "no request for \(seconds) s (idleTimeout)")
            case .bodyTimeout: cutOff(reason, "request body stalled for \(seconds) s (idleTimeout)")
            case .slowConsumer: cutOff(reason, "response not taken within \(seconds) s (idleTimeout): the client does not read")
            case .evicted, .protocolError: cutOff(reason, reason.rawValue)
            }
        } else {
            armTimer()
        }
    }

    /// Closes the connection for `reason`, counted and logged with the peer.
    private func cutOff(_ reason: HubConnectionMetrics.CloseReason, _ message: String) {
        guard let context, state != .closed else { return }
        state = .closed
        timeouts.stop()
        cancelTimer()
        connections.count(reason)
        log(Self.level(reason), reason.rawValue, "closed connection: \(message)")
        queued.removeAll()
        context.close(promise: nil)
    }

    /// Idle keep-alive ends and bad requests are routine (debug); timeouts are info and
    /// cut-offs notice, as on the WebSocket side.
    static func level(_ reason: HubConnectionMetrics.CloseReason) -> Logger.Level {
        switch reason {
        case .idleTimeout, .protocolError: return .debug
        case .headerTimeout, .bodyTimeout: return .info
        case .slowConsumer, .evicted: return .notice
        }
    }

    private func log(_ level: Logger.Level, _ reason: String, _ message: @autoclosure () -> String) {
        connections.log.log(level, reason, peer: self.context.map { HubLog.peer(of: $0.channel) }, message())
    }
}
