import AltogicProtocol
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
    // Per-socket limits (HubConfig, docs/limits.md)
    case rateLimited = "rate_limited"         // over the connection's packet rate
    case tooManyChannels = "too_many_channels"  // a join past maxChannelsPerSocket
    case memberDataTooLarge = "member_data_too_large"  // update data over maxMemberDataBytes
    case binaryMemberData = "binary_member_data"  // update data holding binary: members must stay JSON
}

extension ClientCommand {
    /// Reads an EVENT's name and first argument (nil when it has none); `ackID` is the packet's id.
    /// The argument is JSON text (`.raw`, as the hub's decoder keeps it) or a tree (a binary
    /// event's); either way only the fields §3 names are read, and the body is kept as it is.
    static func parse(event name: String, payload argument: JSONValue?, ackID: Int?) -> Result<ClientCommand, DropReason> {
        if NameCheck.isReservedEventName(name) { return .failure(.reservedName) }
        let fields: PayloadFields
        switch argument {
        case .raw(let r)?: fields = PayloadFields(text: r.bytes, body: PayloadFields.bodyKey(of: name))
        case .object(let o)?: fields = PayloadFields(tree: o, body: PayloadFields.bodyKey(of: name))
        default: fields = PayloadFields()
        }
        return command(name, fields, ackID: ackID)
    }

    /// A plain EVENT packet for "/" (`2["name",…]` or `2<id>[…]`, the Socket.IO packet without
    /// the Engine.IO "4"), read from its text in one pass: checked as the decoder checks it,
    /// the payload's fields picked out, the body copied out as text, and no packet built.
    /// Nil for any other packet and for text that does not read as such an event: the
    /// decoder then decodes it and gives its verdict (bad JSON is malformed there).
    static func parse(eventPacket p: UnsafeBufferPointer<UInt8>) -> Result<ClientCommand, DropReason>? {
        guard p.count > 1, p[0] == UInt8(ascii: "2") else { return nil }
        var i = 1
        var ackID: Int?
        while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") {
            guard i <= 15 else { return nil }  // the decoder refuses longer ids
            ackID = (ackID ?? 0) * 10 + Int(p[i] - UInt8(ascii: "0"))
            i += 1
        }
        guard i < p.count, p[i] == UInt8(ascii: "[") else { return nil }
        var r = JSONReader(UnsafeBufferPointer(rebasing: p[i...]))
        do throws(JSONError) {
            // The data array is depth 0 of the packet's JSON, the payload depth 1.
            if try r.beginArray() { return nil }
            guard try r.peek() == .string else { return nil }
            let name = try r.readString { String(decoding: $0, as: UTF8.self) }
            var fields = PayloadFields()
            if try r.nextElement() {
                if try r.peek() == .object {
                    try fields.read(&r, depth: 1, body: PayloadFields.bodyKey(of: name))
                } else {
                    try r.skipValue(depth: 1)
                }
                while try r.nextElement() { try r.skipValue(depth: 1) }
            }
            try r.finish()
            return command(name, fields, ackID: ackID)
        } catch {
            return nil
        }
    }

    /// §3's rules, on the payload's fields.
    private static func command(_ name: String, _ payload: PayloadFields, ackID: Int?) -> Result<ClientCommand, DropReason> {
        if NameCheck.isReservedEventName(name) { return .failure(.reservedName) }
        guard payload.isObject else {
            return .failure(name == ProtocolNames.message || name == ProtocolNames.join || name == ProtocolNames.leave
                || name == ProtocolNames.update || name == ProtocolNames.members ? .badPayload : .unknownEvent)
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
            if NameCheck.isReservedEventName(eventName) { return .failure(.reservedName) }
            var channel: String?
            switch payload.channel {
            case .absent, .null: channel = nil
            case .string(let c) where NameCheck.isValidChannel(c): channel = c
            default: return .failure(.badPayload)
            }
            return .success(.message(channel: channel, eventName: eventName, message: payload.body ?? .null, echo: echo))
        case "join", "leave":
            guard case .string(let c) = payload.channel, NameCheck.isValidChannel(c) else { return .failure(.badPayload) }
            return .success(name == "join" ? .join(channel: c, echo: echo) : .leave(channel: c, echo: echo))
        case "update":
            // Member data is listed as JSON (get-members, §5): binary has no JSON form.
            if payload.body?.containsBinary == true { return .failure(.binaryMemberData) }
            return .success(.update(data: payload.body ?? .null, echo: echo))
        case "members":
            guard let id = ackID, case .string(let c) = payload.channel, NameCheck.isValidChannel(c) else {
                return .failure(.badPayload)
            }
            return .success(.members(channel: c, ackID: id))
        default:
            return .failure(.unknownEvent)
        }
    }
}

