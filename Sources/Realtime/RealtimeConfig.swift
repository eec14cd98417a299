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
}
