/// A cursor over JSON text for code that builds some other kind of value straight from the
/// text, with no `JSONValue` in between (the Lua bridge builds tables this way). The caller
/// drives the grammar: `peek` says what comes, then it reads that. Every read checks what it
/// reads and throws on anything `JSONValue.parse` would refuse, and on invalid UTF-8 in a
/// string (which `parse` would repair to U+FFFD).
public struct JSONReader {
    public enum Next: Sendable { case object, array, string, number, literal }

    private var p: JSONParser
    /// Unescaped string bytes, reused from string to string.
    private var scratch: [UInt8] = []
    /// False for text already checked (a `RawJSON`): strings are then not checked again,
    /// and skipped values are skipped by their structure alone.
    private let checksStrings: Bool

    /// `checkedText`: the bytes are known to be valid JSON (a `RawJSON`), so the reader
    /// need not check string bytes again, nor what `skipValue` and `readRaw` pass over; it
    /// still never reads out of bounds.
    public init(_ bytes: UnsafeBufferPointer<UInt8>, checkedText: Bool = false) {
        p = JSONParser(bytes)
        checksStrings = !checkedText
    }

    /// What the next value is, after any whitespace.
    public mutating func peek() throws(JSONError) -> Next {
        p.skipWhitespace()
        guard p.i < p.b.count else { throw JSONError("unexpected end of JSON", offset: p.i) }
        switch p.b[p.i] {
        case 0x7B: return .object
        case 0x5B: return .array
        case 0x22: return .string
        case 0x2D, 0x30...0x39: return .number
        case 0x74, 0x66, 0x6E: return .literal
        default: throw JSONError("unexpected character '\(Character(Unicode.Scalar(p.b[p.i])))'", offset: p.i)
        }
    }

    /// Reads `{`; true when the object is empty (its `}` is read too).
    public mutating func beginObject() throws(JSONError) -> Bool {
        try open(0x7B, close: 0x7D)
    }

    /// Reads `[`; true when the array is empty (its `]` is read too).
    public mutating func beginArray() throws(JSONError) -> Bool {
        try open(0x5B, close: 0x5D)
    }

    /// After a member: true when `,` follows (another member), false at `}`.
    public mutating func nextMember() throws(JSONError) -> Bool { try p.commaOrEnd(0x7D) }

    /// After an element: true when `,` follows (another element), false at `]`.
    public mutating func nextElement() throws(JSONError) -> Bool { try p.commaOrEnd(0x5D) }

    /// Whether a key's bytes, as `readKey` shows them, are `name`.
    public static func key(_ key: UnsafeBufferPointer<UInt8>, is name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        let n = name.utf8Start
        for j in 0..<key.count where key[j] != n[j] { return false }
        return true
    }

