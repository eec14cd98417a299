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
    /// Largest Engine.IO packet (one WebSocket message) a client may send, in bytes.
    public var maxPayload = 1_000_000

    /// Bytes that may wait unsent to one client before the hub gives up on it (a slow
    /// consumer must not make the hub buffer without bound). 0: max(16 MiB, 4 × maxPayload).
    /// At 4 MiB the hub, which forwards faster than a Lua bot handles messages, cut off
    /// healthy bots during a burst of ~40,000 small messages; 16 MiB absorbs ~150,000.
    var outboundBufferLimit = 0
    /// Milliseconds a WebSocket may stay open without a Socket.IO CONNECT.
    var connectTimeout: Int64 = 45000

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
    /// Where the hub reports refused and cut-off connections and protocol errors
    /// (rate-limited per reason; see HubLog). Silent unless the embedder gives one.
    public var logger = Logger(label: "rtlua.hub", factory: { _ in SwiftLogNoOpLogHandler() })
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
        return nil
    }
}

/// A hub that could not start (bad config, address in use …).
public struct HubError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
