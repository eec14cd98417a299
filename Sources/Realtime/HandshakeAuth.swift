import RTJSON

/// The CONNECT packet's auth object (PROTOCOL.md §2). Absent values are left out, as the
/// Altogic clients' JSON encoding of `undefined` does.
enum HandshakeAuth {
    static func object(config: RealtimeConfig, endpoint: RealtimeEndpoint) -> JSONValue {
        var auth: [String: JSONValue] = ["echoMessages": .bool(config.options.echoMessages)]
        if let subdomain = endpoint.subdomain { auth["subdomain"] = .string(subdomain) }
        if let envId = endpoint.envId { auth["envId"] = .string(envId) }
        if let clientKey = config.clientKey { auth["clientKey"] = .string(clientKey) }
        if let session = config.session { auth["Session"] = .string(session) }
        return .object(auth)
    }
}
