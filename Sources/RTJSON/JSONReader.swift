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

    /// Skips the next value, checked as `JSONValue.parse` would check it (checked text: by
    /// its brackets and strings only). `depth`: how deep the value sits in the document (0
    /// is the top), so nesting is limited as when the whole document is parsed.
    public mutating func skipValue(depth: Int = 0) throws(JSONError) {
        if checksStrings { try p.skipValue(depth: depth) } else { try p.skipCheckedValue() }
    }

    /// The next value's text (checked), copied out as a `RawJSON`: a member a reader passes
    /// on without looking inside, such as a message body. `depth` as for `skipValue`.
    public mutating func readRaw(depth: Int = 0) throws(JSONError) -> RawJSON {
        p.skipWhitespace()
        let start = p.i
        try skipValue(depth: depth)
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

    /// Moves past one value of text known to be valid JSON (a `RawJSON`) by its structure
    /// alone: strings and brackets are matched, nothing else is looked at. A second check of
    /// text the parser has checked costs as much as the first. Stays in bounds on any input
    /// and throws when the text ends inside the value; no recursion, so no depth limit.
    mutating func skipCheckedValue() throws(JSONError) {
        skipWhitespace()
        let n = b.count
        guard i < n, let base = b.baseAddress else { throw JSONError("unexpected end of JSON", offset: i) }
        var k = i  // a local, so the loops keep it in a register
        defer { i = k }
        switch base[k] {
        case 0x22:
            k = Self.skipCheckedString(base, n, from: k)
            if k > n {
                k = n
                throw JSONError("unterminated string", offset: n)
            }
            return
        case 0x7B, 0x5B:
            break
        case 0x7D, 0x5D, 0x2C, 0x3A:
            throw JSONError("unexpected character '\(Character(Unicode.Scalar(base[k])))'", offset: k)
        default:
            // A number or literal: up to the byte that ends it.
            repeat { k += 1 } while k < n && !Self.endsScalar(base[k])
            return
        }
        var depth = 0
        while k < n {
            switch base[k] {
            case 0x22:
                k = Self.skipCheckedString(base, n, from: k)
            case 0x7B, 0x5B:
                depth += 1
                k += 1
            case 0x7D, 0x5D:
                depth -= 1
                k += 1
                if depth == 0 { return }
            default:
                k += 1
            }
        }
        k = min(k, n)
        throw JSONError("unexpected end of JSON", offset: n)
    }

    /// From a string's opening quote at `k` to just past its closing one (past `n` when the
    /// text ends first), eight bytes at a time while none is a quote or a backslash.
    @inline(__always)
    private static func skipCheckedString(_ base: UnsafePointer<UInt8>, _ n: Int, from start: Int) -> Int {
        var k = start + 1
        while true {
            while k + 8 <= n {
                let w = UnsafeRawPointer(base + k).loadUnaligned(as: UInt64.self)
                if hasByte(w, 0x22) || hasByte(w, 0x5C) { break }
                k += 8
            }
            guard k < n else { return n + 1 }
            switch base[k] {
            case 0x22: return k + 1
            case 0x5C: k += 2
            default: k += 1
            }
        }
    }

    @inline(__always) private static func hasByte(_ w: UInt64, _ c: UInt8) -> Bool {
        let x = w ^ (0x0101_0101_0101_0101 &* UInt64(c))
        return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0
    }

    /// `,` `}` `]` or whitespace: what may follow a number or literal.
    @inline(__always) private static func endsScalar(_ c: UInt8) -> Bool {
        c == 0x2C || c == 0x7D || c == 0x5D || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
    }
}
