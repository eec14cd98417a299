import NIOCore
import NIOWebSocket
import RTJSON
import SocketIO

/// One client's Engine.IO v4 session over an upgraded WebSocket: the open packet, the
/// heartbeat (driven by `ConnectionTimers`), Socket.IO packet decoding, and the drop
/// policy for bad input. What a packet means for others is the core's business.
final class EngineConnectionHandler: ChannelInboundHandler, @unchecked Sendable {  // confined to the hub loop
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let core: HubCore
    private let outlet: WireFrameOutlet
    private var context: ChannelHandlerContext?
    private(set) var key: HubRouter.SocketKey = 0
    private var timers: ConnectionTimers
    private var timerTask: Scheduled<Void>?
    /// For the packets `ClientCommand.parse(eventPacket:)` leaves to it. An event's arguments
    /// stay JSON text (`.raw`): the payload's few fields are read straight from it and the
    /// body (a message, member data) is relayed as it came.
    private var decoder = SocketPacketDecoder(rawFromDepth: 1)
    /// `decoder.isAwaitingAttachments`, kept after each decoder call: a text packet then
    /// goes to the decoder (which refuses it), and the hot path asks no decoder.
    private var awaitingAttachments = false
    /// The current text frame, unmasked; reused so reading a packet allocates no buffer.
    private var textPayload: [UInt8] = []
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

    init(core: HubCore, outlet: WireFrameOutlet) {
        self.core = core
        self.outlet = outlet
        self.timers = ConnectionTimers(
            now: Self.nowMillis(), pingInterval: core.config.pingInterval, pingTimeout: core.config.pingTimeout,
            connectTimeout: core.config.connectTimeout)
    }

