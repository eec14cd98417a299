import PropertyBased
import RTJSON
import Testing

/// Random JSON values and the texts they have: every reader of RTJSON must read a value's
/// text back as that value, and the fast paths (skipping, raw copies, the reader's grammar
/// calls, containers kept as text) must agree with the parser.
@Suite struct JSONPropertyTests {
    @Test func valueToTextToValue() async {
        await propertyCheck(count: 300, input: JSONGen.value) { v in
            for sorted in [false, true] {
                let text = try text(of: v, sortedKeys: sorted)
                #expect(try JSONValue.parse(text) == v, "\(String(decoding: text, as: UTF8.self))")
                #expect(try JSONValue.parse(String(decoding: text, as: UTF8.self)) == v)
            }
            // The sorted text is canonical: writing what it reads gives the same bytes.
            let sorted = try text(of: v, sortedKeys: true)
            #expect(try text(of: try JSONValue.parse(sorted), sortedKeys: true) == sorted)
        }
    }

    @Test func fastPathsAgreeWithTheParser() async {
        await propertyCheck(count: 300, input: JSONGen.value, Gen.int(in: 0...12)) { v, seed in
            // Whitespace anywhere between tokens, as another writer might put it.
            let text = JSONGen.spaced(v, seed: seed)
            let parsed = try JSONValue.parse(text)
            #expect(parsed == v, "\(String(decoding: text, as: UTF8.self))")
            for depth in 0...3 {
                #expect(try text.withUnsafeBufferPointer { try JSONValue.parse($0, rawFromDepth: depth) } == v)
            }
            #expect(throws: Never.self) { try RawJSON(validating: text) }
            for checked in [false, true] {
                text.withUnsafeBufferPointer { b in
                    var skip = JSONReader(b, checkedText: checked)
                    #expect(throws: Never.self) { try skip.skipValue(); try skip.finish() }
                    var raw = JSONReader(b, checkedText: checked)
                    let copy = try? raw.readRaw()
                    #expect(copy.map { JSONValue.raw($0) } == v)
                    #expect(copy?.bytes == trimmed(text))
                    var walk = JSONReader(b, checkedText: checked)
                    #expect((try? JSONGen.read(&walk)) == v)
                }
            }
        }
    }

    @Test func stringsSurviveEscaping() async {
        await propertyCheck(count: 500, input: JSONGen.string) { s throws in
            var out: [UInt8] = []
            JSONValue.writeString(s, into: &out)
            #expect(try JSONValue.parse(out) == .string(s))
            let bytes = Array(s.utf8)
            bytes.withUnsafeBufferPointer { b in
                #expect(JSONValue.isValidUTF8(b))
                // Plain text is its own string body.
                if JSONValue.isPlainText(b) { #expect(out == [0x22] + bytes + [0x22]) }
            }
            out.withUnsafeBufferPointer { b in
                var r = JSONReader(b)
                #expect((try? r.readString { String(decoding: $0, as: UTF8.self) }) == s)
            }
        }
    }

    @Test func numbersKeepTheirKindAndValue() async {
        await propertyCheck(count: 500, input: Gen.int64(in: .min ... .max), JSONGen.finiteDouble) { i, d in
            var out: [UInt8] = []
            JSONValue.writeInteger(i, into: &out)
            #expect(out == Array(String(i).utf8))
            #expect(try JSONValue.parse(out) == .integer(i))
            out.removeAll()
            try JSONValue.writeDouble(d, into: &out)
            #expect(try JSONValue.parse(out) == .double(d), "\(String(decoding: out, as: UTF8.self))")
        }
    }

    private func text(of v: JSONValue, sortedKeys: Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        try v.write(into: &out, sortedKeys: sortedKeys)
        return out
    }

    private func trimmed(_ b: [UInt8]) -> [UInt8] {
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        return Array(b.drop(while: space.contains).reversed().drop(while: space.contains).reversed())
    }
}

/// Generators of JSON values and texts.
enum JSONGen {
    /// Characters that stress the escaper and the UTF-8 paths: quotes, backslashes, control
    /// characters, DEL, two-, three- and four-byte characters, U+FFFD, and plain letters.
    static let special: [Character] = [
        "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{8}", "\u{C}", "\u{1F}", "\u{7F}", " ",
        "é", "ß", "✓", "\u{FFFD}", "\u{FEFF}", "😀", "\u{10FFFF}", "a", "Z", "0", "{", "]", ",", ":",
    ]

