import RTJSON

/// Decodes Socket.IO packets from a connection's frames. Stateful because a binary packet
/// arrives as one text frame followed by its attachments as binary frames; one decoder per
/// connection. Limits are enforced while decoding, so hostile input costs little.
public struct SocketPacketDecoder: Sendable {
    public var maxAttachments: Int
    /// Depth from which EVENT and ACK payloads keep containers as `.raw` JSON text instead
    /// of trees (`JSONValue.parse(_:rawFromDepth:)`): 0 is the packet's data array (always
    /// built, so this is at least 1), 1 each argument, 2 what is inside an argument. A relay
    /// that reads only the top levels sets it; `.max`, the default, builds everything.
    /// BINARY_EVENT / BINARY_ACK are always built whole: their placeholders get replaced.
    public var rawFromDepth: Int
    private var pending: SocketPacket?
    private var expected = 0
    private var received: [[UInt8]] = []

    public init(maxAttachments: Int = 10, rawFromDepth: Int = .max) {
        self.maxAttachments = maxAttachments
        self.rawFromDepth = rawFromDepth
    }

    /// True while a binary packet waits for attachments.
    public var isAwaitingAttachments: Bool { pending != nil }

    /// Decodes the text of a Socket.IO packet (the Engine.IO message without its "4").
    /// Returns nil while the packet waits for binary attachments.
    public mutating func receiveText(_ text: String) throws(CodecError) -> SocketPacket? {
        var text = text
        let result: Result<SocketPacket?, CodecError> = text.withUTF8 { buf in
            do throws(CodecError) { return .success(try receiveText(bytes: buf)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public mutating func receiveText(bytes: UnsafeBufferPointer<UInt8>) throws(CodecError) -> SocketPacket? {
        guard pending == nil else {
            reset()
            throw CodecError("text packet while a binary packet awaits attachments")
        }
        let (packet, attachmentCount) = try SocketPacketDecoder.parse(
            bytes, maxAttachments: maxAttachments, rawFromDepth: rawFromDepth)
        if attachmentCount == 0 {
            return packet
        }
        pending = packet
        expected = attachmentCount
        received = []
        received.reserveCapacity(attachmentCount)
        return nil
    }

    /// Takes one binary frame (an attachment). Returns the packet once all have arrived.
    public mutating func receiveBinary(_ bytes: [UInt8]) throws(CodecError) -> SocketPacket? {
        guard var packet = pending else { throw CodecError("unexpected binary frame") }
        received.append(bytes)
        guard received.count == expected else { return nil }
        let attachments = received
        reset()
        if let d = packet.data {
            packet.data = try SocketPacketDecoder.reconstruct(d, attachments: attachments)
        }
        return packet
    }

    public mutating func reset() {
        pending = nil
        expected = 0
        received = []
    }

    /// Parses `<type>[<n>-][<nsp>,][<id>][<json>]`; returns the packet with placeholders
    /// still in place and the attachment count.
    static func parse(
        _ b: UnsafeBufferPointer<UInt8>, maxAttachments: Int, rawFromDepth: Int = .max
    ) throws(CodecError) -> (SocketPacket, Int) {
        guard let first = b.first else { throw CodecError("empty Socket.IO packet") }
        guard first >= UInt8(ascii: "0"), let type = SocketPacketType(rawValue: first - UInt8(ascii: "0")) else {
            throw CodecError("unknown Socket.IO packet type '\(Character(Unicode.Scalar(first)))'")
        }
        var i = 1
        var attachments = 0
        if type == .binaryEvent || type == .binaryAck {
            let start = i
            while i < b.count, isDigit(b[i]) {
                attachments = attachments * 10 + Int(b[i] - UInt8(ascii: "0"))
                i += 1
                if attachments > maxAttachments { throw CodecError("too many attachments (limit \(maxAttachments))") }
            }
            guard i > start, i < b.count, b[i] == UInt8(ascii: "-") else {
                throw CodecError("binary packet without attachment count")
            }
            i += 1
        }
        var namespace = "/"
        if i < b.count, b[i] == UInt8(ascii: "/") {
            let start = i
            while i < b.count, b[i] != UInt8(ascii: ",") { i += 1 }
            namespace = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            if i < b.count { i += 1 }
        }
        var id: Int?
        if i < b.count, isDigit(b[i]) {
            var n = 0
            let start = i
            while i < b.count, isDigit(b[i]) {
                n = n * 10 + Int(b[i] - UInt8(ascii: "0"))
                i += 1
                if i - start > 15 { throw CodecError("ack id too long") }
            }
            id = n
        }
        var data: JSONValue?
        if i < b.count {
            let depth = type == .event || type == .ack ? max(1, rawFromDepth) : .max
            do { data = try JSONValue.parse(UnsafeBufferPointer(rebasing: b[i...]), rawFromDepth: depth) } catch {
                throw CodecError("bad packet data: \(error)")
            }
        }
        let packet = SocketPacket(type: type, namespace: namespace, data: data, id: id)
        try validate(packet)
        return (packet, attachments)
    }

    static func validate(_ p: SocketPacket) throws(CodecError) {
        switch p.type {
        case .connect:
            if let d = p.data, d.objectValue == nil { throw CodecError("CONNECT payload must be an object") }
        case .disconnect:
            if p.data != nil { throw CodecError("DISCONNECT carries no payload") }
        case .event, .binaryEvent:
            guard case .array(let a)? = p.data, let name = a.first, case .string = name else {
                throw CodecError("EVENT payload must be an array starting with the event name")
            }
        case .ack, .binaryAck:
            guard case .array? = p.data else { throw CodecError("ACK payload must be an array") }
            guard p.id != nil else { throw CodecError("ACK without an id") }
        case .connectError:
            guard let d = p.data, d.objectValue != nil || d.stringValue != nil else {
                throw CodecError("CONNECT_ERROR payload must be an object")
            }
        }
    }

    static func reconstruct(_ v: JSONValue, attachments: [[UInt8]]) throws(CodecError) -> JSONValue {
        switch v {
        case .object(let o):
            if o.count == 2, o["_placeholder"] == .bool(true), let num = o["num"]?.int64Value {
                guard num >= 0, num < attachments.count else { throw CodecError("placeholder \(num) has no attachment") }
                return .binary(attachments[Int(num)])
            }
            var out: [String: JSONValue] = [:]
            out.reserveCapacity(o.count)
            for (k, x) in o { out[k] = try reconstruct(x, attachments: attachments) }
            return .object(out)
        case .array(let a):
            var out: [JSONValue] = []
            out.reserveCapacity(a.count)
            for x in a { out.append(try reconstruct(x, attachments: attachments)) }
            return .array(out)
        default:
            return v
        }
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}
