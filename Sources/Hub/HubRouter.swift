import AltogicProtocol
import RTJSON

/// One event to deliver: encoded once, written to every recipient.
struct Delivery: Equatable, Sendable {
    var event: String
    var content: Content
    var recipients: [HubRouter.SocketKey]

    enum Content: Sendable {
        case args([JSONValue])
        /// The one argument `{"channel": C or null, "message": M}` of every channel event,
        /// kept apart so the encoder writes it straight into the frame (a relayed body is
        /// then copied once, not first into an argument of its own).
        case channelEvent(channel: String?, message: JSONValue)
    }

    init(event: String, args: [JSONValue], recipients: [HubRouter.SocketKey]) {
        self.init(event: event, content: .args(args), recipients: recipients)
    }

    init(event: String, content: Content, recipients: [HubRouter.SocketKey]) {
        self.event = event
        self.content = content
        self.recipients = recipients
    }

    /// The event's arguments as values.
    var args: [JSONValue] {
        switch content {
        case .args(let a): return a
        case .channelEvent(let channel, let message): return [EventEnvelope.value(channel: channel, message: message)]
        }
    }

    static func == (a: Delivery, b: Delivery) -> Bool {
        a.event == b.event && a.recipients == b.recipients && a.args == b.args
    }
}

/// The channel and presence rules of PROTOCOL.md §3–§4 as a pure model: sockets, their
/// member data and channels. It decides who gets what; it does no I/O, so every rule is
/// tested on it directly (HubRouterTests) and the network layer only encodes and writes.
struct HubRouter: Sendable {
    typealias SocketKey = Int

    struct Socket: Sendable {
        var sid: String
        var echoMessages: Bool
        var session: String?
        var data: JSONValue = .null
        /// In join order.
        var channels: [String] = []
    }

    /// Members of one channel. `keys`, in join order, is both the recipients of every event
    /// to the channel (shared with each delivery, not copied per message) and the order of
    /// a members listing.
    struct Channel: Sendable {
        private(set) var keys: [SocketKey] = []
        private var members: Set<SocketKey> = []

        var isEmpty: Bool { keys.isEmpty }
        func contains(_ key: SocketKey) -> Bool { members.contains(key) }

        /// False when `key` is a member already.
        mutating func add(_ key: SocketKey) -> Bool {
            guard members.insert(key).inserted else { return false }
            keys.append(key)
            return true
        }

        mutating func remove(_ key: SocketKey) {
            guard members.remove(key) != nil, let i = keys.firstIndex(of: key) else { return }
            keys.remove(at: i)
        }
    }

    private(set) var sockets: [SocketKey: Socket] = [:]
    private(set) var channels: [String: Channel] = [:]

    var socketCount: Int { sockets.count }
    var channelCount: Int { channels.count }

    func sid(of key: SocketKey) -> String? { sockets[key]?.sid }

    /// Channels the socket on `key` is in.
    func channelCount(of key: SocketKey) -> Int { sockets[key]?.channels.count ?? 0 }

    func isMember(_ key: SocketKey, of channel: String) -> Bool { channels[channel]?.contains(key) == true }

    mutating func connect(_ key: SocketKey, sid: String, echoMessages: Bool, session: String?) {
        sockets[key] = Socket(sid: sid, echoMessages: echoMessages, session: session)
    }

    /// Removes the socket: each of its channels hears `channel:leave` for it.
    mutating func disconnect(_ key: SocketKey) -> [Delivery] {
        guard let socket = sockets[key] else { return [] }
        var out: [Delivery] = []
        for c in socket.channels {
            removeMember(key, from: c)
            let remaining = channels[c]?.keys ?? []
            if !remaining.isEmpty {
                out.append(Delivery(event: ProtocolNames.channelLeave, content: .channelEvent(channel: c, message: presence(socket)), recipients: remaining))
            }
        }
        sockets[key] = nil
        return out
    }

