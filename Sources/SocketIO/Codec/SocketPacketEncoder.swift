import RTJSON

/// An encoded packet: the text frame and, for binary packets, the attachments that follow
/// it as binary WebSocket frames. The bytes are kept so a hub can write one buffer to every
/// recipient.
public struct EncodedSocketPacket: Sendable, Equatable {
    /// The Engine.IO message frame: "4" followed by the Socket.IO packet text.
    public var engineFrame: [UInt8]
    public var attachments: [[UInt8]]

    /// The Socket.IO packet text, without the Engine.IO "4" prefix.
    public var text: String { String(decoding: engineFrame.dropFirst(), as: UTF8.self) }
    public var engineText: String { String(decoding: engineFrame, as: UTF8.self) }
    /// What the packet costs against the server's maxPayload.
    public var byteCount: Int { attachments.reduce(engineFrame.count) { $0 + $1.count } }
}

public enum SocketPacketEncoder {
    /// Encodes `p`. Binary values inside `data` become `{"_placeholder":true,"num":i}` and
    /// attachments, and the type becomes BINARY_EVENT / BINARY_ACK.
    public static func encode(_ p: SocketPacket) throws(CodecError) -> EncodedSocketPacket {
        var attachments: [[UInt8]] = []
        var data = p.data
        if let d = data, d.containsBinary {
            data = extractBinary(d, into: &attachments)
        }
        var type = p.type
        if !attachments.isEmpty {
            switch type {
            case .event: type = .binaryEvent
            case .ack: type = .binaryAck
            case .binaryEvent, .binaryAck: break
            default: throw CodecError("binary data is only allowed in events and acks")
            }
        } else if type == .binaryEvent {
            type = .event
        } else if type == .binaryAck {
            type = .ack
        }

        var out: [UInt8] = [UInt8(ascii: "4"), UInt8(ascii: "0") + type.rawValue]
        if type == .binaryEvent || type == .binaryAck {
            out.append(contentsOf: String(attachments.count).utf8)
            out.append(UInt8(ascii: "-"))
        }
        if p.namespace != "/" {
            out.append(contentsOf: p.namespace.utf8)
            out.append(UInt8(ascii: ","))
        }
        if let id = p.id {
            guard id >= 0 else { throw CodecError("negative ack id") }
            out.append(contentsOf: String(id).utf8)
        }
        if let d = data {
            do { try d.write(into: &out) } catch { throw CodecError("cannot encode packet data: \(error)") }
        }
        return EncodedSocketPacket(engineFrame: out, attachments: attachments)
    }

    /// The Engine.IO frame of EVENT `[event, <argument>]` (namespace "/", no ack id), the one
    /// argument's JSON text written by `argument` straight into `out`: the bytes
    /// `encode(.event(event, [argument]))` gives, without building the packet or its value.
    /// `argument` must write one valid JSON value with no binary in it.
    public static func writeEventFrame(_ event: String, into out: inout [UInt8], argument: (inout [UInt8]) -> Void) {
        writeEventFrameHead(event, into: &out)
        argument(&out)
        out.append(UInt8(ascii: "]"))
    }

    /// `42["event",`: the event frame up to its argument, which `]` closes.
    public static func writeEventFrameHead(_ event: String, into out: inout [UInt8]) {
        writeEventFrameStart(event, into: &out)
        out.append(UInt8(ascii: ","))
    }

    /// `42["event"`: the event frame up to its arguments (each `,` and its JSON text), which
    /// `]` closes. The one writer of this text, for the client and the hub.
    public static func writeEventFrameStart(_ event: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "4"))
        out.append(UInt8(ascii: "0") + SocketPacketType.event.rawValue)
        out.append(UInt8(ascii: "["))
        JSONValue.writeString(event, into: &out)
    }

    static func extractBinary(_ v: JSONValue, into attachments: inout [[UInt8]]) -> JSONValue {
        switch v {
        case .binary(let bytes):
            attachments.append(bytes)
            return .object(["_placeholder": .bool(true), "num": .integer(Int64(attachments.count - 1))])
        case .array(let a):
            return .array(a.map { extractBinary($0, into: &attachments) })
        case .object(let o):
            return .object(o.mapValues { extractBinary($0, into: &attachments) })
        default:
            return v
        }
    }
}