    /// Reads a member's key and its `:`; `body` sees the key's UTF-8 bytes.
    public mutating func readKey<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) throws(JSONError) -> R {
        p.skipWhitespace()
        guard p.i < p.b.count, p.b[p.i] == 0x22 else { throw JSONError("expected a string key", offset: p.i) }
        let result = try readString(body)
        p.skipWhitespace()
        guard p.i < p.b.count, p.b[p.i] == 0x3A else { throw JSONError("expected ':'", offset: p.i) }
        p.i += 1
        return result
    }

    /// Reads a string; `body` sees its unescaped UTF-8 bytes (only during the call).
    public mutating func readString<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) throws(JSONError) -> R {
        p.skipWhitespace()
        guard p.i < p.b.count, p.b[p.i] == 0x22 else { throw JSONError("expected a string", offset: p.i) }
        let start = p.i + 1
        var i = start
        // No escapes (the usual case): the bytes are read in place.
        while i < p.b.count {
            i = JSONParser.plainRun(p.b, from: i)
            guard i < p.b.count else { break }
            let c = p.b[i]
            if c == 0x22 {
                if checksStrings { try p.checkStringBody(start..<i) }
                p.i = i + 1
                return body(UnsafeBufferPointer(rebasing: p.b[start..<i]))
            }
            if c == 0x5C { break }
            i += 1
        }
        let s = try p.parseString()  // escapes: decoded the parser's way
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: s.utf8)
        return scratch.withUnsafeBufferPointer(body)
    }

    /// Reads a number: `.integer` when it is one, else `.double`.
    public mutating func readNumber() throws(JSONError) -> JSONValue {
        p.skipWhitespace()
        guard p.i < p.b.count else { throw JSONError("unexpected end of JSON", offset: p.i) }
        return try p.parseNumber()
    }

    /// Reads `true`, `false` or `null`.
    public mutating func readLiteral() throws(JSONError) -> JSONValue {
        p.skipWhitespace()
        guard p.i < p.b.count else { throw JSONError("unexpected end of JSON", offset: p.i) }
        switch p.b[p.i] {
        case 0x74: try p.expect("true"); return .bool(true)
        case 0x66: try p.expect("false"); return .bool(false)
        default: try p.expect("null"); return .null
        }
    }

    /// Skips the next value, checked as `JSONValue.parse` would check it; in checked text
    /// only its brackets and strings are followed. `depth`: how deep the value sits in the
    /// document (0 is the top), so nesting is limited as when the whole document is parsed.
    public mutating func skipValue(depth: Int = 0) throws(JSONError) {
        if checksStrings { try p.skipValue(depth: depth) } else { p.skipCheckedValue() }
    }

    /// The next value's text, copied out as a `RawJSON`: a member a reader passes on
    /// without looking inside, such as a message body. Checked as `skipValue` checks it;
    /// `depth` as for `skipValue`.
    public mutating func readRaw(depth: Int = 0) throws(JSONError) -> RawJSON {
        p.skipWhitespace()
        let start = p.i
        try skipValue(depth: depth)
        guard p.i > start else { throw JSONError("unexpected end of JSON", offset: p.i) }
        return RawJSON(unchecked: Array(p.b[start..<p.i]))
    }

    /// Checks that nothing but whitespace is left.
    public mutating func finish() throws(JSONError) {
        p.skipWhitespace()
        if p.i != p.b.count { throw JSONError("unexpected trailing characters", offset: p.i) }
    }

    private mutating func open(_ bracket: UInt8, close: UInt8) throws(JSONError) -> Bool {
        p.skipWhitespace()
        guard p.i < p.b.count, p.b[p.i] == bracket else { throw JSONError("expected '\(Character(Unicode.Scalar(bracket)))'", offset: p.i) }
        p.i += 1
        p.skipWhitespace()
        if p.i < p.b.count, p.b[p.i] == close { p.i += 1; return true }
        return false
    }
}

extension JSONParser {
    /// The bytes of a string without escapes: no control characters, valid UTF-8.
    func checkStringBody(_ range: Range<Int>) throws(JSONError) {
        var k = JSONParser(b)
        k.i = range.lowerBound
        while k.i < range.upperBound {
            let c = b[k.i]
            if c < 0x20 { throw JSONError("control character in string", offset: k.i) }
            if c < 0x80 { k.i += 1; continue }
            try k.skipUTF8Sequence()
            if k.i > range.upperBound { throw JSONError("invalid UTF-8", offset: range.upperBound) }
        }
    }
}

extension JSONParser {
    /// Skips one value of text known to be valid JSON (a `RawJSON`), following only its
    /// brackets and strings. Never reads out of bounds, whatever the text.
    mutating func skipCheckedValue() {
        skipWhitespace()
        guard i < b.count else { return }
        switch b[i] {
        case 0x22:
            skipCheckedString()
        case 0x7B, 0x5B:
            var depth = 0
            repeat {
                switch b[i] {
                case 0x22: skipCheckedString(); continue
                case 0x7B, 0x5B: depth += 1
                case 0x7D, 0x5D: depth -= 1
                default: break
                }
                i += 1
            } while depth > 0 && i < b.count
        default:  // a number or a literal: up to the next delimiter
            while i < b.count {
                switch b[i] {
                case 0x2C, 0x7D, 0x5D, 0x20, 0x0A, 0x0D, 0x09: return
                default: i += 1
                }
            }
        }
    }

    /// From a string's opening quote to past its closing one, eight plain bytes at a time.
    private mutating func skipCheckedString() {
        i += 1
        while i < b.count {
            i = JSONParser.plainRun(b, from: i)
            guard i < b.count else { return }
            switch b[i] {
            case 0x22: i += 1; return
            case 0x5C: i += 2
            default: i += 1
            }
        }
        i = min(i, b.count)
    }
}