/// The fields of a command's payload object that §3 reads. Other keys are ignored; of a
/// repeated key the last one counts, as when the object is parsed into a dictionary.
struct PayloadFields {
    enum Scalar: Equatable { case absent, null, bool(Bool), string(String), other }
    enum Key { case echo, eventName, channel, message, data, other }

    /// False when the payload is not an object, or there is none.
    var isObject = false
    var echo = Scalar.absent
    var eventName = Scalar.absent
    var channel = Scalar.absent
    /// The member named by `body` (`message` or `data`), as it is: text stays text.
    var body: JSONValue?

    /// No object payload.
    init() {}

    /// The member a command relays: `message` for "message", `data` for "update".
    static func bodyKey(of name: String) -> Key {
        name == "message" ? .message : name == "update" ? .data : .other
    }

    /// From the payload's JSON text (checked: a `RawJSON`); not an object when the text
    /// is not one (nor, against its contract, JSON).
    init(text: [UInt8], body: Key) {
        let read: PayloadFields? = text.withUnsafeBufferPointer { b in
            var r = JSONReader(b, checkedText: true)
            var fields = PayloadFields()
            do throws(JSONError) {
                guard try r.peek() == .object else { return nil }
                try fields.read(&r, depth: 0, body: body)
                try r.finish()
                return fields
            } catch {
                return nil
            }
        }
        self = read ?? PayloadFields()
    }

    /// Reads the object at the reader, `depth` deep in its document, with no dictionary:
    /// keys are compared as bytes, other members skipped, the body copied out as text.
    mutating func read(_ r: inout JSONReader, depth: Int, body: Key) throws(JSONError) {
        isObject = true
        if try r.beginObject() { return }
        repeat {
            let key = try r.readKey(Key.init(utf8:))
            switch key {
            case .echo: echo = try Self.readScalar(&r, depth: depth + 1)
            case .eventName: eventName = try Self.readScalar(&r, depth: depth + 1)
            case .channel: channel = try Self.readScalar(&r, depth: depth + 1)
            case .message, .data:
                if key == body { self.body = .raw(try r.readRaw(depth: depth + 1)) } else { try r.skipValue(depth: depth + 1) }
            case .other: try r.skipValue(depth: depth + 1)
            }
        } while try r.nextMember()
    }

    /// From a payload already built as a tree (a binary event's, or one made in code).
    init(tree o: [String: JSONValue], body: Key) {
        isObject = true
        echo = Self.scalar(o["echo"])
        eventName = Self.scalar(o["eventName"])
        channel = Self.scalar(o["channel"])
        switch body {
        case .message: self.body = o["message"]
        case .data: self.body = o["data"]
        default: self.body = nil
        }
    }

    private static func readScalar(_ r: inout JSONReader, depth: Int) throws(JSONError) -> Scalar {
        switch try r.peek() {
        case .string: return .string(try r.readString { String(decoding: $0, as: UTF8.self) })
        case .literal:
            if case .bool(let b) = try r.readLiteral() { return .bool(b) }
            return .null
        default: try r.skipValue(depth: depth); return .other
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
        case 4: self = JSONReader.key(k, is: "echo") ? .echo : JSONReader.key(k, is: "data") ? .data : .other
        case 7: self = JSONReader.key(k, is: "channel") ? .channel : JSONReader.key(k, is: "message") ? .message : .other
        case 9: self = JSONReader.key(k, is: "eventName") ? .eventName : .other
        default: self = .other
        }
    }
}
