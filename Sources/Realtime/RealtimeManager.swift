import CurlHTTP
import NIOCore
import RTJSON
import SocketIO

/// The Altogic RealtimeManager over a Socket.IO connection (PROTOCOL.md §2–§6): pub/sub
/// calls with argument checks, echo, channels with auto-join, buffering while offline,
/// event dispatch to listeners, and members over REST.
///
/// The manager does not connect by itself: call `open()`. Emits made before the first
/// CONNECT follow the offline rules (buffered, folded or dropped).
///
/// Confined to `eventLoop`: every method must be called on it, and every callback runs on it.
public final class RealtimeManager: @unchecked Sendable {  // confined to `eventLoop`
    public let eventLoop: EventLoop
    let config: RealtimeConfig
    let connection: SocketIOConnection
    let http: HTTPClient

    var outbound: OutboundState
    var listeners = Listeners()
    /// open() called and neither close() nor a final failure since.
    var opened = false
    /// Between socketDidConnect and socketDidDisconnect.
    var online = false

    /// Connects to the endpoint derived from `config` (PROTOCOL.md §2) with the Socket.IO client.
    public convenience init(config: RealtimeConfig, eventLoop: EventLoop, http: HTTPClient = .shared) throws(RealtimeError) {
        let endpoint = try RealtimeEndpoint.derive(baseURL: config.baseURL, realtimeURL: config.realtimeURL)
        try Self.checkOptions(config.options)
        var socketConfig = SocketIOClientConfig(url: endpoint.url, auth: HandshakeAuth.object(config: config, endpoint: endpoint))
        socketConfig.reconnectionDelay = config.options.reconnectionDelay
        socketConfig.reconnectionDelayMax = max(config.options.reconnectionDelayMax, config.options.reconnectionDelay)
        socketConfig.timeout = config.options.timeout
        // Depth 1: each event argument stays text; EventData reads the {"channel","message"}
        // envelope from it without building a dictionary.
        if config.messagesAsText { socketConfig.rawFromDepth = 1 }
        self.init(config: config, connection: SocketIOClient(config: socketConfig, eventLoop: eventLoop), http: http)
    }

    /// Over a given connection (tests drive a fake one). The connection's auth and URL are
    /// its own business; `config` supplies the options, the REST base, key and session.
    public init(config: RealtimeConfig, connection: SocketIOConnection, http: HTTPClient = .shared) {
        self.eventLoop = connection.eventLoop
        self.config = config
        self.connection = connection
        self.http = http
        self.outbound = OutboundState(autoJoin: config.options.autoJoinChannels, bufferMessages: config.options.bufferMessages)
        connection.delegate = self
    }

    static func checkOptions(_ options: RealtimeOptions) throws(RealtimeError) {
        if options.reconnectionDelay < 0 { throw .invalidArgument("reconnectionDelay must not be negative") }
        if options.reconnectionDelayMax < 0 { throw .invalidArgument("reconnectionDelayMax must not be negative") }
        if options.timeout <= 0 { throw .invalidArgument("timeout must be positive") }
    }

    // MARK: Connection

    public var isOpen: Bool { opened }

    public func isConnected() -> Bool {
        eventLoop.assertInEventLoop()
        return online && connection.isConnected
    }

    public func getSocketId() -> String? {
        eventLoop.assertInEventLoop()
        return online ? connection.sid : nil
    }

    // MARK: Emitting (PROTOCOL.md §3)

    public func broadcast(eventName: String, message: JSONValue, echo: Bool? = nil) throws(RealtimeError) {
        eventLoop.assertInEventLoop()
        try ArgumentCheck.eventName(eventName)
        try ArgumentCheck.encodable(message, argument: "message")
        try perform(outbound.message(channel: nil, eventName: eventName, message: message, echo: echo, online: online))
    }

    public func send(channel: String, eventName: String, message: JSONValue, echo: Bool? = nil) throws(RealtimeError) {
        eventLoop.assertInEventLoop()
        try ArgumentCheck.channel(channel)
        try ArgumentCheck.eventName(eventName)
        try ArgumentCheck.encodable(message, argument: "message")
        try perform(outbound.message(channel: channel, eventName: eventName, message: message, echo: echo, online: online))
    }

    public func join(channel: String, echo: Bool? = nil) throws(RealtimeError) {
        eventLoop.assertInEventLoop()
        try ArgumentCheck.channel(channel)
        try perform(outbound.join(channel: channel, echo: echo, online: online))
    }

    public func leave(channel: String, echo: Bool? = nil) throws(RealtimeError) {
        eventLoop.assertInEventLoop()
        try ArgumentCheck.channel(channel)
        try perform(outbound.leave(channel: channel, echo: echo, online: online))
    }

    public func updateProfile(_ data: JSONValue, echo: Bool? = nil) throws(RealtimeError) {
        eventLoop.assertInEventLoop()
        try ArgumentCheck.encodable(data, argument: "data")
        try perform(outbound.update(data: data, echo: echo, online: online))
    }

    private func perform(_ disposition: OutboundState.Disposition) throws(RealtimeError) {
        guard case .sendNow(let emit) = disposition else { return }
        do {
            try connection.emit(emit.event, [emit.payload], ack: nil)
        } catch where error.kind == .notConnected {
            // The transport went away before the delegate heard of it: treat as offline.
            outbound.requeue([emit])
        } catch {
            throw RealtimeError(error)
        }
    }

    /// Sends emits in order; a failure of one is reported through onError and the rest go on,
    /// unless the connection is gone, in which case the rest goes back to the buffer.
    func flush(_ emits: [OutboundEmit]) {
        for (i, emit) in emits.enumerated() {
            do {
                try connection.emit(emit.event, [emit.payload], ack: nil)
            } catch where error.kind == .notConnected {
                outbound.requeue(emits[i...])
                return
            } catch {
                emitError(RealtimeError(error))
            }
        }
    }
}
