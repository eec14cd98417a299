import AltogicProtocol
import Clocks
import NIOCore
import NIOWebSocket
import RTJSON
import SocketIO

/// Owns every piece of hub state: the router (channels, members), the live connections
/// and the metrics.
///
/// Threading choice: all of it lives on ONE event loop, and the hub binds its listening
/// socket with that same loop as the child group, so every connection's handler runs on
/// it too. Routing then needs no locks and no cross-loop hops: a delivery is encoded once
/// and the same frame goes to each recipient's channel directly (small frames via the
/// connection's outbox, one pipeline write per flush), and one flush per
/// dirty channel runs after the loop has processed its batch of reads. On the 2-core
/// machines this targets, a second hub loop would only add hand-offs; parsing is cheap
/// next to the syscalls, and the Lua scripts keep the group's other loops.
final class HubCore: @unchecked Sendable {  // confined to `loop`
    let config: HubConfig
    let loop: EventLoop
    /// The socket layer's log lines (cut-off connections, protocol errors), rate-limited per
    /// reason like the connection layer's.
    let log: HubLog
    private(set) var router = HubRouter()
    private(set) var metrics = HubMetrics()
    private var connections: [HubRouter.SocketKey: EngineConnectionHandler] = [:]
    private var nextKey = 1
    private var dirty: [EngineConnectionHandler] = []
    /// Every connection's next timer wake, behind one scheduled task (`wakeTask`, due at
    /// `wakeTaskAt`); see `WakeQueue`.
    private var wakes = WakeQueue()
    private var wakeTask: Scheduled<Void>?
    private var wakeTaskAt: Int64 = .max
    private var wakingUp = false
    /// With `config.clock`: each connection's one wake on that clock (a test has few
    /// connections; the heap above is for the real clock's thousands).
    private var clockWakes: [HubRouter.SocketKey: ClockTask] = [:]
    private var flushScheduled = false
    private var rng = SystemRandomNumberGenerator()
    private let allocator = ByteBufferAllocator()
    /// Event text being built by `deliver` or `eventFrames`; reused, so a delivery allocates
    /// only its frame.
    private var eventText: [UInt8] = []
    /// `rtlua test`'s packet log and faults (HubTestHooks.swift); nil otherwise.
    var testHooks: HubTestHooks?

    init(config: HubConfig, loop: EventLoop) {
        self.config = config
        self.loop = loop
        self.log = HubLog(logger: config.logger, loop: loop)
    }

    // MARK: connections

    func register(_ connection: EngineConnectionHandler) -> HubRouter.SocketKey {
        loop.preconditionInEventLoop()
        let key = nextKey
        nextKey += 1
        connections[key] = connection
        metrics.connectionsOpened += 1
        metrics.connectionsOpen = connections.count
        return key
    }

    func unregister(_ key: HubRouter.SocketKey) {
        loop.preconditionInEventLoop()
        guard connections.removeValue(forKey: key) != nil else { return }
        metrics.connectionsOpen = connections.count
        clockWakes.removeValue(forKey: key)?.cancel()
        if connections.isEmpty {
            wakes.removeAll()
            wakeTask?.cancel()
            wakeTask = nil
            wakeTaskAt = .max
        }
        disconnectSocket(key)
    }

    // MARK: timers

    /// Milliseconds on the connection timers' clock: uptime, or the epoch on `config.clock`.
    func timerNow() -> Int64 {
        if let clock = config.clock { return Int64((clock.now() * 1000).rounded()) }
        return EngineConnectionHandler.nowMillis()
    }

