/// The names and limits of ../shared/spec/PROTOCOL.md, stated once for the client
/// (Realtime) and the hub.
public enum ProtocolNames {
    // §3: the events a client sends.
    public static let message = "message"
    public static let join = "join"
    public static let leave = "leave"
    public static let update = "update"
    public static let members = "members"

    // §4: the presence events the server delivers.
    public static let channelJoin = "channel:join"
    public static let channelLeave = "channel:leave"
    public static let channelUpdate = "channel:update"

    /// §3: names an `eventName` must not be (Socket.IO's own events).
    public static let reservedEventNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]
    /// §3: prefixes an `eventName` must not start with (the server's own events).
    public static let reservedEventPrefixes = ["channel:", "user:"]

    /// §3: a channel is a non-empty string of at most this many UTF-8 bytes.
    public static let maxChannelBytes = 256

    /// §4: the user events, delivered with two arguments (the name and the session).
    public static let userEvents: Set<String> = [
        "user:signin", "user:signout", "user:update", "user:delete",
        "user:pwdchange", "user:emailchange", "user:phonechange",
    ]

    /// §5: the members REST call, under the app's base URL.
    public static let membersPath = "/_api/rest/v1/realtime/get-members"

    /// Whether `name` is one of the user events. Most names are cleared by their first
    /// byte: no prefix walk, no hashing per message.
    @inlinable
    public static func isUserEvent(_ name: String) -> Bool {
        name.utf8.first == UInt8(ascii: "u") && name.hasPrefix("user:") && userEvents.contains(name)
    }
}
