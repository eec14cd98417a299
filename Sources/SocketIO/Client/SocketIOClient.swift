import Clocks
import NIOCore
import NIOSSL
import NIOWebSocket
import RTJSON

/// The Engine.IO v4 / Socket.IO v5 client over a NIO WebSocket: connects, keeps the
/// heartbeat, reconnects with back-off, and turns frames into delegate calls.
///
/// Confined to `eventLoop`: every method must be called there, and every delegate call and
/// ack callback happens there, so no state needs a lock (hence `@unchecked Sendable`).
public final class SocketIOClient: SocketIOConnection, @unchecked Sendable {
    public weak var delegate: SocketIOConnectionDelegate?
    public let eventLoop: EventLoop
    public private(set) var sid: String?
    public var isConnected: Bool { state == .connected }

    private enum State { case idle, connecting, waitingToReconnect, connected }

    private let config: SocketIOClientConfig
    private let endpoint: Result<WebSocketEndpoint, SocketIOError>
    private var backoff: Backoff
    private var state = State.idle
    /// Names the current connection attempt; bumped by every teardown so reports and
    /// timers of an abandoned channel are ignored.
    private var epoch: UInt64 = 0
    private var channel: Channel?
    /// The current connection's writer of data frames.
    private var outlet: MaskedFrameOutlet?
    private var handshake: EngineHandshake?
    private var decoder: SocketPacketDecoder
    private var heartbeat: HeartbeatMonitor?
    private var heartbeatTimer: ClockTask?
    private var attemptTimer: ClockTask?
    /// Keeps a virtual clock (`config.clock`) from moving on while the attempt is under way.
    private var attemptHold: ClockTask?
    private var reconnectTimer: ClockTask?
    private var reconnectAttempt = 0
    private var nextAckId = 0
    private var pendingAcks: [Int: (Result<[JSONValue], SocketIOError>) -> Void] = [:]
    private var flushScheduled = false
    private var tlsContext: NIOSSLContext?
    /// Channels given up but not closed yet (a graceful close draining), and who waits for
    /// them all to be closed.
    private var closingTransports = 0
    private var closedWaiters: [() -> Void] = []
    private var maskKeys = MaskKeyGenerator()
    /// The text-argument emit's frame buffer, reused while it stays this small.
    private var frameScratch: [UInt8] = []
    private static let keptFrameCapacity = 1 << 16
    /// `42["event",` of the last text-argument emit (the manager emits "message" again and again).
    private var lastEventHead: (event: String, bytes: [UInt8])?

    public convenience init(config: SocketIOClientConfig, eventLoop: EventLoop) {
        self.init(config: config, eventLoop: eventLoop, random: { Double.random(in: 0..<1) })
    }

    /// `random` drives the back-off jitter (tests pin it).
    public init(config: SocketIOClientConfig, eventLoop: EventLoop, random: @escaping () -> Double) {
        self.config = config
        self.eventLoop = eventLoop
        decoder = SocketPacketDecoder(rawFromDepth: config.rawFromDepth)
        endpoint = Result { () throws(SocketIOError) in try WebSocketEndpoint(url: config.url) }
        backoff = Backoff(min: config.reconnectionDelay, max: config.reconnectionDelayMax,
                          factor: config.randomizationFactor, random: random)
    }

    // MARK: - SocketIOConnection

    public func connect() {
        eventLoop.assertInEventLoop()
        guard state == .idle else { return }
        backoff.reset()
        reconnectAttempt = 0
        startAttempt()
    }

    public func disconnect() {
        eventLoop.assertInEventLoop()
        guard state != .idle else { return }
        finish(reason: "io client disconnect", error: nil, retry: false, notifyServer: true)
    }

    /// The delegate hears of the disconnect at once, as with `disconnect()`; `completion`
    /// waits for the wire: the server's answer to the close handshake, or `closeTimeout`.
    public func disconnect(completion: @escaping () -> Void) {
        disconnect()
        if closingTransports == 0 {
            completion()
        } else {
            closedWaiters.append(completion)
        }
    }