    /// Calls `timerDue(at:)` on the connection on `key` at `at` (`timerNow()` milliseconds),
    /// unless it is gone by then. `routine`: the wake is only the next ping of a connection
    /// that answers at once (a virtual clock may coalesce it; `ConnectionTimers`).
    func wake(_ key: HubRouter.SocketKey, at: Int64, routine: Bool = false) {
        if let clock = config.clock {
            clockWakes.removeValue(forKey: key)?.cancel()
            guard at < .max else { return }
            let due: @Sendable () -> Void = { [self] in
                clockWakes[key] = nil
                connections[key]?.timerDue(at: at)
            }
            let epoch = Double(at) / 1000
            clockWakes[key] = clock.scheduleLiveness(at: epoch, routine ? .ping : .exact, on: loop, due)
            return
        }
        wakes.push(at: at, key: key)
        if !wakingUp, at < wakeTaskAt { armWakeTask(at) }
    }

    private func armWakeTask(_ at: Int64) {
        wakeTask?.cancel()
        wakeTaskAt = at
        wakeTask = loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, at)) * 1_000_000)) { self.wakesDue() }
    }

    private func wakesDue() {
        wakeTask = nil
        wakeTaskAt = .max
        let now = EngineConnectionHandler.nowMillis()
        wakingUp = true
        // A connection woken here schedules its next wake later than now, so this ends.
        while let w = wakes.popDue(now: now) {
            connections[w.key]?.timerDue(at: w.at)
        }
        wakingUp = false
        if let next = wakes.earliest { armWakeTask(next) }
    }

    /// Whether the Socket.IO socket of the connection on `key` has connected; true for a
    /// connection that is gone (as for a handler let go: HubConnections evicts only a
    /// live WebSocket without a socket).
    func isSocketConnected(_ key: HubRouter.SocketKey) -> Bool {
        connections[key] == nil || router.sid(of: key) != nil
    }

    func makeSid() -> String {
        // 20 URL-safe characters, like Engine.IO's ids.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out = [UInt8]()
        out.reserveCapacity(20)
        for _ in 0..<20 { out.append(alphabet[Int(rng.next() & 63)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A Socket.IO CONNECT on `key` with its auth object: the new socket id, or why not.
    func connectSocket(_ key: HubRouter.SocketKey, auth: JSONValue?) -> Result<String, ConnectRefusal> {
        loop.preconditionInEventLoop()
        if !config.clientKeys.isEmpty {
            guard let given = auth?["clientKey"]?.stringValue, !given.isEmpty else {
                metrics.connectsRefused += 1
                return .failure(ConnectRefusal(message: "Missing client key (auth.clientKey)"))
            }
            guard config.clientKeys.contains(given) else {
                metrics.connectsRefused += 1
                return .failure(ConnectRefusal(message: "Invalid client key"))
            }
        }
        let sid = makeSid()
        router.connect(
            key, sid: sid, echoMessages: auth?["echoMessages"]?.boolValue ?? true,
            session: auth?["Session"]?.stringValue)
        metrics.socketsConnected = router.socketCount
        testHooks?.note("\(sid) connect")
        return .success(sid)
    }

    /// The socket on `key` is gone (DISCONNECT or the connection closed).
    func disconnectSocket(_ key: HubRouter.SocketKey) {
        guard let sid = router.sid(of: key) else { return }
        testHooks?.note("\(sid) disconnect")
        let deliveries = router.disconnect(key)
        metrics.socketsConnected = router.socketCount
        metrics.channels = router.channelCount
        for d in deliveries { deliver(d) }
    }

    /// Carries out `command` from the socket on `key`; the reason when a per-socket limit
    /// refuses it (the packet is dropped, the connection kept).
    func handle(_ command: ClientCommand, from key: HubRouter.SocketKey) -> DropReason? {
        loop.preconditionInEventLoop()
        if let testHooks, !testHooks.pass(command, from: key, core: self) { return nil }
        if case let .message(channel, eventName, message, echo) = command {
            if let d = router.relay(channel: channel, eventName: eventName, message: message, echo: echo, from: key) { deliver(d) }
            return nil
        }
        if let refused = refusal(of: command, from: key) { return refused }
        let (deliveries, ack) = router.handle(command, from: key)
        metrics.channels = router.channelCount
        for d in deliveries { deliver(d) }
        if let ack, let connection = connections[key] {
            connection.send(SocketPacket.ack(id: ack.id, args: ack.args))
        }
        return nil
    }

    /// The per-socket caps (HubConfig): channels per socket, member-data size.
    private func refusal(of command: ClientCommand, from key: HubRouter.SocketKey) -> DropReason? {
        switch command {
        case .join(let channel, _):
            let cap = config.maxChannelsPerSocket
            if cap > 0, router.channelCount(of: key) >= cap, !router.isMember(key, of: channel) { return .tooManyChannels }
        case .update(let data, _):
            let cap = config.maxMemberDataBytes
            if cap > 0, Self.jsonSize(of: data) > cap { return .memberDataTooLarge }
        default:
            break
        }
        return nil
    }

    /// Bytes of `value`'s JSON text (a relayed body is text already).
    static func jsonSize(of value: JSONValue) -> Int {
        if case .raw(let r) = value { return r.bytes.count }
        var out: [UInt8] = []
        do { try value.write(into: &out) } catch { return .max }
        return out.count
    }

    func countPacketIn() { metrics.packetsIn += 1 }
    func countDrop(_ reason: DropReason) { metrics.drop(reason) }
    func countOversize() { metrics.oversizeDisconnects += 1 }
    func countEviction(_ reason: ConnectionTimers.EvictReason) {
        switch reason {
        case .pingTimeout: metrics.pingTimeouts += 1
        case .connectTimeout: metrics.connectTimeouts += 1
        case .binaryTimeout: metrics.binaryTimeouts += 1
        }
    }
    func countSlowConsumer() { metrics.slowConsumerDisconnects += 1 }
    func countBinaryOversize() { metrics.binaryOversize += 1 }
    func countWrongKeyDisconnect() { metrics.wrongKeyDisconnects += 1 }
    func countProtocolClose(_ code: UInt16) { metrics.protocolCloses[code, default: 0] += 1 }
    func countHTTPRequest() { metrics.httpRequests += 1 }

    // MARK: fan-out

    /// Encodes `delivery` once and writes it to every recipient. A small text event (nearly
    /// every one) is copied into each recipient's outbox anyway, so it goes there straight
    /// from the text, framed on the way, with no frame buffer of its own; a big or binary
    /// one is built as frames every recipient shares.
    func deliver(_ delivery: Delivery) {
        withEventText(delivery) { result, text in
            if result == .text, WireFrame.size(ofPayload: text.count) <= EngineConnectionHandler.coalescedFrameLimit {
                text.withUnsafeBytes { payload in fanOut(delivery.recipients) { $0.writeText(payload) } }
            } else if let frames = eventFrames(delivery, result, text) {
                fanOut(delivery.recipients) { $0.write(frames) }
            }
        }
    }

    /// One encoded event to each recipient; a recipient whose buffer is full is cut off
    /// (by its write).
    private func fanOut(_ recipients: [HubRouter.SocketKey], _ write: (EngineConnectionHandler) -> Bool) {
        metrics.eventsEncoded += 1
        for key in recipients {
            guard let connection = connections[key] else { continue }
            if write(connection) { metrics.eventsDelivered += 1 }
        }
    }

    /// The packet as whole WebSocket frames: one text frame ("4" + packet) and one binary
    /// frame per attachment, each a buffer every recipient shares.
    func frames(for packet: SocketPacket) -> [ByteBuffer]? {
        guard let encoded = try? SocketPacketEncoder.encode(packet) else { return nil }
        var frames = [WireFrame.make(opcode: WireFrame.text, payload: encoded.engineFrame, allocator: allocator)]
        for a in encoded.attachments {
            frames.append(WireFrame.make(opcode: WireFrame.binary, payload: a, allocator: allocator))
        }
        return frames
    }

    /// An EVENT's frames, as `deliver` would write them. Without binary (every delivery but
    /// a relayed binary message) the text `42["event",arg,…]`, as SocketPacketEncoder writes
    /// it, is built in a reused buffer: no packet array, no growing a fresh buffer per event.
    func eventFrames(_ event: String, _ args: [JSONValue]) -> [ByteBuffer]? {
        eventFrames(Delivery(event: event, args: args, recipients: []))
    }

    func eventFrames(_ delivery: Delivery) -> [ByteBuffer]? {
        withEventText(delivery) { result, text in eventFrames(delivery, result, text) }
    }

    private func eventFrames(_ delivery: Delivery, _ result: EventText, _ text: [UInt8]) -> [ByteBuffer]? {
        switch result {
        case .text: return [WireFrame.make(opcode: WireFrame.text, payload: text, allocator: allocator)]
        case .binary: return frames(for: .event(delivery.event, delivery.args))
        case .unencodable: return nil
        }
    }

    private enum EventText { case text, binary, unencodable }

    /// `body` with the delivery's text (`writeEventText`) in the reused buffer, borrowed out
    /// of the property meanwhile: a nested delivery (a write closing a connection) gets its own.
    private func withEventText<R>(_ delivery: Delivery, _ body: (EventText, [UInt8]) -> R) -> R {
        var text: [UInt8] = []
        swap(&text, &eventText)
        defer { if text.capacity <= 64 * 1024 { eventText = text } }
        let result = writeEventText(delivery, into: &text)
        return body(result, text)
    }

    /// Writes the delivery's Engine.IO text `42["event",…]` into `text` (emptied first), by
    /// AltogicProtocol's `EventText`: a channel event's envelope is written in place.
    /// `.binary`: it must go as a binary event (the encoder makes the attachments).
    private func writeEventText(_ delivery: Delivery, into text: inout [UInt8]) -> EventText {
        switch delivery.content {
        case .args(let args): if args.contains(where: \.containsBinary) { return .binary }
        case .channelEvent(_, let message): if message.containsBinary { return .binary }
        }
        text.removeAll(keepingCapacity: true)
        do {
            switch delivery.content {
            case .args(let args): try AltogicProtocol.EventText.write(event: delivery.event, args: args, into: &text)
            case .channelEvent(let channel, let message): try AltogicProtocol.EventText.write(event: delivery.event, channel: channel, message: message, into: &text)
            }
        } catch {
            return .unencodable
        }
        return .text
    }

    /// A connection wrote without flushing; flush it once the loop has read its batch.
    func needsFlush(_ connection: EngineConnectionHandler) {
        dirty.append(connection)
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute { self.flushDirty() }
    }

    private func flushDirty() {
        flushScheduled = false
        let batch = dirty
        dirty.removeAll(keepingCapacity: true)
        for connection in batch { connection.flush() }
    }

    // MARK: REST and admin

    func members(of channel: String) -> JSONValue { router.members(of: channel) }

    func connection(_ key: HubRouter.SocketKey) -> EngineConnectionHandler? { connections[key] }

    /// Delivers a user event (two arguments: its name and the session) to the sockets whose
    /// auth `Session` is `to`, or to all for "*". Returns how many got it.
    func userEvent(_ event: String, session: JSONValue, to: String) -> Int {
        let recipients = router.sockets(withSession: to)
        guard !recipients.isEmpty else { return 0 }
        deliver(Delivery(event: event, args: [.string(event), session], recipients: recipients))
        return recipients.count
    }

    func metricsText() -> String {
        var m = metrics
        m.connectionsOpen = connections.count
        m.socketsConnected = router.socketCount
        m.channels = router.channelCount
        return m.render()
    }

    func closeAll() -> EventLoopFuture<Void> {
        let closing = connections.values.map { $0.closeForShutdown() }
        return EventLoopFuture.andAllComplete(closing, on: loop)
    }
}

struct ConnectRefusal: Error, Equatable {
    var message: String
}
