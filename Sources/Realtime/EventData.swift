import RTJSON

/// The one argument of a delivered event (PROTOCOL.md §4): `{"channel": C or null, "message": M}`.
public struct EventData: Sendable, Equatable {
    public var channel: String?
    public var message: JSONValue

    public init(channel: String?, message: JSONValue) {
        self.channel = channel
        self.message = message
    }

    /// Reads the event's arguments. A server that does not wrap its payload (a plain
    /// Socket.IO server) gets its first argument as the message, with no channel.
    init(args: [JSONValue]) {
        if let object = args.first?.objectValue, let message = object["message"],
            object.count == 1 || (object.count == 2 && object["channel"] != nil)
        {
            self.init(channel: object["channel"]?.stringValue, message: message)
        } else {
            self.init(channel: nil, message: args.first ?? .null)
        }
    }
}
