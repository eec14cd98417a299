import RTJSON

/// The Engine.IO v4 handshake the server sends in its open packet.
public struct EngineHandshake: Sendable, Equatable {
    public var sid: String
    public var upgrades: [String]
    /// Milliseconds.
    public var pingInterval: Int64
    public var pingTimeout: Int64
    /// Largest packet, in bytes, the server accepts.
    public var maxPayload: Int

    public init(sid: String, upgrades: [String] = [], pingInterval: Int64, pingTimeout: Int64, maxPayload: Int) {
        self.sid = sid
        self.upgrades = upgrades
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
    }

    public init(json: JSONValue) throws(CodecError) {
        guard let sid = json["sid"]?.stringValue, !sid.isEmpty else { throw CodecError("open packet without sid") }
        guard let interval = json["pingInterval"]?.int64Value, interval > 0,
              let timeout = json["pingTimeout"]?.int64Value, timeout > 0
        else { throw CodecError("open packet without pingInterval/pingTimeout") }
        self.sid = sid
        self.upgrades = json["upgrades"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.pingInterval = interval
        self.pingTimeout = timeout
        // maxPayload is optional in older servers; 1e6 is Engine.IO's default.
        self.maxPayload = json["maxPayload"]?.int64Value.map { Int(clamping: $0) } ?? 1_000_000
    }

    public var jsonValue: JSONValue {
        .object([
            "sid": .string(sid),
            "upgrades": .array(upgrades.map(JSONValue.string)),
            "pingInterval": .integer(pingInterval),
            "pingTimeout": .integer(pingTimeout),
            "maxPayload": .integer(Int64(maxPayload)),
        ])
    }
}

/// One Engine.IO v4 packet in its WebSocket text form (`0{…}`, `2`, `4…`). Binary
/// messages travel as binary WebSocket frames with no prefix, so they have no case here.
public enum EnginePacket: Sendable, Equatable {
    case open(EngineHandshake)
    case close
    case ping(String?)
    case pong(String?)
    case message(String)
    case upgrade
    case noop

    public static func decode(_ text: String) throws(CodecError) -> EnginePacket {
        guard let first = text.utf8.first else { throw CodecError("empty Engine.IO packet") }
        // Decoded, not force-unwrapped: after a multi-byte first character (an unknown type,
        // refused below) the bytes left start mid-character and make no String.
        let rest = String(decoding: text.utf8.dropFirst(), as: UTF8.self)
        switch first {
        case UInt8(ascii: "0"):
            let json: JSONValue
            do { json = try JSONValue.parse(rest) } catch { throw CodecError("open packet: \(error)") }
            return .open(try EngineHandshake(json: json))
        case UInt8(ascii: "1"): return .close
        case UInt8(ascii: "2"): return .ping(rest.isEmpty ? nil : rest)
        case UInt8(ascii: "3"): return .pong(rest.isEmpty ? nil : rest)
        case UInt8(ascii: "4"): return .message(rest)
        case UInt8(ascii: "5"): return .upgrade
        case UInt8(ascii: "6"): return .noop
        default: throw CodecError("unknown Engine.IO packet type '\(Character(Unicode.Scalar(first)))'")
        }
    }

    public func encoded() -> String {
        switch self {
        case .open(let h): return "0" + ((try? h.jsonValue.jsonText()) ?? "{}")
        case .close: return "1"
        case .ping(let d): return "2" + (d ?? "")
        case .pong(let d): return "3" + (d ?? "")
        case .message(let m): return "4" + m
        case .upgrade: return "5"
        case .noop: return "6"
        }
    }
}
