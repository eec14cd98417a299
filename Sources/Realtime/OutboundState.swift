import RTJSON

/// One Socket.IO emit of the manager: the event (`message`, `join`, `leave`, `update`) and
/// its single payload argument.
struct OutboundEmit: Equatable {
    var event: String
    var payload: JSONValue
}

/// The send policy of PROTOCOL.md §6 as a pure state machine: what to send now, what to
/// queue while offline, what to drop, and what to send after each successful CONNECT.
///
/// The channels joined (with the echo each was joined with) and the latest profile are
/// kept whether online or not. With auto-join, a `join`/`leave`/`update` made offline
/// only changes that state: the replay after CONNECT sends the result once, so joining
/// then leaving while offline sends neither. Without auto-join nothing is replayed, and
/// one made offline is queued and sent after the next CONNECT, in order with the messages.
/// Membership and profile are state, never volatile: only messages are dropped when
/// `bufferMessages` is false.
struct OutboundState {
    enum Disposition: Equatable {
        case sendNow(OutboundEmit)
        case buffered
        case folded
        case dropped
    }

    let autoJoin: Bool
    let bufferMessages: Bool
    /// Joined channels in join order, with the per-call echo each was joined with.
    private(set) var channels: [String] = []
    private(set) var channelEcho: [String: Bool?] = [:]
    private(set) var profile: (data: JSONValue, echo: Bool?)?
    private(set) var buffer: [OutboundEmit] = []

    init(autoJoin: Bool, bufferMessages: Bool) {
        self.autoJoin = autoJoin
        self.bufferMessages = bufferMessages
    }

    mutating func message(channel: String?, eventName: String, message: JSONValue, echo: Bool?, online: Bool) -> Disposition {
        plain(OutboundEmit(event: "message", payload: Self.messagePayload(channel, eventName, message, echo)), online: online)
    }

    /// `{"channel":…,"eventName":…,"message":…,"echo":…}`. A body that is already text
    /// (what a script sends) makes the payload text at once: no Dictionary on the send path.
    static func messagePayload(_ channel: String?, _ eventName: String, _ message: JSONValue, _ echo: Bool?) -> JSONValue {
        guard case .raw(let body) = message else {
            var payload: [String: JSONValue] = ["eventName": .string(eventName), "message": message]
            if let channel { payload["channel"] = .string(channel) }
            if let echo { payload["echo"] = .bool(echo) }
            return .object(payload)
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.bytes.count + eventName.utf8.count + (channel?.utf8.count ?? 0) + 64)
        writeMessagePayload(channel, eventName, body, echo, into: &out)
        return .raw(RawJSON(unchecked: out))
    }

    /// The text of a message payload with a text body, appended to `out`.
    static func writeMessagePayload(_ channel: String?, _ eventName: String, _ body: RawJSON, _ echo: Bool?, into out: inout [UInt8]) {
        writeMessageHead(channel, eventName, into: &out)
        out.append(contentsOf: body.bytes)
        writeMessageTail(echo, into: &out)
    }

    /// `{"channel":…,"eventName":…,"message":`, the payload up to its body.
    static func writeMessageHead(_ channel: String?, _ eventName: String, into out: inout [UInt8]) {
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
    static func writeMessageTail(_ echo: Bool?, into out: inout [UInt8]) {
        switch echo {
        case nil: out.append(UInt8(ascii: "}"))
        case true?: JSONValue.appendASCII(#","echo":true}"#, into: &out)
        case false?: JSONValue.appendASCII(#","echo":false}"#, into: &out)
        }
    }

    /// The head of the last message payload written from text, kept: a script sends on the
    /// same channel with the same event name over and over.
    private var lastMessageHead: (channel: String?, eventName: String, bytes: [UInt8])?

    /// Whether the kept head is for `channel` and `eventName`. It is made only by messages
    /// whose channel and event name passed the argument checks (which depend on nothing else).
    func keepsMessageHead(_ channel: String?, _ eventName: String) -> Bool {
        guard let head = lastMessageHead else { return false }
        return head.eventName == eventName && head.channel == channel
    }

    /// `writeMessageHead`'s bytes, from the kept copy when the channel and event name repeat.
    mutating func messageHead(_ channel: String?, _ eventName: String) -> [UInt8] {
        if keepsMessageHead(channel, eventName), let head = lastMessageHead { return head.bytes }
        var bytes: [UInt8] = []
        Self.writeMessageHead(channel, eventName, into: &bytes)
        lastMessageHead = (channel, eventName, bytes)
        return bytes
    }

    mutating func join(channel: String, echo: Bool?, online: Bool) -> Disposition {
        if channelEcho[channel] == nil { channels.append(channel) }
        channelEcho[channel] = .some(echo)
        return membership(Self.joinEmit(channel, echo), online: online)
    }

    mutating func leave(channel: String, echo: Bool?, online: Bool) -> Disposition {
        if channelEcho.removeValue(forKey: channel) != nil {
            channels.removeAll { $0 == channel }
        }
        var payload: [String: JSONValue] = ["channel": .string(channel)]
        if let echo { payload["echo"] = .bool(echo) }
        return membership(OutboundEmit(event: "leave", payload: .object(payload)), online: online)
    }

    mutating func update(data: JSONValue, echo: Bool?, online: Bool) -> Disposition {
        profile = (data, echo)
        return membership(Self.updateEmit(data, echo), online: online)
    }

    /// What to send right after a successful CONNECT, in order: the profile, the joins,
    /// then the buffer (which is emptied).
    mutating func afterConnect() -> [OutboundEmit] {
        var out: [OutboundEmit] = []
        if autoJoin {
            if let profile, !profile.data.isNull { out.append(Self.updateEmit(profile.data, profile.echo)) }
            for channel in channels { out.append(Self.joinEmit(channel, channelEcho[channel] ?? nil)) }
        }
        out += buffer
        buffer = []
        return out
    }

    /// Empties the buffer (no replay): what close() still owes the server.
    mutating func takeBuffer() -> [OutboundEmit] {
        defer { buffer = [] }
        return buffer
    }

    /// Puts emits that could not be sent back at the head of the buffer (the connection
    /// dropped in the middle of a flush). Replayed state is not re-queued: it replays anyway.
    mutating func requeue(_ emits: some Collection<OutboundEmit>) {
        // Replayed state is not re-queued; membership that is not replayed always is.
        buffer.insert(contentsOf: emits.filter { Self.isMembership($0) ? !autoJoin : bufferMessages }, at: 0)
    }

    private static func isMembership(_ emit: OutboundEmit) -> Bool {
        emit.event == "join" || emit.event == "leave" || emit.event == "update"
    }

    private mutating func membership(_ emit: OutboundEmit, online: Bool) -> Disposition {
        if online { return .sendNow(emit) }
        if autoJoin { return .folded }
        buffer.append(emit)
        return .buffered
    }

    private mutating func plain(_ emit: OutboundEmit, online: Bool) -> Disposition {
        if online { return .sendNow(emit) }
        guard bufferMessages else { return .dropped }
        buffer.append(emit)
        return .buffered
    }

    private static func joinEmit(_ channel: String, _ echo: Bool?) -> OutboundEmit {
        var payload: [String: JSONValue] = ["channel": .string(channel)]
        if let echo { payload["echo"] = .bool(echo) }
        return OutboundEmit(event: "join", payload: .object(payload))
    }

    private static func updateEmit(_ data: JSONValue, _ echo: Bool?) -> OutboundEmit {
        var payload: [String: JSONValue] = ["data": data]
        if let echo { payload["echo"] = .bool(echo) }
        return OutboundEmit(event: "update", payload: .object(payload))
    }
}
