import Clocks

/// The opt-in delivery stamp (`rtlua run --delivery-stamp`): the sender splices
/// `"_rtlua_sent":<epoch ms>,` right after the opening `{` of a message object's text, and a
/// receiver that finds it there times the delivery as (its wall clock − the stamp) and takes
/// the field out again before the script sees the message. This times deliveries between
/// processes (shards of one run), which the in-process DeliveryClock cannot; the machines'
/// wall clocks must agree (NTP) for the figures to mean anything.
///
/// Cost: about 30 bytes more per message on the wire, one wall-clock read on each side, and
/// a copy of the message text on each side (no parse, no re-encoding).
public enum DeliveryStamp {
    static let field = Array("\"_rtlua_sent\"".utf8)

    /// The wall clock in milliseconds since the epoch.
    public static func nowMilliseconds() -> Double { RealClock.wallTime() * 1000 }

    /// The index of the opening `{` when `text` is a JSON object (leading whitespace allowed).
    @inline(__always)
    public static func objectStart(_ text: [UInt8]) -> Int? {
        var i = 0
        while i < text.count, isSpace(text[i]) { i += 1 }
        return i < text.count && text[i] == UInt8(ascii: "{") ? i : nil
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// `text` with the stamp spliced in after its `{`, or nil when it is not an object.
    public static func stamped(_ text: [UInt8], atMilliseconds ms: Double) -> [UInt8]? {
        guard let open = objectStart(text) else { return nil }
        var rest = open + 1
        while rest < text.count, isSpace(text[rest]) { rest += 1 }
        let empty = rest < text.count && text[rest] == UInt8(ascii: "}")
        let value = Array(String(Int64(ms.rounded())).utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.count + field.count + value.count + 2)
        out.append(contentsOf: text[...open])
        out.append(contentsOf: field)
        out.append(UInt8(ascii: ":"))
        out.append(contentsOf: value)
        if !empty { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: text[(open + 1)...])
        return out
    }

    /// The stamp of `text` and the text without it, when `text` is an object whose first
    /// member is `"_rtlua_sent"` with a number (where `stamped` puts it; whitespace allowed).
    public static func read(_ text: [UInt8]) -> (milliseconds: Double, unstamped: [UInt8])? {
        guard let open = objectStart(text) else { return nil }
        var i = open + 1
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard text.count - i > field.count, text[i..<(i + field.count)].elementsEqual(field) else { return nil }
        i += field.count
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard i < text.count, text[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        while i < text.count, isSpace(text[i]) { i += 1 }
        let numberStart = i
        while i < text.count, isNumberByte(text[i]) { i += 1 }
        guard i > numberStart, let ms = Double(String(decoding: text[numberStart..<i], as: UTF8.self)), ms.isFinite else { return nil }
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard i < text.count else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count - (i - open))
        out.append(contentsOf: text[...open])
        if text[i] == UInt8(ascii: ",") {
            out.append(contentsOf: text[(i + 1)...])
        } else if text[i] == UInt8(ascii: "}") {
            out.append(contentsOf: text[i...])
        } else {
            return nil
        }
        return (ms, out)
    }

    @inline(__always)
    static func isNumberByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
    }
}