    static func randomString(_ rng: inout some RandomNumberGenerator) -> String {
        let n = Int.random(in: 0...(Bool.random(using: &rng) ? 4 : 24), using: &rng)
        var s = ""
        for _ in 0..<n {
            if Int.random(in: 0..<3, using: &rng) == 0 {
                s.append(special.randomElement(using: &rng)!)
            } else {
                s.append(Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng))))
            }
        }
        // A run long enough for the eight-byte scans now and then.
        if Int.random(in: 0..<8, using: &rng) == 0 { s += String(repeating: "abcdefgh", count: Int.random(in: 1...4, using: &rng)) }
        return s
    }

    static func randomDouble(_ rng: inout some RandomNumberGenerator) -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Double(Int.random(in: -1000...1000, using: &rng))  // integral: written with ".0"
        case 1: return Double.random(in: -1...1, using: &rng)
        case 2: return Double(bitPattern: UInt64.random(in: 0 ... 0x7FEF_FFFF_FFFF_FFFF, using: &rng)) * (Bool.random(using: &rng) ? 1 : -1)
        case 3: return [0.1, -0.0, 1e15, 1e-7, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1796012441.2892973, 9007199254740991].randomElement(using: &rng)!
        case 4: return Double(Int64.random(in: .min ... .max, using: &rng)) / 1e3
        default: return Double.random(in: -1e20...1e20, using: &rng)
        }
    }

    static func randomValue(_ rng: inout some RandomNumberGenerator, depth: Int) -> JSONValue {
        let leaf = depth >= 4 || Int.random(in: 0..<3, using: &rng) > 0
        if leaf {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2:
                return .integer(Bool.random(using: &rng) ? Int64.random(in: -100...100, using: &rng) : Int64.random(in: .min ... .max, using: &rng))
            case 3: return .double(randomDouble(&rng))
            default: return .string(randomString(&rng))
            }
        }
        let n = Int.random(in: 0...5, using: &rng)
        if Bool.random(using: &rng) {
            return .array((0..<n).map { _ in randomValue(&rng, depth: depth + 1) })
        }
        var o: [String: JSONValue] = [:]
        for _ in 0..<n { o[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
        return .object(o)
    }

    static let value = Generator<JSONValue, Shrink.None<JSONValue>> { rng in randomValue(&rng, depth: 0) }
    static let string = Generator<String, Shrink.None<String>> { rng in randomString(&rng) }
    static let finiteDouble = Generator<Double, Shrink.None<Double>> { rng in randomDouble(&rng) }

    /// The value's text with whitespace (chosen by `seed`) around every token.
    static func spaced(_ v: JSONValue, seed: Int) -> [UInt8] {
        var out: [UInt8] = []
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        func space() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let ws: [[UInt8]] = [[], [], [0x20], [0x0A], [0x09, 0x20], [0x0D, 0x0A]]
            out += ws[Int(state % UInt64(ws.count))]
        }
        func write(_ v: JSONValue) {
            space()
            switch v {
            case .array(let a):
                out.append(0x5B)
                for (i, x) in a.enumerated() { if i > 0 { space(); out.append(0x2C) }; write(x) }
                space(); out.append(0x5D)
            case .object(let o):
                out.append(0x7B)
                for (i, (k, x)) in o.enumerated() {
                    if i > 0 { space(); out.append(0x2C) }
                    space(); JSONValue.writeString(k, into: &out); space(); out.append(0x3A); write(x)
                }
                space(); out.append(0x7D)
            default:
                try! v.write(into: &out)
            }
            space()
        }
        write(v)
        return out
    }

    /// A value built through JSONReader's grammar calls, as the Lua bridge builds tables.
    static func read(_ r: inout JSONReader) throws(JSONError) -> JSONValue {
        let v = try readValue(&r)
        try r.finish()
        return v
    }

    private static func readValue(_ r: inout JSONReader) throws(JSONError) -> JSONValue {
        switch try r.peek() {
        case .object:
            var o: [String: JSONValue] = [:]
            if try r.beginObject() { return .object(o) }
            repeat {
                let k = try r.readKey { String(decoding: $0, as: UTF8.self) }
                o[k] = try readValue(&r)
            } while try r.nextMember()
            return .object(o)
        case .array:
            var a: [JSONValue] = []
            if try r.beginArray() { return .array(a) }
            repeat { a.append(try readValue(&r)) } while try r.nextElement()
            return .array(a)
        case .string: return .string(try r.readString { String(decoding: $0, as: UTF8.self) })
        case .number: return try r.readNumber()
        case .literal: return try r.readLiteral()
        }
    }
}