    public func emit(_ event: String, _ args: [JSONValue], ack: ((Result<[JSONValue], SocketIOError>) -> Void)?) throws(SocketIOError) {
        eventLoop.assertInEventLoop()
        guard state == .connected, let handshake else {
            throw SocketIOError(.notConnected, "cannot emit '\(event)': not connected")
        }
        let id = ack == nil ? nil : nextAckId
        let encoded: EncodedSocketPacket
        do {
            encoded = try SocketPacketEncoder.encode(.event(event, args, id: id))
        } catch {
            throw SocketIOError(.invalidArgument, "cannot encode event '\(event)': \(error.message)")
        }
        let size = encoded.byteCount
        guard size <= handshake.maxPayload else {
            throw SocketIOError(.payloadTooLarge,
                "event '\(event)' is \(size) bytes, above the server's maxPayload of \(handshake.maxPayload) bytes")
        }
        if let ack, let id {
            nextAckId = id == Int.max ? 0 : id + 1
            pendingAcks[id] = ack
        }
        write(encoded)
    }

    /// The frame is written once, into a buffer kept from one emit to the next, and masked
    /// from there into the outbox: no packet value, no argument array, no allocation.
    public func emit(_ event: String, argumentText argument: (inout [UInt8]) -> Void) throws(SocketIOError) {
        eventLoop.assertInEventLoop()
        guard state == .connected, let maxPayload = handshake?.maxPayload else {
            throw SocketIOError(.notConnected, "cannot emit '\(event)': not connected")
        }
        if lastEventHead?.event != event {
            var head: [UInt8] = []
            SocketPacketEncoder.writeEventFrameHead(event, into: &head)
            lastEventHead = (event, head)
        }
        var frame = frameScratch
        frameScratch = []
        frame.removeAll(keepingCapacity: true)
        frame.append(contentsOf: lastEventHead!.bytes)  // = SocketPacketEncoder.writeEventFrame
        argument(&frame)
        frame.append(UInt8(ascii: "]"))
        defer { if frame.capacity <= Self.keptFrameCapacity { frameScratch = frame } }
        guard frame.count <= maxPayload else {
            throw SocketIOError(.payloadTooLarge,
                "event '\(event)' is \(frame.count) bytes, above the server's maxPayload of \(maxPayload) bytes")
        }
        write(frame: frame, attachments: [])
    }

    // MARK: - Connection life

    private func startAttempt() {
        state = .connecting
        epoch &+= 1
        let attempt = epoch
        let endpoint: WebSocketEndpoint
        do { endpoint = try self.endpoint.get() } catch {
            finish(reason: error.message, error: error, retry: false)
            return
        }
        var tls: NIOSSLContext?
        if endpoint.tls {
            do {
                if tlsContext == nil {
                    var configuration = TLSConfiguration.makeClientConfiguration()
                    if let roots = config.tlsTrustRootsFile { configuration.trustRoots = .file(roots) }
                    tlsContext = try NIOSSLContext(configuration: configuration)
                }
                tls = tlsContext
            } catch {
                finish(reason: "TLS setup failed: \(error)", error: SocketIOError(.transport, "TLS setup failed: \(error)"), retry: false)
                return
            }
        }
        config.trace?("connecting to \(config.url) (\(reconnectAttempt == 0 ? "first attempt" : "attempt \(reconnectAttempt + 1)"), timeout \(config.timeout) ms)")
        let timeout = TimeAmount.milliseconds(max(1, config.timeout))
        attemptHold = config.clock?.hold()
        attemptTimer = after(milliseconds: max(1, config.timeout), liveness: true) { [self] in
            guard epoch == attempt, state == .connecting else { return }
            let message = "connection attempt timed out after \(config.timeout) ms"
            finish(reason: message, error: SocketIOError(.timeout, message), retry: true)
        }
        let outlet = MaskedFrameOutlet()
        let connecting = WebSocketConnector.connect(endpoint: endpoint, headers: config.headers, tls: tls, connectTimeout: timeout,
                                                    eventLoop: eventLoop, sink: self, outlet: outlet, epoch: attempt)
            .hop(to: eventLoop)
        connecting.whenComplete { [self] result in
            switch result {
            case .success(let channel):
                if epoch == attempt, state == .connecting {
                    self.channel = channel
                    self.outlet = outlet
                } else {
                    channel.close(promise: nil)
                }
            case .failure(let error):
                guard epoch == attempt, state == .connecting else { return }
                let message = "cannot connect to \(endpoint.host):\(endpoint.port): \(error)"
                finish(reason: message, error: SocketIOError(.transport, message), retry: true)
            }
        }
    }

