import AltogicProtocol
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
        plain(OutboundEmit(event: ProtocolNames.message, payload: Self.messagePayload(channel, eventName, message, echo)), online: online)
    }

    /// `{"channel":…,"eventName":…,"message":…,"echo":…}` (AltogicProtocol's `MessagePayload`):
    /// a body that is already text (what a script sends) makes the payload text at once.
    static func messagePayload(_ channel: String?, _ eventName: String, _ message: JSONValue, _ echo: Bool?) -> JSONValue {
        MessagePayload.value(channel: channel, eventName: eventName, message: message, echo: echo)
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

    /// `MessagePayload.writeHead`'s bytes, from the kept copy when the channel and event name repeat.
    mutating func messageHead(_ channel: String?, _ eventName: String) -> [UInt8] {
        if keepsMessageHead(channel, eventName), let head = lastMessageHead { return head.bytes }
        var bytes: [UInt8] = []
        MessagePayload.writeHead(channel: channel, eventName: eventName, into: &bytes)
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
        return membership(OutboundEmit(event: ProtocolNames.leave, payload: .object(payload)), online: online)
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
        emit.event == ProtocolNames.join || emit.event == ProtocolNames.leave || emit.event == ProtocolNames.update
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
        return OutboundEmit(event: ProtocolNames.join, payload: .object(payload))
    }

    private static func updateEmit(_ data: JSONValue, _ echo: Bool?) -> OutboundEmit {
        var payload: [String: JSONValue] = ["data": data]
        if let echo { payload["echo"] = .bool(echo) }
        return OutboundEmit(event: ProtocolNames.update, payload: .object(payload))
    }
}
