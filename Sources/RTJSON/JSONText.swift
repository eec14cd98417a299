/// JSON text ⇄ `JSONValue`, written for the hot path: it works on UTF-8 bytes, keeps
/// integers apart from doubles, and never traps on bad input (errors are values).

public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public init(_ message: String, offset: Int = 0) {
        self.message = message
        self.offset = offset
    }
    public var description: String { offset > 0 ? "\(message) at byte \(offset)" : message }
}

extension JSONValue {
    /// Deepest nesting the parser accepts; deeper input is an error, not a stack overflow.
    public static let maxParseDepth = 512

    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONError> = text.withUTF8 { buf in
            do throws(JSONError) { return .success(try parse(buf)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buf in
            do throws(JSONError) { return .success(try parse(buf)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// `rawFromDepth`: objects and arrays nested at that depth or deeper are validated but
    /// not built; they come back as `.raw` text (depth 0 is the top value). Scalars are
    /// always parsed. A relay that only reads the top levels saves the rest of the work.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, rawFromDepth: Int = .max) throws(JSONError) -> JSONValue {
        var p = JSONParser(bytes, rawFromDepth: rawFromDepth)
        let v = try p.parseValue(depth: 0)
        p.skipWhitespace()
        if p.i != bytes.count { throw JSONError("unexpected trailing characters", offset: p.i) }
        return v
    }

    /// Parses one JSON value at the front of `bytes` and returns it with the number of
    /// bytes consumed (the Socket.IO codec reads `[…]` after an ack id this way).
    public static func parsePrefix(_ bytes: UnsafeBufferPointer<UInt8>, rawFromDepth: Int = .max) throws(JSONError) -> (JSONValue, Int) {
        var p = JSONParser(bytes, rawFromDepth: rawFromDepth)
        let v = try p.parseValue(depth: 0)
        return (v, p.i)
    }

    /// Compact JSON text. Binary has no JSON form: it throws (the codec swaps binary for
    /// placeholders first). NaN and infinities throw too.
    public func jsonText(sortedKeys: Bool = false) throws(JSONError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        try write(into: &out, sortedKeys: sortedKeys)
        return String(decoding: out, as: UTF8.self)
    }

    public func write(into out: inout [UInt8], sortedKeys: Bool = false) throws(JSONError) {
        switch self {
        case .null: JSONValue.appendASCII("null", into: &out)
        case .bool(let b): JSONValue.appendASCII(b ? "true" : "false", into: &out)
        case .integer(let i): JSONValue.writeInteger(i, into: &out)
        case .double(let d): try JSONValue.writeDouble(d, into: &out)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .binary: throw JSONError("binary data has no JSON text form")
        case .raw(let r): out.append(contentsOf: r.bytes)
        case .array(let a):
            out.append(0x5B)
            var first = true
            for v in a {
                if !first { out.append(0x2C) }
                first = false
                try v.write(into: &out, sortedKeys: sortedKeys)
            }
            out.append(0x5D)
        case .object(let o):
            out.append(0x7B)
            var first = true
            if sortedKeys {
                for k in o.keys.sorted() {
                    if !first { out.append(0x2C) }
                    first = false
                    JSONValue.writeString(k, into: &out)
                    out.append(0x3A)
                    try o[k]!.write(into: &out, sortedKeys: true)
                }
            } else {
                for (k, v) in o {
                    if !first { out.append(0x2C) }
                    first = false
                    JSONValue.writeString(k, into: &out)
                    out.append(0x3A)
                    try v.write(into: &out, sortedKeys: false)
                }
            }
            out.append(0x7D)
        }
    }

    // MARK: pieces for encoders that write text without building a value

    /// A float, always with a fraction or exponent so it reads back as a float.
    public static func writeDouble(_ d: Double, into out: inout [UInt8]) throws(JSONError) {
        guard d.isFinite else { throw JSONError("\(d) has no JSON form") }
        if d == d.rounded(), abs(d) < 1e15 {
            // 3.0 stays a float on the way back: keep the ".0".
            writeInteger(Int64(d), into: &out)
            out.append(0x2E)
            out.append(0x30)
        } else {
            // The digits of `description`, without the String: Double.write(to:) hands them
            // to the stream as ASCII bytes (`_writeASCII`; any other stream gets `write`).
            withUnsafeMutablePointer(to: &out) { p in
                var sink = AppendingSink(out: p)
                d.write(to: &sink)
            }
        }
    }

    private struct AppendingSink: TextOutputStream {
        let out: UnsafeMutablePointer<[UInt8]>
        mutating func write(_ string: String) { out.pointee.append(contentsOf: string.utf8) }
        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { out.pointee.append(contentsOf: buffer) }
    }

    /// A quoted, escaped string from UTF-8 bytes the caller has checked (`isValidUTF8`).
    public static func writeString(utf8 b: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(0x22)
        writeEscaped(b, into: &out)
        out.append(0x22)
    }

    /// True when every byte is printable ASCII other than `"` and `\` (0x7F included): the
    /// bytes are their own JSON string text, with nothing to escape or check as UTF-8.
    public static func isPlainText(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = JSONParser.plainRun(b, from: 0)
        while i < b.count {
            let c = b[i]
            guard c >= 0x20, c < 0x80, c != 0x22, c != 0x5C else { return false }
            i += 1
        }
        return true
    }

    /// RFC 3629 UTF-8 (no overlongs, no surrogates), with an ASCII fast path.
    public static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = JSONParser(b)
        while p.i < b.count {
            while p.i + 8 <= b.count, UnsafeRawPointer(b.baseAddress! + p.i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                p.i += 8
            }
            guard p.i < b.count else { break }
            if b[p.i] < 0x80 { p.i += 1; continue }
            do { try p.skipUTF8Sequence() } catch { return false }
        }
        return true
    }

    /// A literal's bytes, appended at once (appending a String's UTF-8 view goes byte by byte).
    public static func appendASCII(_ word: StaticString, into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    /// Decimal digits straight into `out`, without an intermediate String.
    public static func writeInteger(_ i: Int64, into out: inout [UInt8]) {
        var m = i.magnitude
        if i >= 0, m < 10 { out.append(0x30 + UInt8(m)); return }
        // Right to left into 20 bytes on the stack (Int64.min is a sign and 19 digits), then
        // one append.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                let (q, r) = m.quotientAndRemainder(dividingBy: 10)
                start -= 1
                digits[start] = 0x30 + UInt8(r)
                m = q
            } while m > 0
            if i < 0 {
                start -= 1
                digits[start] = 0x2D
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }

    /// A quoted, escaped string.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        if s.utf8.withContiguousStorageIfAvailable({ writeString(utf8: $0, into: &out) }) == nil {
            Array(s.utf8).withUnsafeBufferPointer { writeString(utf8: $0, into: &out) }
        }
    }

    /// Appends `b` with JSON escapes, copying the runs between escapes in one piece.
    static func writeEscaped(_ b: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        // Geometric growth: an exact reserve per string would reallocate on every call.
        let need = out.count + b.count + 1
        if out.capacity < need { out.reserveCapacity(Swift.max(need, out.capacity * 2)) }
        var runStart = 0
        var i = 0
        while i < b.count {
            // Eight bytes that need no escape at a time (bytes ≥ 0x80 go the slow way).
            i = JSONParser.plainRun(b, from: i)
            guard i < b.count else { break }
            let c = b[i]
            if c >= 0x20, c != 0x22, c != 0x5C { i += 1; continue }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i])) }
            out.append(0x5C)
            switch c {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x0A: out.append(0x6E)
            case 0x0D: out.append(0x72)
            case 0x09: out.append(0x74)
            case 0x08: out.append(0x62)
            case 0x0C: out.append(0x66)
            default:
                // Other control characters: \u00XX with lower-case hex.
                out.append(0x75)
                out.append(0x30)
                out.append(0x30)
                out.append(0x30 + (c >> 4))
                let low = c & 15
                out.append(low < 10 ? 0x30 + low : 0x57 + low)
            }
            i += 1
            runStart = i
        }
        if runStart < b.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<b.count])) }
    }
}

struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Containers at this depth or deeper become `.raw`.
    let rawFromDepth: Int

    init(_ b: UnsafeBufferPointer<UInt8>, rawFromDepth: Int = .max) {
        self.b = b
        self.rawFromDepth = rawFromDepth
    }

    @inline(__always) mutating func skipWhitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// After a member or element: true at `,` (another follows), false at `close` (`}` or
    /// `]`, the container ends); either is read.
    /// Inlined (it runs after every member and element); the error is built out of line.
    @inline(__always) mutating func commaOrEnd(_ close: UInt8) throws(JSONError) -> Bool {
        skipWhitespace()
        if i < b.count {
            if b[i] == 0x2C { i += 1; return true }
            if b[i] == close { i += 1; return false }
        }
        throw commaOrEndError(close)
    }

    @inline(never) func commaOrEndError(_ close: UInt8) -> JSONError {
        i < b.count ? JSONError("expected ',' or '\(Character(Unicode.Scalar(close)))'", offset: i)
            : JSONError("unexpected end of JSON", offset: i)
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= JSONValue.maxParseDepth else { throw JSONError("nesting too deep", offset: i) }
        skipWhitespace()
        guard i < b.count else { throw JSONError("unexpected end of JSON", offset: i) }
        if depth >= rawFromDepth, b[i] == 0x7B || b[i] == 0x5B {
            let start = i
            try skipValue(depth: depth)
            return .raw(RawJSON(unchecked: Array(b[start..<i])))
        }
        switch b[i] {
        case 0x7B: return try parseObject(depth: depth)
        case 0x5B: return try parseArray(depth: depth)
        case 0x22: return .string(try parseString())
        case 0x74: try expect("true"); return .bool(true)
        case 0x66: try expect("false"); return .bool(false)
        case 0x6E: try expect("null"); return .null
        case 0x2D, 0x30...0x39: return try parseNumber()
        default: throw JSONError("unexpected character '\(Character(Unicode.Scalar(b[i])))'", offset: i)
        }
    }

    mutating func expect(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw JSONError("unexpected end of JSON", offset: i) }
        let w = word.utf8Start
        for k in 0..<n where b[i + k] != w[k] { throw JSONError("invalid literal", offset: i) }
        i += n
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        skipWhitespace()
        if i < b.count, b[i] == 0x7D { i += 1; return .object([:]) }
        // Most wire objects have a handful of keys: one allocation instead of growing 1 → 3 → 6.
        var o = [String: JSONValue](minimumCapacity: 4)
        while true {
            skipWhitespace()
            guard i < b.count, b[i] == 0x22 else { throw JSONError("expected a string key", offset: i) }
            let k = try parseString()
            skipWhitespace()
            guard i < b.count, b[i] == 0x3A else { throw JSONError("expected ':'", offset: i) }
            i += 1
            o[k] = try parseValue(depth: depth + 1)
            if try !commaOrEnd(0x7D) { return .object(o) }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        skipWhitespace()
        if i < b.count, b[i] == 0x5D { i += 1; return .array([]) }
        var a: [JSONValue] = []
        a.reserveCapacity(4)
        while true {
            a.append(try parseValue(depth: depth + 1))
            if try !commaOrEnd(0x5D) { return .array(a) }
        }
    }

    mutating func parseString() throws(JSONError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < b.count {
            i = JSONParser.plainRun(b, from: i)
            guard i < b.count else { break }
            let c = b[i]
            if c == 0x22 {
                let s = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == 0x5C { break }
            if c < 0x20 { throw JSONError("control character in string", offset: i) }
            i += 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(i - start + 16)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
        while i < b.count {
            let c = b[i]
            if c == 0x22 { i += 1; return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { throw JSONError("control character in string", offset: i) }
            if c != 0x5C { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { break }
            let e = b[i]
            i += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by \u and a low one.
                    if i + 1 < b.count, b[i] == 0x5C, b[i + 1] == 0x75 {
                        i += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar, to: &out)
            default: throw JSONError("invalid escape", offset: i - 1)
            }
        }
        throw JSONError("unterminated string", offset: i)
    }

    /// `scalar` is never a surrogate here (lone ones became U+FFFD) and is at most 0x10FFFF.
    func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(0xC0 | UInt8(scalar >> 6))
            out.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(0xE0 | UInt8(scalar >> 12))
            out.append(0x80 | UInt8((scalar >> 6) & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        default:
            out.append(0xF0 | UInt8(scalar >> 18))
            out.append(0x80 | UInt8((scalar >> 12) & 0x3F))
            out.append(0x80 | UInt8((scalar >> 6) & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    // MARK: validating without building

    /// Checks one value as `parseValue` would (same errors, same depth limit, and strings
    /// must be valid UTF-8, which a relay must not pass on broken) and moves past it.
    mutating func skipValue(depth: Int) throws(JSONError) {
        guard depth <= JSONValue.maxParseDepth else { throw JSONError("nesting too deep", offset: i) }
        skipWhitespace()
        guard i < b.count else { throw JSONError("unexpected end of JSON", offset: i) }
        switch b[i] {
        case 0x7B:
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == 0x7D { i += 1; return }
            while true {
                skipWhitespace()
                guard i < b.count, b[i] == 0x22 else { throw JSONError("expected a string key", offset: i) }
                try skipString()
                skipWhitespace()
                guard i < b.count, b[i] == 0x3A else { throw JSONError("expected ':'", offset: i) }
                i += 1
                try skipValue(depth: depth + 1)
                if try !commaOrEnd(0x7D) { return }
            }
        case 0x5B:
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == 0x5D { i += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                if try !commaOrEnd(0x5D) { return }
            }
        case 0x22: try skipString()
        case 0x74: try expect("true")
        case 0x66: try expect("false")
        case 0x6E: try expect("null")
        case 0x2D, 0x30...0x39: try skipNumber()
        default: throw JSONError("unexpected character '\(Character(Unicode.Scalar(b[i])))'", offset: i)
        }
    }

    /// The grammar of `parseNumber`, without computing the value.
    mutating func skipNumber() throws(JSONError) {
        let start = i
        if b[i] == 0x2D { i += 1 }
        guard i < b.count, isDigit(b[i]) else { throw JSONError("bad number", offset: start) }
        if b[i] == 0x30, i + 1 < b.count, isDigit(b[i + 1]) { throw JSONError("leading zero in number", offset: start) }
        while i < b.count, isDigit(b[i]) { i += 1 }
        if i < b.count, b[i] == 0x2E {
            i += 1
            guard i < b.count, isDigit(b[i]) else { throw JSONError("bad number", offset: start) }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw JSONError("bad number", offset: start) }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
    }

    mutating func skipString() throws(JSONError) {
        i += 1
        while i < b.count {
            // Eight plain ASCII bytes (no quote, backslash or control character) at a time.
            i = JSONParser.plainRun(b, from: i)
            guard i < b.count else { break }
            let c = b[i]
            if c == 0x22 { i += 1; return }
            if c < 0x20 { throw JSONError("control character in string", offset: i) }
            if c == 0x5C {
                i += 1
                guard i < b.count else { break }
                switch b[i] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 1
                case 0x75: i += 1; _ = try hex4()
                default: throw JSONError("invalid escape", offset: i)
                }
                continue
            }
            if c < 0x80 { i += 1; continue }
            try skipUTF8Sequence()
        }
        throw JSONError("unterminated string", offset: i)
    }

    /// The high bit of each byte of `w` (loaded little-endian) that is ≥ 0x80, < 0x20, `"`
    /// or `\`: the classic has-zero-byte test, applied to `w` and to `w` XOR the byte to look
    /// for. A borrow can also mark a byte above a marked one, never one below, so the lowest
    /// mark is always the first such byte.
    @inline(__always) static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        return (w & highs) | ((w &- ones &* 0x20) & highs) | zeroBytes(w ^ (ones &* 0x22)) | zeroBytes(w ^ (ones &* 0x5C))
    }

    /// From `start`, the index of the first byte that is not plain ASCII (see `specialBytes`),
    /// eight bytes at a time. Where fewer than eight bytes are left it stops before them,
    /// for the caller's byte loop.
    @inline(__always) static func plainRun(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        while i + 8 <= b.count {
            let marks = specialBytes(UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)))
            if marks != 0 { return i + (marks.trailingZeroBitCount >> 3) }
            i += 8
        }
        return i
    }

    /// One multi-byte UTF-8 sequence starting at `i` (RFC 3629: no overlongs, no surrogates).
    mutating func skipUTF8Sequence() throws(JSONError) {
        let c = b[i]
        let n: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the allowed range of the second byte
        switch c {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; high = 0x9F
        case 0xF0: n = 4; low = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; high = 0x8F
        default: throw JSONError("invalid UTF-8", offset: i)
        }
        guard i + n <= b.count, b[i + 1] >= low, b[i + 1] <= high else { throw JSONError("invalid UTF-8", offset: i) }
        for k in 2..<n where b[i + k] & 0xC0 != 0x80 { throw JSONError("invalid UTF-8", offset: i) }
        i += n
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard i + 4 <= b.count else { throw JSONError("bad \\u escape", offset: i) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw JSONError("bad \\u escape", offset: i)
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = i
        let negative = b[i] == 0x2D
        if negative { i += 1 }
        guard i < b.count, isDigit(b[i]) else { throw JSONError("bad number", offset: start) }
        if b[i] == 0x30, i + 1 < b.count, isDigit(b[i + 1]) {
            throw JSONError("leading zero in number", offset: start)
        }
        // All digits (integer and fraction) as one mantissa; `exact` until it overflows.
        var mantissa: UInt64 = 0
        var exact = true
        var scale = 0
        while i < b.count, isDigit(b[i]) { accumulate(b[i], &mantissa, &exact); i += 1 }
        var isFloat = false
        if i < b.count, b[i] == 0x2E {
            isFloat = true
            i += 1
            guard i < b.count, isDigit(b[i]) else { throw JSONError("bad number", offset: start) }
            while i < b.count, isDigit(b[i]) { accumulate(b[i], &mantissa, &exact); scale -= 1; i += 1 }
        }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            isFloat = true
            i += 1
            var expNegative = false
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { expNegative = b[i] == 0x2D; i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw JSONError("bad number", offset: start) }
            var e = 0
            while i < b.count, isDigit(b[i]) {
                if e < 100_000 { e = e * 10 + Int(b[i] - 0x30) } else { exact = false }
                i += 1
            }
            scale += expNegative ? -e : e
        }
        if !isFloat, exact {
            if negative, mantissa <= UInt64(Int64.max) + 1 { return .integer(Int64(truncatingIfNeeded: 0 &- mantissa)) }
            if !negative, mantissa <= UInt64(Int64.max) { return .integer(Int64(mantissa)) }
        }
        // Clinger's fast path: mantissa and 10^|scale| are exact doubles, so one IEEE
        // multiply or divide is correctly rounded, the same result as strtod.
        if exact, mantissa <= 1 << 53, scale >= -22, scale <= 22 {
            var d = Double(mantissa)
            if scale < 0 { d /= JSONParser.powersOfTen[-scale] } else if scale > 0 { d *= JSONParser.powersOfTen[scale] }
            return .double(negative ? -d : d)
        }
        if exact, scale >= -22, scale <= 22, let d = JSONParser.wideFastPath(mantissa, scale) {
            return .double(negative ? -d : d)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        guard let d = Double(text) else { throw JSONError("bad number", offset: start) }
        return .double(d)
    }

    /// Clinger's fast path one size up, for the 17–19 digit mantissas of timestamps like
    /// 1796012441.2892973 (strtod took ~7 % of a receiver's CPU on them). In Float80 the
    /// mantissa (< 2^64) and 10^|scale| (≤ 10^22 = 2^22·5^22) are exact, so the one multiply
    /// or divide is correctly rounded to 64 bits. Rounding that to a Double can differ from
    /// rounding the exact value only when the Float80 result sits exactly on a midpoint
    /// between two Doubles (its 11 extra bits are 100…0): then nil, and the caller asks strtod.
    static func wideFastPath(_ mantissa: UInt64, _ scale: Int) -> Double? {
        #if arch(x86_64) && !os(Windows) && !os(Android)
        var x = Float80(mantissa)
        let p = Float80(powersOfTen[scale < 0 ? -scale : scale])  // exact: every 10^k ≤ 10^22 is a Double
        if scale < 0 { x /= p } else if scale > 0 { x *= p }
        if x.significandBitPattern & 0x7FF == 0x400 { return nil }
        return Double(x)
        #else
        return nil
        #endif
    }

    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    @inline(__always) func accumulate(_ c: UInt8, _ m: inout UInt64, _ exact: inout Bool) {
        let (t, o1) = m.multipliedReportingOverflow(by: 10)
        let (s, o2) = t.addingReportingOverflow(UInt64(c - 0x30))
        if o1 || o2 { exact = false } else { m = s }
    }
}
