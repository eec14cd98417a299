import Clocks
import NIOCore

/// The realtime options of the Altogic client (PROTOCOL.md §2, §6). Times in milliseconds.
public struct RealtimeOptions: Sendable, Equatable {
    /// The connection's default echo flag, sent in the CONNECT auth object.
    public var echoMessages = true
    /// Queue emits made while disconnected and flush them after the next CONNECT (false: drop them).
    public var bufferMessages = true
    /// After every (re)connect, re-send the profile and re-join the channels this manager is in.
    public var autoJoinChannels = true
    public var reconnectionDelay: Int64 = 1000
    public var reconnectionDelayMax: Int64 = 5000
    /// A connection attempt that takes longer counts as failed.
    public var timeout: Int64 = 20000

    public init(
        echoMessages: Bool = true, bufferMessages: Bool = true, autoJoinChannels: Bool = true,
        reconnectionDelay: Int64 = 1000, reconnectionDelayMax: Int64 = 5000, timeout: Int64 = 20000
    ) {
        self.echoMessages = echoMessages
        self.bufferMessages = bufferMessages
        self.autoJoinChannels = autoJoinChannels
        self.reconnectionDelay = reconnectionDelay
        self.reconnectionDelayMax = reconnectionDelayMax
        self.timeout = timeout
    }
}

/// Where and as whom a `RealtimeManager` connects.
public struct RealtimeConfig: Sendable {
    /// The app's REST base URL; the realtime endpoint is derived from it (PROTOCOL.md §2)
    /// and `getMembers` posts to it (§5).
    public var baseURL: String
    /// An explicit realtime endpoint, overriding the derivation.
    public var realtimeURL: String?
    public var clientKey: String?
    /// The user's session token.
    public var session: String?
    public var options: RealtimeOptions
    /// Deliver message bodies, presence data and ack arguments as `.raw` JSON text, checked
    /// but not built, for a consumer that converts them further anyway: the Lua host builds
    /// Lua tables straight from the text.
    public var messagesAsText = false
    /// Where the manager says what it does (nil: it says nothing).
    public var log: RealtimeLog?
    /// The clock of the connection's timers (SocketIOClientConfig.clock); nil: the event
    /// loop's own.
    public var clock: EventClock?

    public init(
        baseURL: String, realtimeURL: String? = nil, clientKey: String? = nil, session: String? = nil,
        options: RealtimeOptions = RealtimeOptions()
    ) {
        self.baseURL = baseURL
        self.realtimeURL = realtimeURL
        self.clientKey = clientKey
        self.session = session
        self.options = options
    }

    /// The base `getMembers` posts to (PROTOCOL.md §5): the base URL, or, when only a
    /// realtime URL is given, that URL as http(s) with the same host and port (`ws` → `http`,
    /// `wss` → `https`, path dropped).
    public var membersBaseURL: String {
        let base = baseURL.trimmingWhitespace
        guard base.isEmpty, let realtimeURL, let parsed = try? ParsedURL(realtimeURL.trimmingWhitespace, argument: "realtimeURL")
        else { return base }
        let scheme = parsed.scheme == "wss" || parsed.scheme == "https" ? "https" : "http"
        return scheme + "://" + parsed.authority
    }
}

/// What a manager tells its user about itself: the endpoint it derived, connection attempts
/// and back-off (`debug`), and what it had to drop (`warn`).
public struct RealtimeLog: Sendable {
    /// nil: debug notes are not even formatted.
    public var debug: (@Sendable (String) -> Void)?
    public var warn: @Sendable (String) -> Void

    public init(debug: (@Sendable (String) -> Void)?, warn: @escaping @Sendable (String) -> Void) {
        self.debug = debug
        self.warn = warn
    }

    /// A secret shown in a log: its first characters (only when long) and its length.
    public static func redacted(_ secret: String) -> String {
        let n = secret.count
        return n >= 12 ? "\(secret.prefix(4))… (\(n) chars)" : "… (\(n) chars)"
    }
}