    /// The transport ended (closed, errored, timed out, or spoke nonsense).
    private func transportEnded(_ reason: String, kind: SocketIOError.Kind = .transport) {
        switch state {
        case .connecting: finish(reason: reason, error: SocketIOError(kind, reason), retry: true)
        case .connected: finish(reason: reason, error: nil, retry: true)
        case .idle, .waitingToReconnect: break
        }
    }

    /// The one cleanup path: drops the transport and its timers, settles the next state
    /// (back-off timer or idle), then tells the delegate and fails the pending acks.
    private func finish(reason: String, error: SocketIOError?, retry: Bool, notifyServer: Bool = false) {
        let wasConnected = state == .connected
        epoch &+= 1
        endAttemptTimers()
        heartbeatTimer?.cancel()
        heartbeatTimer = nil
        reconnectTimer?.cancel()
        reconnectTimer = nil
        if let channel {
            self.channel = nil
            outlet = nil
            if notifyServer, wasConnected {
                closeGracefully(channel)
            } else {
                channel.flush()
                channel.close(promise: nil)
            }
            trackClosing(channel.closeFuture)
        }
        // A TCP connect still under way has sent nothing, so there is nothing to drain: it is
        // not waited for (an unreachable host would hold a close for the whole connect
        // timeout). Its completion handler closes the channel it may still bring.
        handshake = nil
        heartbeat = nil
        sid = nil
        decoder.reset()
        let acks = pendingAcks
        pendingAcks = [:]

        let willReconnect = retry && config.reconnection
        if let trace = config.trace {
            let outcome = wasConnected ? "disconnected" : error != nil ? "connection attempt failed" : "connection attempt abandoned"
            trace("\(outcome): \(reason)\(willReconnect ? "" : " (no reconnection)")")
        }
        if willReconnect {
            state = .waitingToReconnect
            scheduleReconnect()
        } else {
            state = .idle
        }

        if wasConnected {
            delegate?.socketDidDisconnect(reason: reason, willReconnect: willReconnect)
        } else if let error {
            delegate?.socketDidFail(error: error, willReconnect: willReconnect)
        }
        if !acks.isEmpty {
            let failure = SocketIOError(.notConnected, "connection closed before the ack arrived (\(reason))")
            for id in acks.keys.sorted() { acks[id]!(.failure(failure)) }
        }
    }

    /// How long a graceful close waits for the server's close frame before hanging up.
    static let closeTimeout = TimeAmount.seconds(2)

