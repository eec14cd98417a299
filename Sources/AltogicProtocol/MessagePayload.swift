import RTJSON

/// The payload of the client's `message` event (PROTOCOL.md §3):
/// `{"channel":C,"eventName":E,"message":M,"echo":B}`, channel and echo optional. A body
/// that is already text is written around, never parsed; the tree is the value path.
public enum MessagePayload {
    /// The payload as a value: text at once when the body is text (no dictionary on the
    /// send path), else a tree.
    public static func value(channel: String?, eventName: String, message: JSONValue, echo: Bool?) -> JSONValue {
        guard case .raw(let body) = message else { return tree(channel: channel, eventName: eventName, message: message, echo: echo) }
        var out: [UInt8] = []
        out.reserveCapacity(body.bytes.count + eventName.utf8.count + (channel?.utf8.count ?? 0) + 64)
        write(channel: channel, eventName: eventName, body: body, echo: echo, into: &out)
        return .raw(RawJSON(unchecked: out))
    }

    public static func tree(channel: String?, eventName: String, message: JSONValue, echo: Bool?) -> JSONValue {
        var payload: [String: JSONValue] = ["eventName": .string(eventName), "message": message]
        if let channel { payload["channel"] = .string(channel) }
        if let echo { payload["echo"] = .bool(echo) }
        return .object(payload)
    }

    /// The text of a payload with a text body, appended to `out`.
    public static func write(channel: String?, eventName: String, body: RawJSON, echo: Bool?, into out: inout [UInt8]) {
        writeHead(channel: channel, eventName: eventName, into: &out)
        out.append(contentsOf: body.bytes)
        writeTail(echo: echo, into: &out)
    }

    /// `{"channel":…,"eventName":…,"message":`, the payload up to its body.
    @inlinable
    public static func writeHead(channel: String?, eventName: String, into out: inout [UInt8]) {
        if let channel {
            JSONValue.appendASCII(#"{"channel":"#, into: &out)
            JSONValue.writeString(channel, into: &out)
            JSONValue.appendASCII(#","eventName":"#, into: &out)
        } else {
            JSONValue.appendASCII(#"{"eventName":"#, into: &out)
        }
        JSONValue.writeString(eventName, into: &out)
        JSONValue.appendASCII(#","message":"#, into: &out)
    }

    /// What follows the body: the echo, if given, and the closing brace.
    @inlinable
    public static func writeTail(echo: Bool?, into out: inout [UInt8]) {
        switch echo {
        case nil: out.append(UInt8(ascii: "}"))
        case true?: JSONValue.appendASCII(#","echo":true}"#, into: &out)
        case false?: JSONValue.appendASCII(#","echo":false}"#, into: &out)
        }
    }
}
