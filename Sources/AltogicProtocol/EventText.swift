import RTJSON
import SocketIO

/// The Engine.IO text of a delivered EVENT without binary, written in place: the bytes
/// `SocketPacketEncoder.encode(.event(event, args)).engineFrame` gives (its value path),
/// without building the packet. A binary event has no such text: it goes through the encoder.
public enum EventText {
    /// `42["event",arg,…]`, appended to `out`. Throws for an argument with no JSON text.
    public static func write(event: String, args: [JSONValue], into out: inout [UInt8]) throws(JSONError) {
        SocketPacketEncoder.writeEventFrameStart(event, into: &out)
        for a in args {
            out.append(UInt8(ascii: ","))
            try a.write(into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// `42["event",{"channel":…,"message":…}]` (§4), the envelope written in place, appended
    /// to `out`. Throws for a message with no JSON text.
    public static func write(event: String, channel: String?, message: JSONValue, into out: inout [UInt8]) throws(JSONError) {
        SocketPacketEncoder.writeEventFrameHead(event, into: &out)
        try EventEnvelope.write(channel: channel, message: message, into: &out)
        out.append(UInt8(ascii: "]"))
    }
}
