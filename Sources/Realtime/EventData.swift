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
        if case .raw(let text)? = args.first {
            self = EventData(envelope: text) ?? EventData(channel: nil, message: .raw(text))
        } else if let object = args.first?.objectValue, let message = object["message"],
            object.count == 1 || (object.count == 2 && object["channel"] != nil)
        {
            self.init(channel: object["channel"]?.stringValue, message: message)
        } else {
            self.init(channel: nil, message: args.first ?? .null)
        }
    }

    /// The envelope read from its text (`RealtimeConfig.messagesAsText`), the way the tree
    /// branch above reads it, with no dictionary built: the message stays text, copied out.
    /// Nil when the text is not an envelope (keys other than "channel" and "message").
    private init?(envelope text: RawJSON) {
        guard text.bytes.first == UInt8(ascii: "{") else { return nil }
        let read = try? text.bytes.withUnsafeBufferPointer { (b) throws(JSONError) -> EventData? in
            var r = JSONReader(b, checkedText: true)
            var channel: String?
            var message: JSONValue?
            if try r.beginObject() { return nil }
            repeat {
                // Duplicate keys: the last one counts, as in JSONValue.parse.
                switch try r.readKey({ Self.keyKind($0) }) {
                case 1:
                    channel = try r.peek() == .string ? try r.readString { String(decoding: $0, as: UTF8.self) } : nil
                    if channel == nil { try r.skipValue() }
                case 2:
                    let raw = try r.readRaw()
                    let first = raw.bytes.first
                    message = first == UInt8(ascii: "{") || first == UInt8(ascii: "[") ? .raw(raw) : raw.parsed
                default:
                    return nil
                }
            } while try r.nextMember()
            return message.map { EventData(channel: channel, message: $0) }
        }
        guard let data = read else { return nil }
        self = data
    }

    /// 1 for "channel", 2 for "message", 0 for any other key.
    private static func keyKind(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        if JSONReader.key(key, is: "channel") { return 1 }
        if JSONReader.key(key, is: "message") { return 2 }
        return 0
    }
}
