import AltogicProtocol
import NIOHTTP1
import RTJSON

/// The plain-HTTP side of the hub: health, metrics, the members REST call (§5) and the
/// admin user-event call. Runs on the hub loop, so it reads the core directly.
struct HubRoutes {
    static let userEventPath = "/_api/rest/v1/realtime/user-event"

    let core: HubCore
    let connections: HubConnections

    func reply(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) -> HTTPReply {
        let (path, query) = Self.split(uri)
        switch (method, path) {
        case (.GET, "/healthz"), (.HEAD, "/healthz"):
            return .text(.ok, "ok\n")
        case (.GET, "/metrics"):
            return .text(.ok, core.metricsText() + connections.metricsText(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        case (.POST, ProtocolNames.membersPath):
            return members(headers: headers, body: body)
        case (.POST, Self.userEventPath):
            return userEvent(headers: headers, body: body)
        case (_, "/socket.io/"), (_, "/socket.io"):
            return Self.engineRefusal(query: query)
        case (_, ProtocolNames.membersPath), (_, Self.userEventPath):
            return .altogicError(.methodNotAllowed, code: "method_not_allowed", message: "use POST for \(path)")
        default:
            return .altogicError(.notFound, code: "not_found", message: "no endpoint at \(method) \(path)")
        }
    }

    /// A /socket.io/ request that was not a WebSocket upgrade: say why, the way Engine.IO
    /// servers do (`{"code": …, "message": …}`).
    private static func engineRefusal(query: [String: String]) -> HTTPReply {
        if query["EIO"] != "4" {
            return .json(.badRequest, ["code": 5, "message": "Unsupported protocol version: this hub speaks EIO=4"])
        }
        if query["transport"] != "websocket" {
            return .json(.badRequest, ["code": 0, "message": "Transport unknown: this hub supports transport=websocket only"])
        }
        if query["sid"] != nil {
            return .json(.badRequest, ["code": 1, "message": "Session ID unknown: this hub has no polling sessions to upgrade"])
        }
        return .json(.badRequest, ["code": 3, "message": "Bad request: expected a WebSocket upgrade"])
    }

    private func members(headers: HTTPHeaders, body: [UInt8]) -> HTTPReply {
        if !core.config.clientKeys.isEmpty {
            // PROTOCOL.md §5: the key travels as X-Client-Key (Authorization is the separate
            // apiKey's, which members do not use); header names match case-insensitively.
            let key = headers.first(name: "X-Client-Key") ?? ""
            guard core.config.clientKeys.contains(key) else {
                return .altogicError(
                    .unauthorized, code: "invalid_client_key",
                    message: key.isEmpty ? "Missing client key (X-Client-Key header)" : "Invalid client key")
            }
        }
        // `Session` is accepted and not needed: members are public to the app's clients.
        guard case .string(let channel)? = (try? JSONValue.parse(body))?["channel"], !channel.isEmpty else {
            return .altogicError(.badRequest, code: "missing_required_field", message: "channel is required (a non-empty string)")
        }
        return .json(.ok, core.members(of: channel))
    }

    private func userEvent(headers: HTTPHeaders, body: [UInt8]) -> HTTPReply {
        guard let master = core.config.masterKey else {
            return .altogicError(.notFound, code: "not_found", message: "the admin API is off: the hub has no master key")
        }
        guard headers.first(name: "Authorization") == master else {
            return .altogicError(.unauthorized, code: "invalid_master_key", message: "missing or invalid master key (Authorization header)")
        }
        guard let json = try? JSONValue.parse(body), json.objectValue != nil else {
            return .altogicError(.badRequest, code: "invalid_request_body", message: "the body must be a JSON object")
        }
        guard case .string(let event)? = json["event"] else {
            return .altogicError(.badRequest, code: "missing_required_field", message: "event is required")
        }
        guard ProtocolNames.userEvents.contains(event) else {
            return .altogicError(.badRequest, code: "invalid_field_value",
                message: "event must be one of \(ProtocolNames.userEvents.sorted().joined(separator: ", "))")
        }
        guard case .string(let to)? = json["to"], !to.isEmpty else {
            return .altogicError(.badRequest, code: "missing_required_field", message: "to is required (a session token or \"*\")")
        }
        let delivered = core.userEvent(event, session: json["session"] ?? .null, to: to)
        return .json(.ok, ["delivered": .integer(Int64(delivered))])
    }

    static func split(_ uri: String) -> (path: String, query: [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return (String(uri[..<q]), query)
    }

    enum UpgradeDecision: Equatable {
        /// Not an upgrade request for the Engine.IO endpoint: routed like any request.
        case none
        case websocket
        /// Asked for an upgrade of /socket.io/ the hub will not make; this is the answer.
        case refused(HTTPReply)
    }

    /// RFC 6455 §4.2.1: an upgrade is a GET with `Connection: Upgrade` (one token of the list)
    /// and `Upgrade: websocket`, names and tokens case-insensitive; the hub's one WebSocket
    /// endpoint is `/socket.io/?EIO=4&transport=websocket`. The key and version are checked
    /// by NIO's upgrader.
    static func upgradeRequest(_ head: HTTPRequestHead) -> UpgradeDecision {
        let (path, query) = split(head.uri)
        guard path == "/socket.io/" || path == "/socket.io" else { return .none }
        let connectionUpgrade = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        let upgrade = head.headers[canonicalForm: "upgrade"]
        guard connectionUpgrade || !upgrade.isEmpty else { return .none }
        func refuse(_ message: String) -> UpgradeDecision { .refused(.json(.badRequest, ["code": 3, "message": .string(message)])) }
        guard head.method == .GET else { return refuse("Bad request: a WebSocket upgrade must be a GET (got \(head.method))") }
        guard connectionUpgrade else { return refuse("Bad request: a WebSocket upgrade needs Connection: Upgrade") }
        guard upgrade.contains(where: { $0.lowercased() == "websocket" }) else {
            return refuse("Bad request: a WebSocket upgrade needs Upgrade: websocket")
        }
        guard isEngineWebSocket(query: query) else { return .refused(engineRefusal(query: query)) }
        return .websocket
    }

    /// The query of a /socket.io/ request that opens a WebSocket session.
    static func isEngineWebSocket(query: [String: String]) -> Bool {
        query["EIO"] == "4" && query["transport"] == "websocket" && query["sid"] == nil
    }
}
