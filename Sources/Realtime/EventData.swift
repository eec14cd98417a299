import AltogicProtocol
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
    /// The envelope is read by AltogicProtocol's `EventEnvelope.read`: from its text
    /// (`RealtimeConfig.messagesAsText`) with no dictionary built, or from a tree.
    init(args: [JSONValue]) {
        guard let first = args.first else {
            self.init(channel: nil, message: .null)
            return
        }
        if let envelope = EventEnvelope.read(first) {
            self.init(channel: envelope.channel, message: envelope.message)
        } else {
            self.init(channel: nil, message: first)
        }
    }
}
