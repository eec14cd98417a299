import AltogicProtocol
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
    /// The first dropped message has been logged.
    var saidDropped = false

    /// Connects to the endpoint derived from `config` (PROTOCOL.md §2) with the Socket.IO client.
    public convenience init(config: RealtimeConfig, eventLoop: EventLoop, http: HTTPClient = .shared) throws(RealtimeError) {
        let endpoint = try RealtimeEndpoint.derive(baseURL: config.baseURL, realtimeURL: config.realtimeURL)
        try Self.checkOptions(config.options)
        var socketConfig = SocketIOClientConfig(url: endpoint.url, auth: HandshakeAuth.object(config: config, endpoint: endpoint))
        socketConfig.reconnectionDelay = config.options.reconnectionDelay
        socketConfig.reconnectionDelayMax = max(config.options.reconnectionDelayMax, config.options.reconnectionDelay)
        socketConfig.timeout = config.options.timeout
        socketConfig.clock = config.clock
        // Depth 1: each event argument stays text; EventData reads the {"channel","message"}
        // envelope from it without building a dictionary.
        if config.messagesAsText { socketConfig.rawFromDepth = 1 }
        if let debug = config.log?.debug {
            socketConfig.trace = debug
            debug(Self.describe(config: config, endpoint: endpoint))
        }
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

    /// The endpoint and the auth fields, secrets redacted, for the debug log.
    static func describe(config: RealtimeConfig, endpoint: RealtimeEndpoint) -> String {
        let explicit = config.realtimeURL.map { !$0.trimmingWhitespace.isEmpty } ?? false
        var text = "endpoint \(endpoint.url) (\(explicit ? "given as the realtime URL" : "derived from \(config.baseURL)"))"
        var auth = ["echoMessages=\(config.options.echoMessages)"]
        if let subdomain = endpoint.subdomain { auth.append("subdomain=\(subdomain)") }
        if let envId = endpoint.envId { auth.append("envId=\(envId)") }
        auth.append("clientKey=" + (config.clientKey.map(RealtimeLog.redacted) ?? "none"))
        auth.append("Session=" + (config.session.map(RealtimeLog.redacted) ?? "none"))
        text += "; auth " + auth.joined(separator: ", ")
        text += "; members via " + (MembersRequest.hasHTTPBase(config) ? config.membersBaseURL : "the socket")
        return text
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
        if !outbound.keepsMessageHead(nil, eventName) { try ArgumentCheck.eventName(eventName) }  // as in send
        try ArgumentCheck.encodable(message, argument: "message")
        try sendMessage(channel: nil, eventName: eventName, message: message, echo: echo)
    }

    public func send(channel: String, eventName: String, message: JSONValue, echo: Bool? = nil) throws(RealtimeError) {
        eventLoop.assertInEventLoop()
        // The same channel and event as the last message sent from text passed these then.
        if !outbound.keepsMessageHead(channel, eventName) {
            try ArgumentCheck.channel(channel)
            try ArgumentCheck.eventName(eventName)
        }
        try ArgumentCheck.encodable(message, argument: "message")
        try sendMessage(channel: channel, eventName: eventName, message: message, echo: echo)
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

    private func sendMessage(channel: String?, eventName: String, message: JSONValue, echo: Bool?) throws(RealtimeError) {
        // Online with a text body (what a script sends): the payload is written straight
        // into the packet. Offline, and for other bodies, OutboundState decides.
        guard online, case .raw(let body) = message else {
            return try perform(outbound.message(channel: channel, eventName: eventName, message: message, echo: echo, online: online))
        }
        let head = outbound.messageHead(channel, eventName)
        do {
            try connection.emit(ProtocolNames.message) { out in
                out.append(contentsOf: head)
                out.append(contentsOf: body.bytes)
                MessagePayload.writeTail(echo: echo, into: &out)
            }
        } catch where error.kind == .notConnected {
            outbound.requeue([OutboundEmit(event: ProtocolNames.message, payload: OutboundState.messagePayload(channel, eventName, message, echo))])
        } catch {
            throw RealtimeError(error)
        }
    }

    private func perform(_ disposition: OutboundState.Disposition) throws(RealtimeError) {
        guard case .sendNow(let emit) = disposition else {
            if disposition == .dropped { noteDropped() }
            return
        }
        do {
            try connection.emit(emit.event, [emit.payload], ack: nil)
        } catch where error.kind == .notConnected {
            // The transport went away before the delegate heard of it: treat as offline.
            outbound.requeue([emit])
        } catch {
            throw RealtimeError(error)
        }
    }

    /// The first message dropped offline (bufferMessages false) is said once, as a warning.
    private func noteDropped() {
        guard !saidDropped else { return }
        saidDropped = true
        config.log?.warn("a message was dropped: not connected, and bufferMessages is false (--no-buffer); later drops are not logged")
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
