import RTJSON

/// The one argument of every event the server delivers (PROTOCOL.md §4) but the user
/// events: `{"channel": C or null, "message": M}`. The fast path (text written and read
/// in place) and the value path (a tree) are pinned to each other by AltogicProtocolTests.
public enum EventEnvelope {
    // MARK: Writing

    /// The envelope's text, appended to `out`: `{"channel":C|null,"message":M}`. Throws for
    /// a message with no JSON text (binary, a non-finite number).
    public static func write(channel: String?, message: JSONValue, into out: inout [UInt8]) throws(JSONError) {
        JSONValue.appendASCII(#"{"channel":"#, into: &out)
        if let channel { JSONValue.writeString(channel, into: &out) } else { JSONValue.appendASCII("null", into: &out) }
        JSONValue.appendASCII(#","message":"#, into: &out)
        try message.write(into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// The envelope as a tree: the value path, and the only form for a binary message
    /// (the encoder turns its binary into attachments).
    public static func tree(channel: String?, message: JSONValue) -> JSONValue {
        .object(["channel": channel.map(JSONValue.string) ?? .null, "message": message])
    }

    /// The envelope as a value: its text (`write`) when it has one, else the tree.
    public static func value(channel: String?, message: JSONValue) -> JSONValue {
        if !message.containsBinary {
            var out: [UInt8] = []
            if case .raw(let r) = message { out.reserveCapacity(r.bytes.count + 32 + (channel?.utf8.count ?? 4)) }
            do {
                try write(channel: channel, message: message, into: &out)
                return .raw(RawJSON(unchecked: out))
            } catch {
                // Not writable as JSON (a non-finite number): the tree fails to encode too.
            }
        }
        return tree(channel: channel, message: message)
    }

    // MARK: Reading

    /// Reads an envelope from an event's first argument. Nil when it is not one: an object
    /// with a "message" and at most a "channel" besides (a plain Socket.IO server's
    /// argument is then the message itself). A non-string channel reads as nil.
    public static func read(_ argument: JSONValue) -> (channel: String?, message: JSONValue)? {
        if case .raw(let text) = argument { return read(text: text) }
        guard let object = argument.objectValue, let message = object["message"],
            object.count == 1 || (object.count == 2 && object["channel"] != nil)
        else { return nil }
        return (object["channel"]?.stringValue, message)
    }

    /// `read` on the argument's text, the way the tree branch reads it, with no dictionary
    /// built: the message stays text (an object or array as `.raw`, a scalar as its value).
    public static func read(text: RawJSON) -> (channel: String?, message: JSONValue)? {
        guard text.bytes.first == UInt8(ascii: "{") else { return nil }
        typealias Read = (channel: String?, message: JSONValue)
        let read = try? text.bytes.withUnsafeBufferPointer { (b) throws(JSONError) -> Read? in
            var r = JSONReader(b, checkedText: true)
            var channel: String?
            var message: JSONValue?
            if try r.beginObject() { return nil }
            repeat {
                // Duplicate keys: the last one counts, as in JSONValue.parse.
                switch try r.readKey({ keyKind($0) }) {
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
            return message.map { (channel, $0) }
        }
        return read
    }

    /// 1 for "channel", 2 for "message", 0 for any other key.
    private static func keyKind(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        if JSONReader.key(key, is: "channel") { return 1 }
        if JSONReader.key(key, is: "message") { return 2 }
        return 0
    }
}
