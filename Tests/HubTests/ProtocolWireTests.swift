import AltogicProtocol
import RTJSON
import SocketIO
import XCTest

@testable import Hub

/// The client's writer of the `message` payload (AltogicProtocol's `MessagePayload`, in the
/// frame `SocketPacketEncoder.writeEventFrame` makes) read by the hub: the one-pass reader
/// of the frame's text and the value path (decoder, then `parse(event:payload:)`) agree, and
/// give back what was written.
final class ProtocolWireTests: XCTestCase {
    func testClientMessageFrameReadsBackInTheHub() throws {
        let bodies = [#"{"a":[1,{"b":"é\n"}]}"#, #""text""#, "42", "null", "[]", #"{"channel":"inner","message":1}"#]
        let channels: [String?] = [nil, "room", "😀 \"q\" \\", String(repeating: "x", count: 256)]
        let names = ["chat", "é\"\\", "message"]
        for body in bodies {
            for channel in channels {
                for eventName in names {
                    for echo: Bool? in [nil, true, false] {
                        let raw = try RawJSON(validating: Array(body.utf8))
                        var frame: [UInt8] = []
                        SocketPacketEncoder.writeEventFrame(ProtocolNames.message, into: &frame) { out in
                            MessagePayload.write(channel: channel, eventName: eventName, body: raw, echo: echo, into: &out)
                        }
                        let expected = ClientCommand.message(channel: channel, eventName: eventName, message: .raw(raw), echo: echo)
                        let packetText = Array(frame.dropFirst())  // without Engine.IO's "4"
                        let fast = packetText.withUnsafeBufferPointer { ClientCommand.parse(eventPacket: $0) }
                        XCTAssertEqual(try XCTUnwrap(fast).get(), expected, body)

                        var decoder = SocketPacketDecoder(rawFromDepth: 1)
                        let packet = try XCTUnwrap(try decoder.receiveText(String(decoding: packetText, as: UTF8.self)))
                        let args = try XCTUnwrap(packet.data?.arrayValue)
                        XCTAssertEqual(args.first, .string(ProtocolNames.message))
                        XCTAssertEqual(ClientCommand.parse(event: ProtocolNames.message, payload: args[1], ackID: nil), .success(expected))
                    }
                }
            }
        }
    }

    /// A reserved or empty eventName, or a bad channel, is refused by the hub as the client's
    /// validator refuses it (one validator, two verdicts: an error text, a dropped packet).
    func testHubAndClientRefuseTheSameNames() throws {
        for eventName in ["", "connect", "disconnecting", "channel:x", "user:signin", "ok"] {
            for channel: String? in [nil, "", "c", String(repeating: "é", count: 129)] {
                var frame: [UInt8] = []
                SocketPacketEncoder.writeEventFrame(ProtocolNames.message, into: &frame) { out in
                    MessagePayload.write(channel: channel, eventName: eventName, body: RawJSON(unchecked: Array("1".utf8)), echo: nil, into: &out)
                }
                let verdict = Array(frame.dropFirst()).withUnsafeBufferPointer { ClientCommand.parse(eventPacket: $0) }
                let clientRefuses = NameCheck.eventNameProblem(eventName) != nil || channel.map { NameCheck.channelProblem($0) != nil } == true
                let hubRefuses: Bool
                switch try XCTUnwrap(verdict) {
                case .success: hubRefuses = false
                case .failure: hubRefuses = true
                }
                XCTAssertEqual(hubRefuses, clientRefuses, "\(eventName) \(channel ?? "nil")")
            }
        }
    }
}