    /// socket.io-client's goodbye: DISCONNECT, then a WebSocket close (1000). The channel
    /// stays open, reading and discarding, until the server answers the close or hangs up.
    /// Hanging up at once with unread data (the server's echoes, say) makes the kernel
    /// answer with a reset, and the server's kernel then drops what the server has not
    /// read yet: the last emits would be lost.
    private func closeGracefully(_ channel: Channel) {
        var bye = channel.allocator.buffer(capacity: 2)
        bye.writeStaticString("41")
        channel.write(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &maskKeys), data: bye), promise: nil)
        var code = channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .normalClosure)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(using: &maskKeys), data: code), promise: nil)
        let deadline = eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
    }

    private func trackClosing(_ closed: EventLoopFuture<Void>) {
        closingTransports += 1
        closed.hop(to: eventLoop).whenComplete { [self] _ in
            closingTransports -= 1
            guard closingTransports == 0 else { return }
            let waiters = closedWaiters
            closedWaiters = []
            for waiter in waiters { waiter() }
        }
    }

    private func scheduleReconnect() {
        let delay = backoff.next()
        config.trace?("reconnecting in \(delay) ms (back-off)")
        let waiting = epoch
        reconnectTimer = after(milliseconds: delay) { [self] in
            guard epoch == waiting, state == .waitingToReconnect else { return }
            reconnectTimer = nil
            reconnectAttempt += 1
            delegate?.socketWillReconnect(attempt: reconnectAttempt)
            // The delegate may have called disconnect() (or connect()) meanwhile.
            guard epoch == waiting, state == .waitingToReconnect else { return }
            startAttempt()
        }
    }

    private func endAttemptTimers() {
        attemptTimer?.cancel()
        attemptTimer = nil
        attemptHold?.cancel()
        attemptHold = nil
    }

    // MARK: - Timers (the event loop's, or `config.clock`)

    /// Milliseconds on the timers' clock: uptime, or the epoch on `config.clock`.
    private func nowMillis() -> Int64 {
        if let clock = config.clock { return Int64((clock.now() * 1000).rounded()) }
        return Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }

    /// `liveness`: a timer of the connection's own (EventClock.scheduleLiveness), which does
    /// not keep a virtual clock's `runUntilIdle` going; the back-off is not one.
    private func after(milliseconds: Int64, liveness: Bool = false, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        if let clock = config.clock {
            let seconds = Double(milliseconds) / 1000
            return liveness
                ? clock.scheduleLiveness(at: clock.now() + seconds, .exact, on: eventLoop, fn)
                : clock.schedule(in: seconds, on: eventLoop, fn)
        }
        let task = eventLoop.scheduleTask(in: .milliseconds(milliseconds), fn)
        return ClockTask { task.cancel() }
    }

    private func armHeartbeat(at deadline: Int64) {
        let current = epoch
        let check: @Sendable () -> Void = { [self] in
            guard epoch == current, let heartbeat else { return }
            switch heartbeat.check(now: nowMillis()) {
            case .expired: transportEnded("ping timeout")
            case .checkAgain(let next): armHeartbeat(at: next)
            }
        }
        if let clock = config.clock {
            let at = Double(deadline) / 1000
            // Once the server pings, its pings are what keep the deadline moving: on a virtual
            // clock the check may then run at the end of a stretch the clock skips (after the
            // pings coalesced into it), instead of stopping the clock every window.
            heartbeatTimer = clock.scheduleLiveness(at: at, heartbeat?.heardPing == true ? .check : .exact, on: eventLoop, check)
        } else {
            let task = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, deadline)) * 1_000_000), check)
            heartbeatTimer = ClockTask { task.cancel() }
        }
    }

    // MARK: - Engine.IO

    private func receivedEngineText(_ data: ByteBuffer) {
        heartbeat?.frameReceived(at: nowMillis())
        guard let first = data.getInteger(at: data.readerIndex, as: UInt8.self) else {
            transportEnded("parse error: empty Engine.IO packet", kind: .protocolViolation)
            return
        }
        switch first {
        case UInt8(ascii: "4"):
            guard handshake != nil else {
                transportEnded("parse error: message before the open packet", kind: .protocolViolation)
                return
            }
            let result: Result<SocketPacket?, CodecError> = data.withUnsafeReadableBytes { raw in
                let bytes = UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self).dropFirst())
                do throws(CodecError) { return .success(try decoder.receiveText(bytes: bytes)) } catch { return .failure(error) }
            }
            switch result {
            case .success(let packet): if let packet { receivedSocketPacket(packet) }
            case .failure(let error): transportEnded("parse error: \(error.message)", kind: .protocolViolation)
            }
        case UInt8(ascii: "2"):
            // Ping: answer with a pong carrying the same payload.
            heartbeat?.pingReceived()
            guard let channel else { return }
            var pong = data
            pong.setInteger(UInt8(ascii: "3"), at: pong.readerIndex)
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &maskKeys), data: pong), promise: nil)
        default:
            let packet: EnginePacket
            do { packet = try EnginePacket.decode(String(buffer: data)) } catch {
                transportEnded("parse error: \(error.message)", kind: .protocolViolation)
                return
            }
            receivedEnginePacket(packet)
        }
    }

    private func receivedEnginePacket(_ packet: EnginePacket) {
        switch packet {
        case .open(let hs):
            guard handshake == nil, state == .connecting else {
                transportEnded("parse error: unexpected second open packet", kind: .protocolViolation)
                return
            }
            handshake = hs
            let monitor = HeartbeatMonitor(pingInterval: hs.pingInterval, pingTimeout: hs.pingTimeout, now: nowMillis())
            heartbeat = monitor
            armHeartbeat(at: monitor.deadline)
            do {
                write(try SocketPacketEncoder.encode(.connect(auth: config.auth)))
            } catch {
                finish(reason: "cannot encode auth: \(error.message)",
                       error: SocketIOError(.invalidArgument, "cannot encode auth: \(error.message)"), retry: false)
            }
        case .close:
            transportEnded("transport close")
        case .ping(let payload):
            heartbeat?.pingReceived()
            guard let channel else { return }
            var pong = channel.allocator.buffer(capacity: 1 + (payload?.utf8.count ?? 0))
            pong.writeString(EnginePacket.pong(payload).encoded())
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &maskKeys), data: pong), promise: nil)
        case .message, .pong, .upgrade, .noop:
            // "4…" frames take the byte path in receivedEngineText.
            break
        }
    }

    private func receivedEngineBinary(_ data: ByteBuffer) {
        heartbeat?.frameReceived(at: nowMillis())
        let packet: SocketPacket?
        do { packet = try decoder.receiveBinary(Array(data.readableBytesView)) } catch {
            transportEnded("parse error: \(error.message)", kind: .protocolViolation)
            return
        }
        if let packet { receivedSocketPacket(packet) }
    }

    // MARK: - Socket.IO

    private func receivedSocketPacket(_ packet: SocketPacket) {
        guard packet.namespace == "/" else { return }
        switch packet.type {
        case .connect:
            guard state == .connecting else { return }
            endAttemptTimers()
            let sid = packet.data?["sid"]?.stringValue ?? ""
            self.sid = sid
            state = .connected
            backoff.reset()
            reconnectAttempt = 0
            config.trace?("connected, socket id \(sid)")
            delegate?.socketDidConnect(sid: sid)
        case .connectError:
            let data = packet.data
            let message = data?["message"]?.stringValue ?? data?.stringValue ?? "connection refused"
            // A refusal (wrong key, say) will not become right by retrying.
            finish(reason: message, error: SocketIOError(.connectRefused, message, data: data), retry: false)
        case .disconnect:
            guard state == .connected else { return }
            finish(reason: "io server disconnect", error: nil, retry: false)
        case .event, .binaryEvent:
            guard state == .connected, let name = packet.eventName else { return }
            var ack: (([JSONValue]) -> Void)?
            if let id = packet.id { ack = makeServerAck(id: id) }
            delegate?.socketDidReceive(event: name, args: packet.eventArgs, ack: ack)
        case .ack, .binaryAck:
            guard let id = packet.id, let callback = pendingAcks.removeValue(forKey: id) else { return }
            callback(.success(packet.eventArgs))
        }
    }

    /// The callback a delegate uses to answer a server event that asked for an ack. Only the
    /// first call counts, and only on the connection the event came from.
    private func makeServerAck(id: Int) -> ([JSONValue]) -> Void {
        let connection = epoch
        var answered = false
        return { [weak self] args in
            guard let self, !answered else { return }
            self.eventLoop.assertInEventLoop()
            answered = true
            // An ack the server would refuse (too large, unencodable) is dropped: there is
            // no caller to throw to, and sending it would only cost the connection.
            guard self.epoch == connection, self.state == .connected, let handshake = self.handshake,
                  let encoded = try? SocketPacketEncoder.encode(.ack(id: id, args: args)),
                  encoded.byteCount <= handshake.maxPayload else { return }
            self.write(encoded)
        }
    }

    // MARK: - Writing

    /// Queues the packet's frames; one flush per event-loop tick carries everything written
    /// in it, so a burst of emits costs one syscall, not one each.
    private func write(_ encoded: EncodedSocketPacket) {
        write(frame: encoded.engineFrame, attachments: encoded.attachments)
    }

    private func write(frame: [UInt8], attachments: [[UInt8]]) {
        guard channel != nil, let outlet, outlet.isReady else { return }
        outlet.write(opcode: MaskedFrame.text, payload: frame, maskKey: maskKeys.nextKey())
        for attachment in attachments {
            outlet.write(opcode: MaskedFrame.binary, payload: attachment, maskKey: maskKeys.nextKey())
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute { [self] in
            flushScheduled = false
            self.channel?.flush()
        }
    }
}

extension SocketIOClient: WebSocketTransportSink {
    func transportReceivedText(_ data: ByteBuffer, epoch: UInt64) {
        guard epoch == self.epoch else { return }
        receivedEngineText(data)
    }

    func transportReceivedBinary(_ data: ByteBuffer, epoch: UInt64) {
        guard epoch == self.epoch else { return }
        receivedEngineBinary(data)
    }

    func transportClosed(reason: String, epoch: UInt64) {
        guard epoch == self.epoch else { return }
        transportEnded(reason)
    }
}

/// Client frames must be masked (RFC 6455 §5.3). SplitMix64 seeded from the system source
/// gives a fresh key per frame without a getrandom call per message.
struct MaskKeyGenerator: RandomNumberGenerator {
    private var state = UInt64.random(in: .min ... .max)

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextKey() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
}
