import RTJSON

/// What a connected socket asks the hub to do (PROTOCOL.md §3), validated. Anything that
/// does not parse into one of these is dropped by the hub, and the connection is kept.
enum ClientCommand: Equatable, Sendable {
    case message(channel: String?, eventName: String, message: JSONValue, echo: Bool?)
    case join(channel: String, echo: Bool?)
    case leave(channel: String, echo: Bool?)
    case update(data: JSONValue, echo: Bool?)
    case members(channel: String, ackID: Int)
}

/// Why a client packet was dropped; each is a label of the dropped-packets metric.
enum DropReason: String, CaseIterable, Error, Sendable {
    case malformed          // not Engine.IO / Socket.IO at all
    case unknownType = "unknown_type"        // a packet type the hub does not take from clients
    case notConnected = "not_connected"       // an event before CONNECT (or after DISCONNECT)
    case unknownEvent = "unknown_event"       // an event name outside §3's table
    case reservedName = "reserved_name"       // eventName reserved (§3)
    case badPayload = "bad_payload"         // wrong payload shape
    case badNamespace = "bad_namespace"       // a namespace other than "/"
}

extension ClientCommand {
    static let maxChannelBytes = 256

    static let reservedNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    static func isReservedEventName(_ name: String) -> Bool {
        // Every reserved name and prefix starts with one of these letters; most event names
        // are cleared by their first byte, without hashing.
        switch name.utf8.first {
        case UInt8(ascii: "c"), UInt8(ascii: "d"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "u"):
            return reservedNames.contains(name) || name.hasPrefix("channel:") || name.hasPrefix("user:")
        default:
            return false
        }
    }

    /// Reads an EVENT's name and first argument (nil when it has none); `ackID` is the packet's id.
    static func parse(event name: String, payload argument: JSONValue?, ackID: Int?) -> Result<ClientCommand, DropReason> {
        if isReservedEventName(name) { return .failure(.reservedName) }
        guard let payload = argument?.objectValue else {
            return .failure(name == "message" || name == "join" || name == "leave" || name == "update" || name == "members"
                ? .badPayload : .unknownEvent)
        }
        let echo: Bool?
        switch payload["echo"] {
        case nil, .null?: echo = nil
        case .bool(let b)?: echo = b
        default: return .failure(.badPayload)
        }
        switch name {
        case "message":
            guard case .string(let eventName)? = payload["eventName"], !eventName.isEmpty else {
                return .failure(.badPayload)
            }
            if isReservedEventName(eventName) { return .failure(.reservedName) }
            var channel: String?
            switch payload["channel"] {
            case nil, .null?: channel = nil
            case .string(let c)? where isValidChannel(c): channel = c
            default: return .failure(.badPayload)
            }
            return .success(.message(channel: channel, eventName: eventName, message: payload["message"] ?? .null, echo: echo))
        case "join", "leave":
            guard case .string(let c)? = payload["channel"], isValidChannel(c) else { return .failure(.badPayload) }
            return .success(name == "join" ? .join(channel: c, echo: echo) : .leave(channel: c, echo: echo))
        case "update":
            return .success(.update(data: payload["data"] ?? .null, echo: echo))
        case "members":
            guard let id = ackID, case .string(let c)? = payload["channel"], isValidChannel(c) else {
                return .failure(.badPayload)
            }
            return .success(.members(channel: c, ackID: id))
        default:
            return .failure(.unknownEvent)
        }
    }

    static func isValidChannel(_ c: String) -> Bool {
        !c.isEmpty && c.utf8.count <= maxChannelBytes
    }
}
