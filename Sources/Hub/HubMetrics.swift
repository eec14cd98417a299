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
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("rtlua_hub_connections", "gauge", "Open Engine.IO connections.", "\(connectionsOpen)")
        metric("rtlua_hub_connections_total", "counter", "Engine.IO connections accepted.", "\(connectionsOpened)")
        metric("rtlua_hub_sockets", "gauge", "Connected Socket.IO sockets.", "\(socketsConnected)")
        metric("rtlua_hub_connects_refused_total", "counter", "Socket.IO CONNECTs refused.", "\(connectsRefused)")
        metric("rtlua_hub_channels", "gauge", "Channels with at least one member.", "\(channels)")
        metric("rtlua_hub_messages_in_total", "counter", "Socket.IO packets received from clients.", "\(packetsIn)")
        metric("rtlua_hub_messages_out_total", "counter", "Events written to clients (one per recipient).", "\(eventsDelivered)")
        metric("rtlua_hub_events_encoded_total", "counter", "Events encoded for fan-out (once per event, whatever the recipient count).", "\(eventsEncoded)")
        out += "# HELP rtlua_hub_dropped_packets_total Client packets dropped, by reason.\n"
        out += "# TYPE rtlua_hub_dropped_packets_total counter\n"
        for reason in DropReason.allCases {
            out += "rtlua_hub_dropped_packets_total{reason=\"\(reason.rawValue)\"} \(dropped[reason, default: 0])\n"
        }
        metric("rtlua_hub_oversize_disconnects_total", "counter", "Clients disconnected for a packet over maxPayload.", "\(oversizeDisconnects)")
        metric("rtlua_hub_slow_consumer_disconnects_total", "counter", "Clients disconnected because their outbound buffer overflowed.", "\(slowConsumerDisconnects)")
        metric("rtlua_hub_ping_timeouts_total", "counter", "Clients evicted for not answering a ping.", "\(pingTimeouts)")
        metric("rtlua_hub_connect_timeouts_total", "counter", "Connections closed for never sending CONNECT.", "\(connectTimeouts)")
        metric("rtlua_hub_http_requests_total", "counter", "Plain HTTP requests served.", "\(httpRequests)")
        out += connectionLimitsText()
        return out
    }
}

extension HubMetrics {
    /// The close codes the protocol-error counter always shows (others appear once used).
    static let protocolCloseCodes: [UInt16] = [1002, 1007, 1008, 1009]

    fileprivate func connectionLimitsText() -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("rtlua_hub_binary_timeouts_total", "counter", "Connections closed for a binary packet whose attachments did not all come in time.", "\(binaryTimeouts)")
        metric("rtlua_hub_binary_oversize_disconnects_total", "counter", "Connections closed for a binary packet whose attachments were over the byte bound.", "\(binaryOversize)")
        metric("rtlua_hub_wrong_key_disconnects_total", "counter", "Connections closed after too many refused CONNECTs.", "\(wrongKeyDisconnects)")
        out += "# HELP rtlua_hub_protocol_error_closes_total Connections the hub closed for a protocol error, by WebSocket close code.\n"
        out += "# TYPE rtlua_hub_protocol_error_closes_total counter\n"
        for code in Set(Self.protocolCloseCodes).union(protocolCloses.keys).sorted() {
            out += "rtlua_hub_protocol_error_closes_total{code=\"\(code)\"} \(protocolCloses[code, default: 0])\n"
        }
        return out
    }
}
