// libFuzzer target "codec": a server's (or client's) frames through the Engine.IO and
// Socket.IO decoders as the client reads them (SocketIOClient.receivedEngineText and
// receivedEngineBinary) and as the hub's decoder does (arguments kept as JSON text).
// The input is frames separated by 0xFF; a frame whose first byte is 0xFE is a binary frame
// (the rest is its payload), any other a text frame. A decoded packet must encode and decode
// back to itself. Built by scripts/fuzz with swiftc over RTJSON and Sources/SocketIO/Codec.
import RTJSON

func check(_ ok: Bool, _ what: @autoclosure () -> String, _ input: UnsafeBufferPointer<UInt8>) {
    guard !ok else { return }
    fatalError("codec: \(what()) for input \(Array(input))")
}

/// `p` with its binary/plain type the one its data calls for, as the encoder chooses it.
func normalized(_ p: SocketPacket) -> SocketPacket {
    var p = p
    let binary = p.data?.containsBinary ?? false
    switch p.type {
    case .event, .binaryEvent: p.type = binary ? .binaryEvent : .event
    case .ack, .binaryAck: p.type = binary ? .binaryAck : .ack
    default: break
    }
    return p
}

/// Encodes a decoded packet and decodes the result: the same packet must come back.
func checkRoundTrip(_ p: SocketPacket, _ input: UnsafeBufferPointer<UInt8>) {
    guard let encoded = try? SocketPacketEncoder.encode(p) else { return }  // ±inf (1e999) has no text
    var d = SocketPacketDecoder(maxAttachments: Int.max)
    let text = Array(encoded.engineFrame.dropFirst())
    var back = text.withUnsafeBufferPointer { try? d.receiveText(bytes: $0) }
    for a in encoded.attachments { back = try? d.receiveBinary(a) }
    check(back.map(normalized) == normalized(p), "packet does not survive encode/decode: \(p) → \(encoded.engineText) → \(String(describing: back))", input)
}

func codecFuzzOne(_ input: UnsafeBufferPointer<UInt8>) {
    var client = SocketPacketDecoder()
    var hub = SocketPacketDecoder(rawFromDepth: 1)
    for frame in input.split(separator: 0xFF, omittingEmptySubsequences: false) {
        if frame.first == 0xFE {
            let bytes = Array(frame.dropFirst())
            let c = try? client.receiveBinary(bytes)
            let h = try? hub.receiveBinary(bytes)
            check(c == h, "client and hub decoders disagree on an attachment", input)
            if let c { checkRoundTrip(c, input) }
            continue
        }
        let bytes = UnsafeBufferPointer(rebasing: frame)
        guard let first = bytes.first else {
            check((try? EnginePacket.decode("")) == nil, "empty Engine.IO packet accepted", input)
            continue
        }
        if first == UInt8(ascii: "4") {
            let packet = UnsafeBufferPointer(rebasing: bytes[1...])
            let c: SocketPacket?? = try? client.receiveText(bytes: packet)
            let h: SocketPacket?? = try? hub.receiveText(bytes: packet)
            // The hub keeps arguments as text: the same packet all the same.
            check((c == nil) == (h == nil) || !JSONValue.isValidUTF8(packet), "client and hub decoders disagree on \(Array(packet))", input)
            if JSONValue.isValidUTF8(packet), let c, let h { check(c == h, "client and hub decode to different packets", input) }
            if let c = c ?? nil { checkRoundTrip(c, input) }
        } else {
            let text = String(decoding: bytes, as: UTF8.self)
            if let p = try? EnginePacket.decode(text), case .open = p {
                check((try? EnginePacket.decode(p.encoded())) == p, "open packet does not survive encode/decode", input)
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    codecFuzzOne(UnsafeBufferPointer(start: data, count: size))
    return 0
}
