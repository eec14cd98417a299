import RTJSON

public enum SocketPacketType: UInt8, Sendable, Equatable {
    case connect = 0
    case disconnect = 1
    case event = 2
    case ack = 3
    case connectError = 4
    case binaryEvent = 5
    case binaryAck = 6
}

/// One Socket.IO v5 packet, with binary attachments already put back in place
/// (`.binary` values inside `data`).
public struct SocketPacket: Sendable, Equatable {
    public var type: SocketPacketType
    public var namespace: String
    public var data: JSONValue?
    public var id: Int?

    public init(type: SocketPacketType, namespace: String = "/", data: JSONValue? = nil, id: Int? = nil) {
        self.type = type
        self.namespace = namespace
        self.data = data
        self.id = id
    }

    public static func event(_ name: String, _ args: [JSONValue], id: Int? = nil) -> SocketPacket {
        SocketPacket(type: .event, data: .array([.string(name)] + args), id: id)
    }

    public static func ack(id: Int, args: [JSONValue]) -> SocketPacket {
        SocketPacket(type: .ack, data: .array(args), id: id)
    }

    public static func connect(auth: JSONValue?) -> SocketPacket {
        SocketPacket(type: .connect, data: auth)
    }

    public static func connectError(message: String) -> SocketPacket {
        SocketPacket(type: .connectError, data: .object(["message": .string(message)]))
    }

    public var isEvent: Bool { type == .event || type == .binaryEvent }
    public var isAck: Bool { type == .ack || type == .binaryAck }

    /// The event name of an EVENT / BINARY_EVENT packet.
    public var eventName: String? {
        guard isEvent, case .array(let a)? = data, case .string(let name)? = a.first else { return nil }
        return name
    }

    /// The arguments after the event name (EVENT), or all of them (ACK).
    public var eventArgs: [JSONValue] {
        guard case .array(let a)? = data else { return [] }
        return isEvent ? Array(a.dropFirst()) : a
    }
}
