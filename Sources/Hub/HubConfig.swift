import Clocks
import Logging

/// How an embedded hub listens and what it accepts (PROTOCOL.md is the contract it serves).
public struct HubConfig: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; read it back from `Hub.port`.
    public var port = 0
    /// Client keys a CONNECT's `auth.clientKey` (and the members call's `X-Client-Key`
    /// header) must match. Empty: the hub is open.
    public var clientKeys: [String] = []
    /// Authorises the admin API (`/_api/rest/v1/realtime/user-event`); nil disables it.
    public var masterKey: String? = nil
    /// Milliseconds.
    public var pingInterval: Int64 = 25000
    public var pingTimeout: Int64 = 20000
    /// The clock of each connection's ping, ping timeout, connect timeout and binary packet
    /// timeout; nil: the event loop's uptime clock. `rtlua test` gives its virtual clock,
    /// with which the hub also holds the clock while a ping waits for its pong.
    public var clock: EventClock? = nil
    /// Largest Engine.IO packet (one WebSocket message) a client may send, in bytes.
    public var maxPayload = 1_000_000

    // MARK: per-connection limits (docs/limits.md, "Hub: sockets")

    /// Bytes that may wait unsent to one client before the hub cuts it off: every byte the
    /// hub writes to a WebSocket counts (events, acks, Engine.IO and WebSocket pongs, close
    /// frames), so a client that does not read costs at most this much. 0: max(16 MiB,
    /// 4 × maxPayload). At 4 MiB the hub, which forwards faster than a Lua bot handles
    /// messages, cut off healthy bots during a burst of ~40,000 small messages; 16 MiB
    /// absorbs ~150,000.
    public var outboundBufferLimit = 0
    /// Milliseconds a WebSocket may stay open without a successful Socket.IO CONNECT.
    public var connectTimeout: Int64 = 45000
    /// Refused CONNECTs (a wrong or missing client key) one connection may make; the last
    /// refusal closes it (a wrong key will not become right by retrying). 0: no limit.
    public var maxConnectAttempts = 3
    /// Packets per second one connection may send (a token bucket: `packetBurst` tokens,
    /// refilled at this rate; each text message, WebSocket ping or pong and stray binary
    /// frame takes one). Packets over it are dropped (reason `rate_limited`). 0: no limit.
    /// The default lets one connection send the whole of the bench's 200,000-message flood
    /// (~460,000 msg/s) and keep up 200,000 msg/s, above the ~150,000 msg/s a Lua sender reaches.
    public var packetRate = 200_000
    /// The bucket's size: packets one connection may send at once after a quiet spell.
    public var packetBurst = 200_000
    /// Channels one socket may be in at once; a `join` past it is dropped (`too_many_channels`). 0: no limit.
    public var maxChannelsPerSocket = 100
    /// Bytes of JSON text a socket's member data (`update`'s `data`) may take; a larger one
    /// is dropped (`member_data_too_large`). 0: no limit.
    public var maxMemberDataBytes = 16 * 1024
    /// Bytes the attachments of one binary packet may take together while the hub waits
    /// for them; past it the connection is closed (1009). 0: maxPayload.
    public var maxBinaryPacketBytes = 0
    /// Milliseconds a binary packet may wait for its attachments; past it the connection
    /// is closed (1008).
    public var binaryPacketTimeout: Int64 = 10_000
    /// Where the hub says what it did to whom: refused and cut-off connections (with the
    /// peer's address and why) at notice or warning, protocol errors at debug; the
    /// connection layer rate-limits its lines per reason (HubLog). Silent unless set.
    public var logger = Logger(label: "rtlua.hub", factory: { _ in SwiftLogNoOpLogHandler() })

    // MARK: connection layer (TCP/HTTP; see HubConnections and HubHTTPHandler)

    /// Open connections (HTTP and WebSocket) the hub holds at most. The hub also stays
    /// `descriptorReserve` below the process's open-files soft limit. A connection over the
    /// cap takes the place of the oldest one without a handshake (not upgraded to a
    /// WebSocket, else without a Socket.IO CONNECT), or is refused with 503 when there is none.
    public var maxConnections = 10_000
    /// Milliseconds a client has to send a request's complete headers: from the accept for
    /// a new connection, from the request's first bytes on a kept-alive one (slowloris).
    public var headerTimeout: Int64 = 10_000
    /// Milliseconds a kept-alive HTTP connection may sit between requests, a request body
    /// may stall, or a response may wait for a client that does not read.
    public var idleTimeout: Int64 = 30_000
    /// Descriptors kept free under the soft limit for the listener, logs and the rest of the process.
    static let descriptorReserve = 64

    /// The connection cap given an open-files soft limit (nil: unknown or unlimited).
    func connectionCap(descriptorLimit: Int?) -> Int {
        guard let descriptorLimit else { return maxConnections }
        return max(1, min(maxConnections, descriptorLimit - Self.descriptorReserve))
    }

    public init(
        host: String = "127.0.0.1", port: Int = 0, clientKeys: [String] = [], masterKey: String? = nil,
        pingInterval: Int64 = 25000, pingTimeout: Int64 = 20000, maxPayload: Int = 1_000_000
    ) {
        self.host = host
        self.port = port
        self.clientKeys = clientKeys
        self.masterKey = masterKey
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
    }

    var effectiveOutboundLimit: Int {
        outboundBufferLimit > 0 ? outboundBufferLimit : max(16 << 20, 4 * maxPayload)
    }

    var effectiveBinaryPacketLimit: Int { maxBinaryPacketBytes > 0 ? maxBinaryPacketBytes : maxPayload }

    /// Why this config cannot run, or nil.
    func validationError() -> String? {
        if pingInterval <= 0 { return "pingInterval must be positive (got \(pingInterval))" }
        if pingTimeout <= 0 { return "pingTimeout must be positive (got \(pingTimeout))" }
        if maxPayload < 64 || maxPayload > Int(UInt32.max) {
            return "maxPayload must be between 64 and \(UInt32.max) bytes (got \(maxPayload))"
        }
        if port < 0 || port > 65535 { return "port must be between 0 and 65535 (got \(port))" }
        if maxConnections < 1 { return "maxConnections must be positive (got \(maxConnections))" }
        if headerTimeout <= 0 { return "headerTimeout must be positive (got \(headerTimeout))" }
        if idleTimeout <= 0 { return "idleTimeout must be positive (got \(idleTimeout))" }
        if let problem = limitsValidationError() { return problem }
        return nil
    }
}

