import Clocks
import Logging
import NIOCore
import NIOWebSocket
import RTJSON
import SocketIO

/// One client's Engine.IO v4 session over an upgraded WebSocket: RFC 6455 framing rules
/// (its own fragment reassembly, masking, reserved bits, opcodes, UTF-8, the close
/// handshake), the open packet, the heartbeat and the other clocks (`ConnectionTimers`),
/// Socket.IO packet decoding, and the per-connection limits (docs/limits.md): the packet
/// rate, partial binary packets, refused CONNECTs, and one outbound limit for every byte
/// written. What a packet means for others is the core's business.
final class EngineConnectionHandler: ChannelInboundHandler, @unchecked Sendable {  // confined to the hub loop
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let core: HubCore
    /// Where frames go: nil in the hub, whose WebSocket pipeline has no frame encoder, so
    /// bytes written from here reach the socket as they are; tests with NIO's encoder in the
    /// pipeline pass a `WireFrameOutlet` next to its head.
    private let outlet: WireFrameOutlet?
    private var context: ChannelHandlerContext?
    private(set) var key: HubRouter.SocketKey = 0
    private var timers: ConnectionTimers
    /// When the core wakes this connection next (`HubCore.wake`; .max: not asked); a later
    /// wake leaves it be (it comes early and reschedules).
    private var scheduledWake: Int64 = .max
    /// With `config.clock`: the scheduled wake is a routine ping (`HubCore.wake`).
    private var scheduledRoutine = false
    /// With `config.clock`: holds the clock while a ping waits for its pong.
    private var pingHold: ClockTask?
    private var bucket: PacketBucket
    /// For the packets `ClientCommand.parse(eventPacket:)` leaves to it. An event's arguments
    /// stay JSON text (`.raw`): the payload's few fields are read straight from it and the
    /// body (a message, member data) is relayed as it came.
    ///
    /// Made when a packet needs it and let go when no binary packet waits for attachments
    /// (it then holds nothing): an idle connection does not keep it (#14).
    private var decoderBox: DecoderBox?
    private final class DecoderBox {
        var decoder = SocketPacketDecoder(rawFromDepth: 1)
    }
    private var decoder: DecoderBox {
        if let d = decoderBox { return d }
        let d = DecoderBox()
        decoderBox = d
        return d
    }
    /// `decoder.isAwaitingAttachments`, kept after each decoder call: a text packet then
    /// goes to the decoder (which refuses it), and the hot path asks no decoder.
    private var awaitingAttachments = false
    /// Attachment bytes held for the binary packet being received.
    private var pendingBinaryBytes = 0
    /// The current text frame, unmasked; reused so reading a packet allocates no buffer.
    private var textPayload: [UInt8] = []
    /// A fragmented message being put together (RFC 6455 §5.4), unmasked; its opcode is
    /// `fragmentOpcode` (0: none under way).
    private var fragments: [UInt8] = []
    private var fragmentOpcode: UInt8 = 0
    private var fragmentCount: UInt8 = 0
    static let maxFragments = 64
    /// Small frames written since the last flush, copied into one buffer: a fan-out then
    /// costs one pipeline write per recipient and loop turn, not one per event (NIO's write
    /// path costs far more than copying a small frame). Big frames go out as the one buffer
    /// every recipient shares.
    private var outbox: ByteBuffer?
    static let coalescedFrameLimit = 4096
    /// Bytes held here are not yet seen by the channel's writability: keep that slack small.
    static let outboxLimit = 64 * 1024
    private var socketConnected = false
    private var closing = false
    private var flushPending = false
    private var rateLimitLogged = false
    private var refusedConnects = 0

    init(core: HubCore, outlet: WireFrameOutlet? = nil) {
        self.core = core
        self.outlet = outlet
        let config = core.config
        self.timers = ConnectionTimers(
            now: core.timerNow(), pingInterval: config.pingInterval, pingTimeout: config.pingTimeout,
            connectTimeout: config.connectTimeout)
        self.bucket = PacketBucket(rate: config.packetRate, burst: config.packetBurst, now: Self.nowNanos())
    }

