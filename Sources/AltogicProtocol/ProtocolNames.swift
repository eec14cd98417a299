/// The names and limits of ../shared/spec/PROTOCOL.md, stated once for the client
/// (Realtime) and the hub. The single names are inlinable literals: using one on a message
/// path costs what the literal did (no lazy global behind a call).
public enum ProtocolNames {
    // §3: the events a client sends.
    @inlinable public static var message: String { "message" }
    @inlinable public static var join: String { "join" }
    @inlinable public static var leave: String { "leave" }
    @inlinable public static var update: String { "update" }
    @inlinable public static var members: String { "members" }

    // §4: the presence events the server delivers.
    @inlinable public static var channelJoin: String { "channel:join" }
    @inlinable public static var channelLeave: String { "channel:leave" }
    @inlinable public static var channelUpdate: String { "channel:update" }

    /// §3: names an `eventName` must not be (Socket.IO's own events).
    public static let reservedEventNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]
    /// §3: prefixes an `eventName` must not start with (the server's own events).
    public static let reservedEventPrefixes = ["channel:", "user:"]

    /// §3: a channel is a non-empty string of at most this many UTF-8 bytes.
    @inlinable public static var maxChannelBytes: Int { 256 }

    /// §4: the user events, delivered with two arguments (the name and the session).
    public static let userEvents: Set<String> = [
        "user:signin", "user:signout", "user:update", "user:delete",
        "user:pwdchange", "user:emailchange", "user:phonechange",
    ]

    /// §5: the members REST call, under the app's base URL.
    @inlinable public static var membersPath: String { "/_api/rest/v1/realtime/get-members" }

    /// Whether `name` is one of the user events. Most names are cleared by their first
    /// byte: no prefix walk, no hashing per message.
    @inlinable
    public static func isUserEvent(_ name: String) -> Bool {
        name.utf8.first == UInt8(ascii: "u") && name.hasPrefix("user:") && userEvents.contains(name)
    }
}