    static func nowMillis() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        key = core.register(self)
        let handshake = EngineHandshake(
            sid: core.makeSid(), upgrades: [], pingInterval: core.config.pingInterval,
            pingTimeout: core.config.pingTimeout, maxPayload: core.config.maxPayload)
        writeText(EnginePacket.open(handshake).encoded())
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
        timerTask?.cancel()
        timerTask = nil
        closing = true
        if key != 0 {
            core.unregister(key)
            key = 0
        }
        context = nil
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            // Borrowed out of the property while in use (a nested read would get a fresh one).
            var text: [UInt8] = []
            swap(&text, &textPayload)
            WireFrame.unmaskPayload(of: frame, into: &text)
            text.withUnsafeBufferPointer { receiveText($0) }
            if text.capacity <= 64 * 1024 { textPayload = text }  // one big packet should not pin memory
        case .binary:
            core.countPacketIn()
            let bytes = Array(frame.unmaskedData.readableBytesView)
            let packet: SocketPacket?
            do { packet = try decoder.receiveBinary(bytes) } catch { packet = nil; core.countDrop(.malformed) }
            awaitingAttachments = decoder.isAwaitingAttachments
            if let packet { receive(packet) }
        case .connectionClose:
            // Answer the close handshake with the client's code, then hang up.
            var reply = frame.unmaskedData
            let code = reply.readSlice(length: min(2, reply.readableBytes)) ?? ByteBuffer()
            close(code: code, reason: nil)
        case .ping:
            writeFrame(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
        case .pong:
            break
        default:
            core.countDrop(.malformed)
        }
    }

    private func receiveText(_ text: UnsafeBufferPointer<UInt8>) {
        guard let first = text.first else {
            core.countDrop(.malformed)
            return
        }
        switch first {
        case UInt8(ascii: "4"):
            core.countPacketIn()
            let packet = UnsafeBufferPointer(rebasing: text[1...])
            guard let t = packet.first, t >= UInt8(ascii: "0"), t <= UInt8(ascii: "6") else {
                core.countDrop(packet.isEmpty ? .malformed : .unknownType)
                return
            }
            // Parts of the packet are relayed byte for byte, so broken UTF-8 is refused here
            // rather than passed on.
            guard JSONValue.isValidUTF8(packet) else { return core.countDrop(.malformed) }
            // A plain event (nearly all traffic) is read in one pass, with no packet built.
            if !awaitingAttachments, let event = ClientCommand.parse(eventPacket: packet) {
                return receiveEvent(event)
            }
            let decoded: SocketPacket?
            do { decoded = try decoder.receiveText(bytes: packet) } catch { decoded = nil; core.countDrop(.malformed) }
            awaitingAttachments = decoder.isAwaitingAttachments
            if let decoded { receive(decoded) }
        case UInt8(ascii: "3"):
            timers.pongReceived(now: Self.nowMillis())
            scheduleTimer()
        case UInt8(ascii: "2"):
            // Engine.IO v4 clients do not ping, but answering one costs nothing.
            guard let context else { return }
            var pong = context.channel.allocator.buffer(capacity: text.count)
            pong.writeInteger(UInt8(ascii: "3"))
            pong.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(text)[1...]))
            writeFrame(WebSocketFrame(fin: true, opcode: .text, data: pong))
        case UInt8(ascii: "1"):
            close(code: nil, reason: nil)
        case UInt8(ascii: "6"):
            break
        case UInt8(ascii: "0"), UInt8(ascii: "5"):
            core.countDrop(.unknownType)
        default:
            core.countDrop(.malformed)
        }
    }

    private func receive(_ packet: SocketPacket) {
        switch packet.type {
        case .connect:
            guard packet.namespace == "/" else {
                core.countDrop(.badNamespace)
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
            }
        case .disconnect:
            guard packet.namespace == "/", socketConnected else { return }
            socketConnected = false
            core.disconnectSocket(key)
        case .event, .binaryEvent:
            guard packet.namespace == "/" else { return core.countDrop(.badNamespace) }
            guard case .array(let data)? = packet.data, case .string(let name)? = data.first else {
                return core.countDrop(.malformed)
            }
            receiveEvent(ClientCommand.parse(event: name, payload: data.count > 1 ? data[1] : nil, ackID: packet.id))
        case .ack, .binaryAck, .connectError:
            core.countDrop(.unknownType)
        }
    }

    /// An EVENT for "/", read into a command (or why not).
    private func receiveEvent(_ event: Result<ClientCommand, DropReason>) {
        guard socketConnected else { return core.countDrop(.notConnected) }
        switch event {
        case .success(let command): core.handle(command, from: key)
        case .failure(let reason): core.countDrop(reason)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? NIOWebSocketError, case .invalidFrameLength = e {
            tooLarge()
        } else if let e = error as? NIOWebSocketFrameAggregator.Error, case .accumulatedFrameSizeIsTooLarge = e {
            tooLarge()
        } else {
            core.countDrop(.malformed)
            close(code: Self.codeBuffer(.protocolError), reason: "protocol error")
        }
    }

    private func tooLarge() {
        core.countOversize()
        close(code: Self.codeBuffer(.messageTooLarge), reason: "payload too large (maxPayload is \(core.config.maxPayload) bytes)")
    }

    // MARK: timers

    private func scheduleTimer() {
        guard let context, !closing else { return }
        timerTask?.cancel()
        let wake = timers.nextWake
        guard wake < Int64.max else { return }
        timerTask = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, wake)) * 1_000_000)) {
            self.timerFired()
        }
    }

    private func timerFired() {
        guard !closing else { return }
        switch timers.wake(now: Self.nowMillis()) {
        case .none: break
        case .sendPing: writeText("2")
        case .evict(let reason):
            core.countEviction(reason)
            close(code: Self.codeBuffer(.normalClosure), reason: reason.rawValue)
            return
        }
        scheduleTimer()
    }

    // MARK: outbound

    /// Writes frames (without flushing) unless the client's outbound buffer is over its
    /// limit: then returns false and the caller drops the client.
    func write(_ frames: [ByteBuffer]) -> Bool {
        guard let context, !closing else { return true }
        guard context.channel.isWritable else { return false }
        for f in frames {
            let n = f.readableBytes
            if n > Self.coalescedFrameLimit {
                releaseOutbox()
                outlet.write(f)
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
        guard let context, !closing else { return true }
        guard context.channel.isWritable else { return false }
        makeOutboxRoom(WireFrame.size(ofPayload: payload.count), context)
        WebSocketWire.writeHeader(opcode: WireFrame.text, length: payload.count, maskKey: nil, into: &outbox!)
        outbox!.writeBytes(payload)
        markDirty()
        return true
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
        outlet.write(o)
    }

    func send(_ packet: SocketPacket) {
        guard let frames = core.frames(for: packet) else { return }
        if !write(frames) { abort() }
    }

    private func writeText(_ text: String) {
        guard let context, !closing else { return }
        releaseOutbox()
        outlet.write(WireFrame.make(opcode: WireFrame.text, payload: text.utf8, allocator: context.channel.allocator))
        markDirty()
    }

    private func writeFrame(_ frame: WebSocketFrame) {
        guard let context, !closing else { return }
        releaseOutbox()
        context.write(wrapOutboundOut(frame), promise: nil)
        markDirty()
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

    /// Drops a client that cannot keep up: no close handshake (its buffer is full anyway).
    func abort() {
        guard let context, !closing else { return }
        closing = true
        let channel = context.channel
        context.eventLoop.execute { channel.close(promise: nil) }
    }

    /// Sends a close frame (code + reason), then closes the connection.
    private func close(code: ByteBuffer?, reason: String?) {
        guard let context, !closing else { return }
        closing = true
        var data = code ?? ByteBuffer()
        if let reason, data.readableBytes == 2 { data.writeString(reason) }
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        releaseOutbox()  // what was written before the close goes first
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
        // A client that no longer reads never takes the close frame: hang up regardless.
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    func closeForShutdown() -> EventLoopFuture<Void> {
        guard let context else { return core.loop.makeSucceededVoidFuture() }
        let closed = context.channel.closeFuture
        close(code: Self.codeBuffer(.goingAway), reason: "hub shutting down")
        return closed
    }

    static func codeBuffer(_ code: WebSocketErrorCode) -> ByteBuffer {
        var b = ByteBuffer()
        b.write(webSocketErrorCode: code)
        return b
    }
}