    static func nowMillis() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }
    static func nowNanos() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        key = core.register(self)
        let handshake = EngineHandshake(
            sid: core.makeSid(), upgrades: [], pingInterval: core.config.pingInterval,
            pingTimeout: core.config.pingTimeout, maxPayload: core.config.maxPayload)
        writeOwn(opcode: WireFrame.text, EnginePacket.open(handshake).encoded().utf8)
        scheduleTimer()
        // Gone during the upgrade: channelInactive will not come again, so let go now.
        if !context.channel.isActive { finish() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func finish() {
        scheduledWake = .max
        pingHold?.cancel()
        pingHold = nil
        closing = true
        if key != 0 {
            core.unregister(key)
            key = 0
        }
        context = nil
    }

    // MARK: inbound frames (RFC 6455)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        // §5.1: a client masks every frame. §5.2: no extension is negotiated, so no RSV bit
        // may be set. NIO's decoder checks neither (nor the opcode, nor fragment order).
        guard frame.maskKey != nil else { return failConnection(1002, "unmasked client frame") }
        guard !(frame.rsv1 || frame.rsv2 || frame.rsv3) else { return failConnection(1002, "reserved bit set") }
        switch frame.opcode {
        case .text:
            guard fragmentOpcode == 0 else { return failConnection(1002, "new message inside a fragmented one") }
            guard frame.fin else { return startFragments(frame, opcode: WireFrame.text) }
            guard takeToken() else { return }
            // Borrowed out of the property while in use (a nested read would get a fresh one).
            var text: [UInt8] = []
            swap(&text, &textPayload)
            WireFrame.unmaskPayload(of: frame, into: &text)
            text.withUnsafeBufferPointer { receiveText($0) }
            // Kept for the next packet unless big: an idle connection should not keep the
            // room its largest packet took.
            if text.capacity <= 4096 { textPayload = text }
        case .binary:
            guard fragmentOpcode == 0 else { return failConnection(1002, "new message inside a fragmented one") }
            guard frame.fin else { return startFragments(frame, opcode: WireFrame.binary) }
            var bytes: [UInt8] = []
            WireFrame.unmaskPayload(of: frame, into: &bytes)
            receiveBinary(bytes)
        case .continuation:
            guard fragmentOpcode != 0 else { return failConnection(1002, "continuation frame outside a fragmented message") }
            appendFragment(frame)
        case .connectionClose:
            receiveClose(frame.unmaskedData)
        case .ping:
            guard takeToken() else { return }
            writeOwn(opcode: WireFrame.pong, frame.unmaskedData.readableBytesView)
        case .pong:
            _ = takeToken()  // nothing to do with it, but a flood of them is still a flood
        default:
            failConnection(1002, "unknown opcode \(UInt8(webSocketOpcode: frame.opcode))")
        }
    }

    private func startFragments(_ frame: WebSocketFrame, opcode: UInt8) {
        fragmentOpcode = opcode
        fragmentCount = 0
        fragments = []
        appendFragment(frame)
    }

    private func appendFragment(_ frame: WebSocketFrame) {
        fragmentCount += 1
        guard fragments.count + frame.data.readableBytes <= core.config.maxPayload else { return tooLarge() }
        guard Int(fragmentCount) <= Self.maxFragments else {
            return failConnection(1009, "more than \(Self.maxFragments) fragments in one message")
        }
        WireFrame.appendUnmaskedPayload(of: frame, to: &fragments)
        guard frame.fin else { return }
        let opcode = fragmentOpcode
        var message: [UInt8] = []
        swap(&message, &fragments)
        fragmentOpcode = 0
        if opcode == WireFrame.text {
            // A fragmented text message is one packet: it takes its token once whole (its
            // fragments, at most 64, cost no more than that).
            guard takeToken() else { return }
            message.withUnsafeBufferPointer { receiveText($0) }
        } else {
            receiveBinary(message)
        }
    }

    /// §5.5.1 / §7.4: a close frame's payload is empty or a valid code and UTF-8 reason.
    /// A valid close is answered with its code (§5.5.1: echo it); an invalid one fails the connection.
    private func receiveClose(_ payload: ByteBuffer) {
        switch payload.readableBytes {
        case 0:
            close(code: nil, reason: nil)
        case 1:
            failConnection(1002, "close frame with a 1-byte payload")
        default:
            let code = payload.getInteger(at: payload.readerIndex, as: UInt16.self)!
            guard Self.isValidReceivedCloseCode(code) else { return failConnection(1002, "close code \(code)") }
            let reasonValid = payload.withUnsafeReadableBytes {
                JSONValue.isValidUTF8(UnsafeBufferPointer(rebasing: $0.bindMemory(to: UInt8.self)[2...]))
            }
            guard reasonValid else { return failConnection(1007, "close reason not UTF-8") }
            close(code: code, reason: nil)
        }
    }

    /// Codes a peer may send (RFC 6455 §7.4.1, the IANA registry): 1004–1006 and 1015 are
    /// never sent, 1016–2999 are unassigned, 5000 and up are out of range.
    static func isValidReceivedCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    // MARK: inbound packets (Engine.IO / Socket.IO)

    private func receiveText(_ text: UnsafeBufferPointer<UInt8>) {
        // §8.1: a text message that is not UTF-8 fails the connection (and parts of packets
        // are relayed byte for byte, so broken UTF-8 must not pass anyway).
        guard JSONValue.isValidUTF8(text) else { return failConnection(1007, "text message not UTF-8") }
        guard let first = text.first else { return drop(.malformed) }
        switch first {
        case UInt8(ascii: "4"):
            core.countPacketIn()
            let packet = UnsafeBufferPointer(rebasing: text[1...])
            guard let t = packet.first, t >= UInt8(ascii: "0"), t <= UInt8(ascii: "6") else {
                return drop(packet.isEmpty ? .malformed : .unknownType)
            }
            // A plain event (nearly all traffic) is read in one pass, with no packet built.
            if !awaitingAttachments, let event = ClientCommand.parse(eventPacket: packet) {
                return receiveEvent(event)
            }
            let decoded: SocketPacket?
            do { decoded = try decoder.decoder.receiveText(bytes: packet) } catch { decoded = nil; drop(.malformed) }
            decoderMoved()
            if let decoded { receive(decoded) }
        case UInt8(ascii: "3"):
            timers.pongReceived(now: core.timerNow())
            pingHold?.cancel()
            pingHold = nil
            scheduleTimer()
        case UInt8(ascii: "2"):
            // Engine.IO v4 clients do not ping, but answering one costs little (and counts
            // against the outbound limit like any write).
            var pong = [UInt8](text)
            pong[0] = UInt8(ascii: "3")
            writeOwn(opcode: WireFrame.text, pong)
        case UInt8(ascii: "1"):
            close(code: nil, reason: nil)
        case UInt8(ascii: "6"):
            break
        case UInt8(ascii: "0"), UInt8(ascii: "5"):
            drop(.unknownType)
        default:
            drop(.malformed)
        }
    }

    /// A binary message: the next attachment of the binary packet under way.
    private func receiveBinary(_ bytes: [UInt8]) {
        core.countPacketIn()
        // An attachment is paid for by its packet's token; a stray binary frame takes its own.
        guard awaitingAttachments else {
            if takeToken() { drop(.malformed) }
            return
        }
        pendingBinaryBytes += bytes.count
        let limit = core.config.effectiveBinaryPacketLimit
        guard pendingBinaryBytes <= limit else {
            core.countBinaryOversize()
            logCutOff("binary packet attachments over \(limit) bytes")
            return close(code: 1009, reason: "binary packet over \(limit) bytes")
        }
        let packet: SocketPacket?
        do { packet = try decoder.decoder.receiveBinary(bytes) } catch { packet = nil; drop(.malformed) }
        decoderMoved()
        if let packet { receive(packet) }
    }

    /// After each decoder call: a binary packet that began waiting for its attachments has
    /// `binaryPacketTimeout` to get them; one that ended (complete or refused) lets go.
    private func decoderMoved() {
        let awaiting = decoderBox?.decoder.isAwaitingAttachments ?? false
        if !awaiting { decoderBox = nil }
        guard awaiting != awaitingAttachments else { return }
        awaitingAttachments = awaiting
        pendingBinaryBytes = 0
        if awaiting {
            timers.binaryStarted(now: core.timerNow(), timeout: core.config.binaryPacketTimeout)
            scheduleTimer()
        } else {
            timers.binaryEnded()
        }
    }

    private func receive(_ packet: SocketPacket) {
        switch packet.type {
        case .connect:
            guard packet.namespace == "/" else {
                drop(.badNamespace)
                send(SocketPacket(type: .connectError, namespace: packet.namespace, data: JSONValue.object(["message": "Invalid namespace"])))
                return
            }
            guard !socketConnected else { return }  // a repeated CONNECT changes nothing
            switch core.connectSocket(key, auth: packet.data) {
            case .success(let sid):
                socketConnected = true
                timers.socketConnected()
                scheduleTimer()
                send(SocketPacket(type: .connect, data: JSONValue.object(["sid": .string(sid)])))
            case .failure(let refusal):
                send(.connectError(message: refusal.message))
                refusedConnects += 1
                let limit = core.config.maxConnectAttempts
                if limit > 0, refusedConnects >= limit {
                    core.countWrongKeyDisconnect()
                    logCutOff("\(refusedConnects) refused CONNECTs (\(refusal.message))")
                    close(code: 1008, reason: "too many refused CONNECTs")
                }
            }
        case .disconnect:
            guard packet.namespace == "/", socketConnected else { return }
            socketConnected = false
            core.disconnectSocket(key)
        case .event, .binaryEvent:
            guard packet.namespace == "/" else { return drop(.badNamespace) }
            guard case .array(let data)? = packet.data, case .string(let name)? = data.first else {
                return drop(.malformed)
            }
            receiveEvent(ClientCommand.parse(event: name, payload: data.count > 1 ? data[1] : nil, ackID: packet.id))
        case .ack, .binaryAck, .connectError:
            drop(.unknownType)
        }
    }

    /// An EVENT for "/", read into a command (or why not).
    private func receiveEvent(_ event: Result<ClientCommand, DropReason>) {
        guard socketConnected else { return drop(.notConnected) }
        switch event {
        case .success(let command): if let refused = core.handle(command, from: key) { drop(refused) }
        case .failure(let reason): drop(reason)
        }
    }

    /// The per-connection packet rate: false (and the packet is dropped) when over it.
    @inline(__always) private func takeToken() -> Bool {
        if bucket.take(now: Self.nowNanos) { return true }
        core.countDrop(.rateLimited)
        if !rateLimitLogged {
            rateLimitLogged = true
            logCutOff("over the packet rate (\(core.config.packetRate)/s): packets dropped", level: .info)
        }
        return false
    }

    private func drop(_ reason: DropReason) {
        core.countDrop(reason)
        logProtocolError("packet dropped: \(reason.rawValue)")
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error as? NIOWebSocketError {
        case .invalidFrameLength?: tooLarge()
        case let e?: failConnection(1002, "\(e)")  // a fragmented or over-long control frame
        case nil: context.close(promise: nil)  // I/O: nothing to tell the client
        }
    }

    private func tooLarge() {
        core.countOversize()
        logCutOff("message over maxPayload (\(core.config.maxPayload) bytes)")
        close(code: 1009, reason: "payload too large (maxPayload is \(core.config.maxPayload) bytes)")
    }

    /// "Fail the WebSocket connection" (RFC 6455 §7.1.7): a close frame with `code`, then hang up.
    private func failConnection(_ code: UInt16, _ why: String) {
        guard !closing else { return }
        core.countProtocolClose(code)
        logProtocolError("closed with \(code): \(why)")
        close(code: code, reason: nil)
    }

    // MARK: log (one place, so the hub's rate-limited logging can take it over)

    /// A connection the hub cut off, or a limit it hit: with the peer and why.
    /// Rate-limited per kind of reason (its text before any ':' or '('), like the
    /// connection layer's lines (HubLog).
    private func logCutOff(_ reason: String, level: Logger.Level = .notice) {
        let kind = reason.prefix { $0 != ":" && $0 != "(" }
        core.log.log(level, reason, limitKey: "cut off: \(kind)", peer: peer, "connection cut off")
    }

    /// A client breaking the protocol (at debug: every packet could be one).
    private func logProtocolError(_ what: String) {
        core.log.log(.debug, "protocol error", limitKey: "protocol error", peer: peer, extra: ["error": .string(what)], "protocol error")
    }

    private var peer: String {
        context?.channel.remoteAddress.map { "\($0)" } ?? "?"
    }

    // MARK: timers

    /// Asks the core for a wake at `timers.nextWake` unless one comes earlier. The core keeps
    /// one queue for every connection (no scheduled task of this connection's own: #14).
    private func scheduleTimer() {
        guard context != nil, !closing, key != 0 else { return }
        let wake = timers.nextWake
        if core.config.clock != nil {
            // One wake per connection on that clock, replaced whenever it changes: a wake left
            // at a pong deadline that passed would stop a virtual clock for nothing.
            let routine = timers.nextWakeIsRoutinePing
            guard wake != scheduledWake || routine != scheduledRoutine else { return }
            scheduledWake = wake
            scheduledRoutine = routine
            core.wake(key, at: wake, routine: routine)
            return
        }
        if scheduledWake <= wake { return }  // it comes early and reschedules
        scheduledWake = wake
        guard wake < Int64.max else { return }
        core.wake(key, at: wake)
    }

    /// The core's wake for `at`; one this connection has since replaced with an earlier one
    /// is ignored.
    func timerDue(at: Int64) {
        guard at == scheduledWake else { return }
        scheduledWake = .max
        guard !closing else { return }
        switch timers.wake(now: core.timerNow()) {
        case .none: break
        case .sendPing:
            pingHold = core.config.clock?.hold()
            writeOwn(opcode: WireFrame.text, CollectionOfOne(UInt8(ascii: "2")))
        case .evict(let reason):
            core.countEviction(reason)
            logCutOff(reason.rawValue, level: reason == .binaryTimeout ? .notice : .info)
            close(code: reason == .binaryTimeout ? 1008 : 1000, reason: reason.rawValue)
            return
        }
        scheduleTimer()
    }

    // MARK: outbound

    /// Whether a write may go out: with the client's unsent bytes over the outbound limit
    /// (the channel's high water mark) the client is cut off instead. Every write checks.
    @inline(__always) private func admit(_ context: ChannelHandlerContext) -> Bool {
        if context.channel.isWritable { return true }
        cutOffSlowConsumer()
        return false
    }

    /// Writes frames (without flushing) unless the client's outbound buffer is over its
    /// limit: then cuts the client off and returns false.
    func write(_ frames: [ByteBuffer]) -> Bool {
        guard let context, !closing, admit(context) else { return false }
        for f in frames {
            let n = f.readableBytes
            if n > Self.coalescedFrameLimit {
                releaseOutbox()
                emit(f)
                continue
            }
            makeOutboxRoom(n, context)
            outbox!.writeImmutableBuffer(f)
        }
        markDirty()
        return true
    }

    /// Frames a small text payload (an event's `42[…]`) straight into the outbox, as
    /// `write` would copy the frame `WireFrame.make` builds. Same contract as `write`.
    func writeText(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let context, !closing, admit(context) else { return false }
        makeOutboxRoom(WireFrame.size(ofPayload: payload.count), context)
        WebSocketWire.writeHeader(opcode: WireFrame.text, length: payload.count, maskKey: nil, into: &outbox!)
        outbox!.writeBytes(payload)
        markDirty()
        return true
    }

    /// Bytes of whole frames to the pipeline (not flushed).
    private func emit(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        if let outlet { return outlet.write(bytes, promise: promise) }
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(NIOAny(bytes), promise: promise)
    }

    /// A frame of the connection's own (the open packet, pings, pongs) through the outbox.
    private func writeOwn(opcode: UInt8, _ payload: some Collection<UInt8>) {
        guard let context, !closing, admit(context) else { return }
        makeOutboxRoom(WireFrame.size(ofPayload: payload.count), context)
        WebSocketWire.writeHeader(opcode: opcode, length: payload.count, maskKey: nil, into: &outbox!)
        outbox!.writeBytes(payload)
        markDirty()
    }

    /// An outbox that may take `n` more bytes: a full one goes to the pipeline first.
    private func makeOutboxRoom(_ n: Int, _ context: ChannelHandlerContext) {
        if let o = outbox, o.readableBytes + n > Self.outboxLimit { releaseOutbox() }
        if outbox == nil { outbox = context.channel.allocator.buffer(capacity: max(2048, n)) }
    }

    /// Hands the coalesced frames to the pipeline; done before any other write, so the
    /// client gets everything in the order it was written.
    private func releaseOutbox() {
        guard let o = outbox else { return }
        outbox = nil
        emit(o)
    }

    func send(_ packet: SocketPacket) {
        guard let frames = core.frames(for: packet) else { return }
        _ = write(frames)
    }

    private func markDirty() {
        guard !flushPending else { return }
        flushPending = true
        core.needsFlush(self)
    }

    func flush() {
        flushPending = false
        guard let context else { return }
        releaseOutbox()
        context.flush()
    }

    /// Drops a client that does not read what it is sent: no close handshake (its buffer
    /// is full anyway).
    private func cutOffSlowConsumer() {
        guard let context, !closing else { return }
        core.countSlowConsumer()
        logCutOff("slow consumer: over \(core.config.effectiveOutboundLimit) bytes unsent")
        closing = true
        outbox = nil
        let channel = context.channel
        context.eventLoop.execute { channel.close(promise: nil) }
    }

    /// Sends a close frame (with `code`, if any, and `reason`), then closes the connection.
    private func close(code: UInt16?, reason: String?) {
        guard let context, !closing else { return }
        guard context.channel.isWritable else { return cutOffSlowConsumer() }
        closing = true
        var payload: [UInt8] = []
        if let code {
            payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
            if let reason { payload += reason.utf8.prefix(123) }  // a control frame holds 125 bytes
        }
        var frame = context.channel.allocator.buffer(capacity: payload.count + 2)
        WebSocketWire.writeHeader(opcode: WireFrame.close, length: payload.count, maskKey: nil, into: &frame)
        frame.writeBytes(payload)
        releaseOutbox()  // what was written before the close goes first
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        emit(frame, promise: written)
        context.flush()
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        // A client that no longer reads never takes the close frame: hang up regardless.
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    func closeForShutdown() -> EventLoopFuture<Void> {
        guard let context else { return core.loop.makeSucceededVoidFuture() }
        let closed = context.channel.closeFuture
        close(code: 1001, reason: "hub shutting down")
        return closed
    }
}
