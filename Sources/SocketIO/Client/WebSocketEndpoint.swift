/// Where the WebSocket connects, parsed from the configured URL. `http(s)` becomes
/// `ws(s)`; a URL without a path gets `/socket.io/`, and the Engine.IO query
/// (`EIO=4&transport=websocket`) is added when absent.
struct WebSocketEndpoint: Equatable {
    var tls: Bool
    var host: String
    var port: Int
    /// Path and query of the upgrade request.
    var requestURI: String
    /// The Host header: host, plus the port when it is not the scheme's default.
    var hostHeader: String

    init(url: String) throws(SocketIOError) {
        func bad(_ why: String) -> SocketIOError { SocketIOError(.invalidArgument, "invalid URL '\(url)': \(why)") }
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw bad("no scheme") }
        switch parts[0].lowercased() {
        case "ws", "http": tls = false
        case "wss", "https": tls = true
        default: throw bad("scheme must be ws, wss, http or https")
        }
        let rest = parts[1]
        let authorityEnd = rest.firstIndex(where: { c in c == "/" || c == "?" || c == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var tail = String(rest[authorityEnd...])
        if let hash = tail.firstIndex(of: "#") { tail = String(tail[..<hash]) }

        let defaultPort = tls ? 443 : 80
        var hostPart = Substring(authority)
        var portText: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw bad("unclosed IPv6 bracket") }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw bad("junk after host") }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portText = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw bad("no host") }
        host = String(hostPart)
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("bad port") }
            port = p
        } else {
            port = defaultPort
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"

        var path = tail
        var query = ""
        if let q = tail.firstIndex(of: "?") {
            path = String(tail[..<q])
            query = String(tail[tail.index(after: q)...])
        }
        if path.isEmpty || path == "/" { path = "/socket.io/" }
        let keys = Set(query.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "" })
        var extra: [String] = []
        if !keys.contains("EIO") { extra.append("EIO=4") }
        if !keys.contains("transport") { extra.append("transport=websocket") }
        let fullQuery = ([query].filter { !$0.isEmpty } + extra).joined(separator: "&")
        requestURI = fullQuery.isEmpty ? path : "\(path)?\(fullQuery)"
    }
}
