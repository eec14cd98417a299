/// Where the realtime socket connects, derived from the app's base URL (PROTOCOL.md §2):
///
/// - `https://SUB.CLUSTER.altogic.com[/…]` → `wss://realtime.CLUSTER.altogic.com`, subdomain SUB
/// - `https://CLUSTER.altogic.com/e:ENVID[/…]` → `wss://realtime.CLUSTER.altogic.com`, envId ENVID
/// - anything else → same scheme (http → ws, https → wss), host and port; the path is dropped
/// - an explicit realtime URL wins for the URL (its path is kept); subdomain and envId still
///   come from the base URL, since the server routes by them.
public struct RealtimeEndpoint: Sendable, Equatable {
    /// `ws://…` or `wss://…`
    public var url: String
    public var subdomain: String?
    public var envId: String?

    public init(url: String, subdomain: String? = nil, envId: String? = nil) {
        self.url = url
        self.subdomain = subdomain
        self.envId = envId
    }

    public static func derive(baseURL: String, realtimeURL: String?) throws(RealtimeError) -> RealtimeEndpoint {
        let explicit = realtimeURL.map { $0.trimmingWhitespace }.flatMap { $0.isEmpty ? nil : $0 }
        let baseText = baseURL.trimmingWhitespace
        if let explicit {
            let url = try ParsedURL(explicit, argument: "realtimeURL")
            // A missing base is fine with an explicit endpoint (nothing to route by).
            let base = baseText.isEmpty ? nil : try ParsedURL(baseText, argument: "baseURL")
            let routing = base.map(altogicRouting)
            return RealtimeEndpoint(
                url: url.socketScheme + "://" + url.authority + url.path,
                subdomain: routing?.subdomain, envId: routing?.envId)
        }
        let base = try ParsedURL(baseText, argument: "baseURL")
        let routing = altogicRouting(base)
        return RealtimeEndpoint(url: base.socketScheme + "://" + routing.authority, subdomain: routing.subdomain, envId: routing.envId)
    }

    /// Checks that `url` is an http(s) or ws(s) URL with a host (and a valid port), the
    /// error naming it `argument` (a command-line option, say).
    public static func check(url: String, argument: String) throws(RealtimeError) {
        _ = try ParsedURL(url.trimmingWhitespace, argument: argument)
    }

    private static func altogicRouting(_ url: ParsedURL) -> (authority: String, subdomain: String?, envId: String?) {
        let labels = url.host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let isAltogic = labels.count >= 3 && labels.suffix(2) == ["altogic", "com"] && !labels.contains("")
        let port = url.port.map { ":" + $0 } ?? ""
        if isAltogic && labels.count == 4 {
            return ("realtime." + labels[1...].joined(separator: ".") + port, labels[0], nil)
        }
        if isAltogic && labels.count == 3, let envId = url.envIdSegment {
            return ("realtime." + url.host + port, nil, envId)
        }
        return (url.authority, nil, nil)
    }
}

/// Just enough URL parsing for endpoint derivation: scheme, host, port, path.
struct ParsedURL {
    var scheme: String
    var host: String
    var port: String?
    var path: String

    var authority: String { port.map { host + ":" + $0 } ?? host }
    var socketScheme: String { scheme == "https" || scheme == "wss" ? "wss" : "ws" }

    /// The ENVID of a path that starts with `/e:ENVID`.
    var envIdSegment: String? {
        guard path.hasPrefix("/e:") else { return nil }
        let id = path.dropFirst(3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return id.isEmpty ? nil : String(id)
    }

    init(_ text: String, argument: String) throws(RealtimeError) {
        func bad(_ why: String) -> RealtimeError {
            .invalidArgument("\(argument) must be an http(s) or ws(s) URL (\(why)): '\(text)'")
        }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { throw bad("no scheme") }
        scheme = text[..<colon].lowercased()
        guard ["http", "https", "ws", "wss"].contains(scheme) else { throw bad("unsupported scheme") }
        let rest = text[text.index(colon, offsetBy: 3)...]
        let authorityEnd: Substring.Index = rest.firstIndex(where: { (c: Character) -> Bool in c == "/" || c == "?" || c == "#" }) ?? rest.endIndex
        var authority: Substring = rest[..<authorityEnd]
        path = String(rest[authorityEnd...])
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") {  // IPv6 literal
            guard let close = authority.firstIndex(of: "]") else { throw bad("unclosed IPv6 address") }
            host = String(authority[...close])
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") ? String(after.dropFirst()) : nil
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon]).lowercased()
            port = String(authority[authority.index(after: colon)...])
        } else {
            host = authority.lowercased()
            port = nil
        }
        guard !host.isEmpty else { throw bad("no host") }
        if let port, port.isEmpty || !port.allSatisfy(\.isASCIIDigit) || Int(port).map({ $0 > 65535 }) ?? true {
            throw bad("bad port")
        }
        if path.allSatisfy({ $0 == "/" }) { path = "" }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