extension HubConfig {
    /// Why the per-connection limits cannot run, or nil.
    public func limitsValidationError() -> String? {
        if outboundBufferLimit < 0 { return "outboundBufferLimit must not be negative (got \(outboundBufferLimit))" }
        if connectTimeout <= 0 { return "connectTimeout must be positive (got \(connectTimeout))" }
        if maxConnectAttempts < 0 { return "maxConnectAttempts must not be negative (got \(maxConnectAttempts))" }
        if packetRate < 0 { return "packetRate must not be negative (got \(packetRate))" }
        if packetRate > 1_000_000_000 { return "packetRate must be at most 1000000000 (got \(packetRate))" }
        if packetRate > 0 && !(1...1_000_000_000).contains(packetBurst) {
            return "packetBurst must be between 1 and 1000000000 (got \(packetBurst))"
        }
        if maxChannelsPerSocket < 0 { return "maxChannelsPerSocket must not be negative (got \(maxChannelsPerSocket))" }
        if maxMemberDataBytes < 0 { return "maxMemberDataBytes must not be negative (got \(maxMemberDataBytes))" }
        if maxBinaryPacketBytes < 0 { return "maxBinaryPacketBytes must not be negative (got \(maxBinaryPacketBytes))" }
        if binaryPacketTimeout <= 0 { return "binaryPacketTimeout must be positive (got \(binaryPacketTimeout))" }
        return nil
    }
}

/// A hub that could not start (bad config, address in use …).
public struct HubError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
