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
    /// The hub's decoder keeps the argument as JSON text (`.raw`): its fields are read
    /// straight from the text, and the body (`message`, `data`) is copied out as text.
    static func parse(event name: String, payload argument: JSONValue?, ackID: Int?) -> Result<ClientCommand, DropReason> {
        if isReservedEventName(name) { return .failure(.reservedName) }
        let body: PayloadFields.Key = name == "message" ? .message : name == "update" ? .data : .other
        let fields: PayloadFields?
        switch argument {
        case .raw(let r)?: fields = PayloadFields(text: r.bytes, body: body)
        case .object(let o)?: fields = PayloadFields(tree: o, body: body)
        default: fields = nil
        }
        guard let payload = fields else {
            return .failure(name == "message" || name == "join" || name == "leave" || name == "update" || name == "members"
                ? .badPayload : .unknownEvent)
        }
        let echo: Bool?
        switch payload.echo {
        case .absent, .null: echo = nil
        case .bool(let b): echo = b
        default: return .failure(.badPayload)
        }
        switch name {
        case "message":
            guard case .string(let eventName) = payload.eventName, !eventName.isEmpty else {
                return .failure(.badPayload)
            }
            if isReservedEventName(eventName) { return .failure(.reservedName) }
            var channel: String?
            switch payload.channel {
            case .absent, .null: channel = nil
            case .string(let c) where isValidChannel(c): channel = c
            default: return .failure(.badPayload)
            }
            return .success(.message(channel: channel, eventName: eventName, message: payload.body ?? .null, echo: echo))
        case "join", "leave":
            guard case .string(let c) = payload.channel, isValidChannel(c) else { return .failure(.badPayload) }
            return .success(name == "join" ? .join(channel: c, echo: echo) : .leave(channel: c, echo: echo))
        case "update":
            return .success(.update(data: payload.body ?? .null, echo: echo))
        case "members":
            guard let id = ackID, case .string(let c) = payload.channel, isValidChannel(c) else {
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

/// The fields of a command's payload object that §3 reads. Other keys are ignored; of a
/// repeated key the last one counts, as when the object is parsed into a dictionary.
struct PayloadFields {
    enum Scalar: Equatable { case absent, null, bool(Bool), string(String), other }
    enum Key { case echo, eventName, channel, message, data, other }

    var echo = Scalar.absent
    var eventName = Scalar.absent
    var channel = Scalar.absent
    /// The member named by `body` (`message` or `data`), as it is: text stays text.
    var body: JSONValue?

    /// From the JSON text of the payload, with no dictionary: keys are compared as bytes and
    /// the body is copied out as text. Nil when the text is not an object (or not JSON).
    init?(text: [UInt8], body: Key) {
        let read: Result<PayloadFields, JSONError> = text.withUnsafeBufferPointer { b in
            do throws(JSONError) { return .success(try PayloadFields(reading: b, body: body)) } catch { return .failure(error) }
        }
        guard case .success(let fields) = read else { return nil }
        self = fields
    }

    private init(reading text: UnsafeBufferPointer<UInt8>, body: Key) throws(JSONError) {
        // A RawJSON was checked when it was made (the decoder validates what it keeps).
        var r = JSONReader(text, checkedText: true)
        guard try r.peek() == .object else { throw JSONError("not an object") }
        if try !r.beginObject() {
            repeat {
                let key = try r.readKey(Key.init(utf8:))
                switch key {
                case .echo: echo = try Self.readScalar(&r)
                case .eventName: eventName = try Self.readScalar(&r)
                case .channel: channel = try Self.readScalar(&r)
                case .message, .data:
                    if key == body { self.body = .raw(try r.readRaw()) } else { try r.skipValue() }
                case .other: try r.skipValue()
                }
            } while try r.nextMember()
        }
        try r.finish()
    }

    /// From a payload already built as a tree (a binary event's, or one made in code).
    init(tree o: [String: JSONValue], body: Key) {
        echo = Self.scalar(o["echo"])
        eventName = Self.scalar(o["eventName"])
        channel = Self.scalar(o["channel"])
        switch body {
        case .message: self.body = o["message"]
        case .data: self.body = o["data"]
        default: self.body = nil
        }
    }

    private static func readScalar(_ r: inout JSONReader) throws(JSONError) -> Scalar {
        switch try r.peek() {
        case .string: return .string(try r.readString { String(decoding: $0, as: UTF8.self) })
        case .literal:
            if case .bool(let b) = try r.readLiteral() { return .bool(b) }
            return .null
        default: try r.skipValue(); return .other
        }
    }

    private static func scalar(_ v: JSONValue?) -> Scalar {
        switch v?.resolved {
        case nil: return .absent
        case .null?: return .null
        case .bool(let b)?: return .bool(b)
        case .string(let s)?: return .string(s)
        default: return .other
        }
    }
}

extension PayloadFields.Key {
    init(utf8 k: UnsafeBufferPointer<UInt8>) {
        switch k.count {
        case 4: self = Self.equal(k, "echo") ? .echo : Self.equal(k, "data") ? .data : .other
        case 7: self = Self.equal(k, "channel") ? .channel : Self.equal(k, "message") ? .message : .other
        case 9: self = Self.equal(k, "eventName") ? .eventName : .other
        default: self = .other
        }
    }

    private static func equal(_ k: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        let w = s.utf8Start
        for i in 0..<k.count where k[i] != w[i] { return false }
        return true
    }
}
