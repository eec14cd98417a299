/// The one writer of the Prometheus text format (version 0.0.4), for every
/// renderer of the hub's `/metrics`.
struct PrometheusText {
    private(set) var text = ""

    /// One metric with one sample.
    mutating func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
    }

    /// One counter with a sample per value of `label`, in the order given.
    mutating func counter(_ name: String, _ help: String, label: String, _ samples: [(String, UInt64)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
        for (value, count) in samples { text += "\(name){\(label)=\"\(value)\"} \(count)\n" }
    }
}

/// The hub's counters and gauges, rendered by hand in the Prometheus text format
/// (version 0.0.4). Confined to the hub's event loop like the rest of its state.
struct HubMetrics: Sendable {
    var connectionsOpened: UInt64 = 0
    var connectionsOpen = 0
    var socketsConnected = 0
    var connectsRefused: UInt64 = 0
    var channels = 0
    var packetsIn: UInt64 = 0
    var eventsDelivered: UInt64 = 0
    var eventsEncoded: UInt64 = 0
    var dropped: [DropReason: UInt64] = [:]
    var oversizeDisconnects: UInt64 = 0
    var slowConsumerDisconnects: UInt64 = 0
    var pingTimeouts: UInt64 = 0
    var connectTimeouts: UInt64 = 0
    var httpRequests: UInt64 = 0
    // Per-connection limits and protocol errors (docs/limits.md, "Hub: sockets").
    var binaryTimeouts: UInt64 = 0
    var binaryOversize: UInt64 = 0
    var wrongKeyDisconnects: UInt64 = 0
    /// Connections the hub closed for breaking RFC 6455 or Engine.IO, by close code.
    var protocolCloses: [UInt16: UInt64] = [:]

    mutating func drop(_ reason: DropReason) { dropped[reason, default: 0] += 1 }

    func render() -> String {
        var out = PrometheusText()
        out.metric("rtlua_hub_connections", "gauge", "Open Engine.IO connections.", "\(connectionsOpen)")
        out.metric("rtlua_hub_connections_total", "counter", "Engine.IO connections accepted.", "\(connectionsOpened)")
        out.metric("rtlua_hub_sockets", "gauge", "Connected Socket.IO sockets.", "\(socketsConnected)")
        out.metric("rtlua_hub_connects_refused_total", "counter", "Socket.IO CONNECTs refused.", "\(connectsRefused)")
        out.metric("rtlua_hub_channels", "gauge", "Channels with at least one member.", "\(channels)")
        out.metric("rtlua_hub_messages_in_total", "counter", "Socket.IO packets received from clients.", "\(packetsIn)")
        out.metric("rtlua_hub_messages_out_total", "counter", "Events written to clients (one per recipient).", "\(eventsDelivered)")
        out.metric("rtlua_hub_events_encoded_total", "counter", "Events encoded for fan-out (once per event, whatever the recipient count).", "\(eventsEncoded)")
        out.counter("rtlua_hub_dropped_packets_total", "Client packets dropped, by reason.", label: "reason",
                    DropReason.allCases.map { ($0.rawValue, dropped[$0, default: 0]) })
        out.metric("rtlua_hub_oversize_disconnects_total", "counter", "Clients disconnected for a packet over maxPayload.", "\(oversizeDisconnects)")
        out.metric("rtlua_hub_slow_consumer_disconnects_total", "counter", "Clients disconnected because their outbound buffer overflowed.", "\(slowConsumerDisconnects)")
        out.metric("rtlua_hub_ping_timeouts_total", "counter", "Clients evicted for not answering a ping.", "\(pingTimeouts)")
        out.metric("rtlua_hub_connect_timeouts_total", "counter", "Connections closed for never sending CONNECT.", "\(connectTimeouts)")
        out.metric("rtlua_hub_http_requests_total", "counter", "Plain HTTP requests served.", "\(httpRequests)")
        writeConnectionLimits(&out)
        return out.text
    }
}

extension HubMetrics {
    /// The close codes the protocol-error counter always shows (others appear once used).
    static let protocolCloseCodes: [UInt16] = [1002, 1007, 1008, 1009]

    fileprivate func writeConnectionLimits(_ out: inout PrometheusText) {
        out.metric("rtlua_hub_binary_timeouts_total", "counter", "Connections closed for a binary packet whose attachments did not all come in time.", "\(binaryTimeouts)")
        out.metric("rtlua_hub_binary_oversize_disconnects_total", "counter", "Connections closed for a binary packet whose attachments were over the byte bound.", "\(binaryOversize)")
        out.metric("rtlua_hub_wrong_key_disconnects_total", "counter", "Connections closed after too many refused CONNECTs.", "\(wrongKeyDisconnects)")
        out.counter("rtlua_hub_protocol_error_closes_total", "Connections the hub closed for a protocol error, by WebSocket close code.",
                    label: "code", Set(Self.protocolCloseCodes).union(protocolCloses.keys).sorted().map { ("\($0)", protocolCloses[$0, default: 0]) })
    }
}

// MARK: connection layer (TCP/HTTP)

/// Counters of the connection layer (HubConnections, HubHTTPHandler): how many
/// connections are open against the cap, and every connection refused or cut off, by reason.
struct HubConnectionMetrics: Sendable {
    /// Why the hub closed a connection that had not upgraded to a WebSocket.
    enum CloseReason: String, CaseIterable, Sendable {
        /// Over the connection cap: the oldest connection without a handshake made room.
        case evicted
        /// The request's headers did not arrive within headerTimeout.
        case headerTimeout = "header_timeout"
        /// No request within idleTimeout on a kept-alive connection.
        case idleTimeout = "idle_timeout"
        /// A request body stalled for idleTimeout.
        case bodyTimeout = "body_timeout"
        /// A response not taken within idleTimeout, or over the outbound limit.
        case slowConsumer = "slow_consumer"
        /// A request the HTTP parser refused.
        case protocolError = "protocol_error"
    }

    var open = 0
    var cap = 0
    var refusedOverCap: UInt64 = 0
    var acceptErrors: UInt64 = 0
    var upgrades: UInt64 = 0
    var upgradesRefused: UInt64 = 0
    var closed: [CloseReason: UInt64] = [:]

    mutating func count(_ reason: CloseReason) { closed[reason, default: 0] += 1 }

    func render() -> String {
        var out = PrometheusText()
        out.metric("rtlua_hub_tcp_connections", "gauge", "Open TCP connections (HTTP and WebSocket).", "\(open)")
        out.metric("rtlua_hub_tcp_connections_limit", "gauge", "Connection cap (maxConnections, kept under the open-files limit).", "\(cap)")
        out.metric("rtlua_hub_connections_refused_total", "counter", "Connections refused with 503: over the cap with none to evict.", "\(refusedOverCap)")
        out.metric("rtlua_hub_accept_errors_total", "counter", "Errors accepting a connection (EMFILE and the like; accepting pauses a second).", "\(acceptErrors)")
        out.metric("rtlua_hub_websocket_upgrades_total", "counter", "HTTP requests upgraded to a WebSocket.", "\(upgrades)")
        out.metric("rtlua_hub_websocket_upgrades_refused_total", "counter", "Upgrade requests refused (bad method, headers, path or key).", "\(upgradesRefused)")
        out.counter("rtlua_hub_http_disconnects_total", "HTTP connections closed by the hub, by reason.", label: "reason",
                    CloseReason.allCases.map { ($0.rawValue, closed[$0, default: 0]) })
        return out.text
    }
}