    /// Applies `command` from socket `key`. Returns what to deliver and, for `members`, the ack.
    mutating func handle(_ command: ClientCommand, from key: SocketKey) -> (deliveries: [Delivery], ack: (id: Int, args: [JSONValue])?) {
        if case let .message(channel, eventName, message, echo) = command {
            let d = relay(channel: channel, eventName: eventName, message: message, echo: echo, from: key)
            return (d.map { [$0] } ?? [], nil)
        }
        guard var socket = sockets[key] else { return ([], nil) }
        switch command {
        case .message:
            return ([], nil)  // handled above

        case let .join(channel, echo):
            guard channels[channel, default: Channel()].add(key) else { return ([], nil) }
            socket.channels.append(channel)
            sockets[key] = socket
            var recipients = channels[channel]!.keys
            if !(echo ?? socket.echoMessages) { recipients.removeAll { $0 == key } }
            let d = Delivery(event: ProtocolNames.channelJoin, content: .channelEvent(channel: channel, message: presence(socket)), recipients: recipients)
            return (recipients.isEmpty ? [] : [d], nil)

        case let .leave(channel, echo):
            guard channels[channel]?.contains(key) == true else { return ([], nil) }
            removeMember(key, from: channel)
            socket.channels.removeAll { $0 == channel }
            sockets[key] = socket
            var recipients = channels[channel]?.keys ?? []
            if echo ?? socket.echoMessages { recipients.append(key) }
            let d = Delivery(event: ProtocolNames.channelLeave, content: .channelEvent(channel: channel, message: presence(socket)), recipients: recipients)
            return (recipients.isEmpty ? [] : [d], nil)

        case let .update(data, echo):
            socket.data = data
            sockets[key] = socket
            let echoes = echo ?? socket.echoMessages
            var out: [Delivery] = []
            for c in socket.channels {
                guard let ch = channels[c] else { continue }
                var recipients = ch.keys
                if !echoes { recipients.removeAll { $0 == key } }
                if !recipients.isEmpty {
                    out.append(Delivery(event: ProtocolNames.channelUpdate, content: .channelEvent(channel: c, message: presence(socket)), recipients: recipients))
                }
            }
            return (out, nil)

        case let .members(channel, ackID):
            return ([], (ackID, [members(of: channel)]))
        }
    }

    /// A message from socket `key`: its delivery, or nil when nobody is to get it. Messages
    /// are the bulk of the traffic, so the hub calls this rather than `handle`, whose array
    /// of deliveries would cost an allocation per message.
    func relay(channel: String?, eventName: String, message: JSONValue, echo: Bool?, from key: SocketKey) -> Delivery? {
        guard let echoMessages = sockets[key]?.echoMessages else { return nil }
        var recipients: [SocketKey]
        if let channel {
            guard let ch = channels[channel] else { return nil }
            recipients = ch.keys
        } else {
            recipients = Array(sockets.keys)
        }
        if !(echo ?? echoMessages), let i = recipients.firstIndex(of: key) { recipients.remove(at: i) }
        if recipients.isEmpty { return nil }
        return Delivery(event: eventName, content: .channelEvent(channel: channel, message: message), recipients: recipients)
    }

    /// `[{"id": SID, "data": D}, …]` in join order; empty for an unknown channel.
    func members(of channel: String) -> JSONValue {
        guard let ch = channels[channel] else { return .array([]) }
        return .array(ch.keys.compactMap { sockets[$0].map(presence) })
    }

    /// Sockets whose auth `Session` is `to`, or every socket for "*".
    func sockets(withSession to: String) -> [SocketKey] {
        if to == "*" { return Array(sockets.keys) }
        return sockets.compactMap { $0.value.session == to ? $0.key : nil }
    }

    private mutating func removeMember(_ key: SocketKey, from channel: String) {
        channels[channel]?.remove(key)
        if channels[channel]?.isEmpty == true { channels[channel] = nil }
    }

    private func presence(_ s: Socket) -> JSONValue {
        .object(["id": .string(s.sid), "data": s.data])
    }
}
