import XCTest
@testable import RTJSON

/// The edges of the run-copying string writer, the digit-accumulating number parser and the
/// hand-rolled UTF-8 encoding of \u escapes.
final class JSONFastPathTests: XCTestCase {
    /// Byte-at-a-time escaping, the writer's specification.
    func referenceEscaped(_ s: String) -> String {
        var out: [UInt8] = [0x22]
        for c in s.utf8 {
            switch c {
            case 0x22: out += Array("\\\"".utf8)
            case 0x5C: out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]]
            default: out.append(c)
            }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    func encoded(_ s: String) throws -> String { try JSONValue.string(s).jsonText() }

    func testEscapesAtRunBoundaries() throws {
        let cases = ["", "\"", "\\", "\n", "\"\"", "\\\\\\", "a\"", "\"a", "\"a\"", "ab\\cd", "\n\nx\n\n",
                     "x\u{01}", "\u{01}x", "\u{1F}\u{1F}", "plain text with no escapes at all"]
        for s in cases {
            XCTAssertEqual(try encoded(s), referenceEscaped(s), s.debugDescription)
            XCTAssertEqual(try JSONValue.parse(try encoded(s)), .string(s), s.debugDescription)
        }
        XCTAssertEqual(try encoded("a\"b\\c\nd"), #""a\"b\\c\nd""#)
    }

    func testEveryControlCharacterIsEscaped() throws {
        var expected = ""
        for c in 0..<0x20 {
            let s = String(UnicodeScalar(UInt8(c)))
            let text = try encoded(s)
            XCTAssertEqual(text, referenceEscaped(s), "byte \(c)")
            XCTAssertEqual(try JSONValue.parse(text), .string(s), "byte \(c)")
            expected += String(text.dropFirst().dropLast())
        }
        XCTAssertTrue(expected.hasPrefix(#"\u0000\u0001"#))
        XCTAssertTrue(expected.contains(#"\u001a\u001b"#))
        XCTAssertTrue(expected.contains(#"\b\t\n\u000b\f\r\u000e"#))
        XCTAssertTrue(expected.hasSuffix(#"\u001f"#))
        // DEL and '/' need no escape.
        XCTAssertEqual(try encoded("\u{7F}/"), "\"\u{7F}/\"")
    }

    func testNonASCIIPassesThroughUnchanged() throws {
        let s = "héllo ✓ 😀 \u{10FFFF} \"ü\"\n"
        XCTAssertEqual(try encoded(s), referenceEscaped(s))
        XCTAssertEqual(try JSONValue.parse(try encoded(s)), .string(s))
        XCTAssertEqual(try encoded("日本"), "\"日本\"")
    }

    func testLongStringsWithScatteredEscapes() throws {
        var s = ""
        var seed: UInt64 = 0x9E3779B97F4A7C15
        let alphabet: [String] = ["a", "b", " ", "\"", "\\", "\n", "\u{01}", "é", "😀", "\u{1F}", "z"]
        for _ in 0..<20_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            s += alphabet[Int(seed >> 33) % alphabet.count]
        }
        let long = String(repeating: "x", count: 100_000)
        for str in [s, long, long + "\"", "\\" + long] {
            let text = try encoded(str)
            XCTAssertEqual(text, referenceEscaped(str))
            XCTAssertEqual(try JSONValue.parse(text), .string(str))
        }
    }

    func testWriteAppendsAfterExistingBytes() throws {
        var out = Array("42".utf8)
        try JSONValue.array(["a\"b", 7, .integer(-12), 2.5, .null, true, false]).write(into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"42["a\"b",7,-12,2.5,null,true,false]"#)
    }

    func testIntegerTextAtEveryWidth() throws {
        var values: [Int64] = [0, 1, 9, 10, -1, -9, -10, 99, 100, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        var p: Int64 = 1
        for _ in 0..<18 { p *= 10; values += [p - 1, p, p + 1, -p, -(p - 1)] }
        for v in values {
            XCTAssertEqual(try JSONValue.integer(v).jsonText(), String(v))
            XCTAssertEqual(try JSONValue.parse(String(v)), .integer(v))
        }
        XCTAssertEqual(try JSONValue.double(3).jsonText(), "3.0")
        XCTAssertEqual(try JSONValue.double(-120).jsonText(), "-120.0")
    }

    func testIntegerOverflowBoundaries() throws {
        XCTAssertEqual(try JSONValue.parse("9223372036854775807"), .integer(Int64.max))
        XCTAssertEqual(try JSONValue.parse("-9223372036854775808"), .integer(Int64.min))
        XCTAssertEqual(try JSONValue.parse("9223372036854775808"), .double(9223372036854775808))
        XCTAssertEqual(try JSONValue.parse("-9223372036854775809"), .double(-9223372036854775809))
        XCTAssertEqual(try JSONValue.parse("18446744073709551615"), .double(18446744073709551615))
        XCTAssertEqual(try JSONValue.parse("18446744073709551616"), .double(18446744073709551616))
        XCTAssertEqual(try JSONValue.parse("123456789012345678901234567890"), .double(123456789012345678901234567890))
        XCTAssertEqual(try JSONValue.parse("-0"), .integer(0))
        XCTAssertEqual(try JSONValue.parse("[0,-0,7]"), [0, 0, 7])
    }

    func testLeadingZerosAndMalformedNumbersStillRejected() {
        for bad in ["01", "-01", "00", "-00", "00.5", "012e3", "-", "--1", "+1", "1.", ".5", "-.5", "1e", "1e+",
                    "1E-", "1.e3", "0x10", "1ee2", "[01]", "{\"a\":-}"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
        XCTAssertEqual(try JSONValue.parse("0"), .integer(0))
        XCTAssertEqual(try JSONValue.parse("0.5"), .double(0.5))
        XCTAssertEqual(try JSONValue.parse("-0.5"), .double(-0.5))
        XCTAssertEqual(try JSONValue.parse("0e1"), .double(0))
    }

    /// The fast float path must give exactly what `Double(String)` (strtod) gives.
    func testFloatsMatchDoubleParsingBitForBit() throws {
        var texts = ["1e2", "1E2", "1e+2", "1e-2", "1.5e3", "-2.5E-3", "0e0", "0.0", "-0.0", "1e400", "-1e400", "1e-400",
                     "1764470000.123", "0.1", "0.2", "0.3", "123456.789e-5", "1.7976931348623157e308", "5e-324",
                     "4.9406564584124654e-324", "2.2250738585072014e-308", "1e22", "1e23", "1e-22", "1e-23",
                     "9007199254740992.0", "9007199254740993.0", "9007199254740993e0", "900719925474099.3",
                     "3.14159265358979323846264338327950288", "0.000000000000000000000000001", "1e99999999999999999999",
                     "1e-99999999999999999999", "0e99999999999999999999", "12345678901234567890e-10",
                     "100000000000000000000000e-23", "1.0000000000000002", "0.30000000000000004"]
        var seed: UInt64 = 12345
        for _ in 0..<2000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let mant = seed >> (11 + (seed & 31))
            let exp = Int((seed >> 5) % 61) - 30
            let frac = Int((seed >> 12) % 20)
            var digits = String(mant)
            if frac > 0 {
                if digits.count <= frac { digits = String(repeating: "0", count: frac - digits.count + 1) + digits }
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -frac))
            }
            texts.append((seed & 64 == 0 ? "" : "-") + digits + (seed & 128 == 0 ? "e\(exp)" : ""))
        }
        for t in texts {
            let v = try JSONValue.parse(t)
            let expected = Double(t)!
            let isInteger = !t.contains(".") && !t.contains("e") && !t.contains("E")
            if isInteger, let i = Int64(t) {
                XCTAssertEqual(v, .integer(i), t)
                continue
            }
            guard case .double(let d) = v else { XCTFail("\(t) gave \(v)"); continue }
            XCTAssertEqual(d.bitPattern, expected.bitPattern, "\(t): \(d) vs \(expected)")
        }
    }

    /// 17–19 digit mantissas (timestamps with microseconds) take the Float80 path; it must
    /// agree with strtod bit for bit, including on halfway cases it hands back.
    func testWideMantissasMatchDoubleParsingBitForBit() throws {
        XCTAssertNotNil(JSONParser.wideFastPath(17960124412892973, -7), "a timestamp takes the wide path")
        var texts = ["1796012441.2892973", "1796012441.289297342", "9007199254740993.0",
                     "18014398509481985e0", "9007199254740995.0", "1.8446744073709551615e19", "12345678901234567.89",
                     "0.12345678901234567891", "7.2057594037927933e16", "9223372036854775808.5"]
        var seed: UInt64 = 987654321
        for _ in 0..<200_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let digits = 16 + Int(seed >> 60) % 4
            var mant = String(seed % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000)
            mant = String(mant.prefix(digits))
            let scale = Int((seed >> 20) % 45) - 22
            texts.append(mant + "e\(scale)")
            // Halfway between two doubles: an odd 54-bit integer.
            let half = (UInt64(1) << 53) | ((seed >> 11) & ((UInt64(1) << 52) - 1))
            texts.append(String(half * 2 + 1) + ".0")
        }
        for t in texts {
            guard case .double(let d) = try JSONValue.parse(t) else { XCTFail(t); continue }
            XCTAssertEqual(d.bitPattern, Double(t)!.bitPattern, t)
        }
    }

    func testUnicodeEscapesAtEveryUTF8Width() throws {
        let cases: [(String, String)] = [
            (#""\u0000""#, "\u{0}"), (#""\u007f""#, "\u{7F}"), (#""\u0080""#, "\u{80}"), (#""\u07FF""#, "\u{7FF}"),
            (#""\u0800""#, "\u{800}"), (#""\uFFFF""#, "\u{FFFF}"), (#""\ud800\udc00""#, "\u{10000}"),
            (#""\uDBFF\uDFFF""#, "\u{10FFFF}"), (#""\udc00""#, "\u{FFFD}"), (#""a\u00e9b\nc""#, "aéb\nc"),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try JSONValue.parse(text), .string(expected), text)
        }
    }

    func testInvalidUTF8IsRepairedNotTrusted() throws {
        XCTAssertEqual(try JSONValue.parse([0x22, 0x61, 0xFF, 0x62, 0x22]), .string("a\u{FFFD}b"))
        XCTAssertEqual(try JSONValue.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22]), .string("\n\u{FFFD}"))
    }

    func testObjectsLargerThanTheReservedCapacityAndDuplicateKeys() throws {
        var text = "{"
        for k in 0..<40 { text += (k > 0 ? "," : "") + "\"k\(k)\":[\(k),\"v\(k)\"]" }
        text += "}"
        guard case .object(let o) = try JSONValue.parse(text) else { return XCTFail("not an object") }
        XCTAssertEqual(o.count, 40)
        for k in 0..<40 { XCTAssertEqual(o["k\(k)"], [.integer(Int64(k)), .string("v\(k)")]) }
        XCTAssertEqual(try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#), ["a": 3, "b": 2])
        let bigArray = "[" + (0..<100).map(String.init).joined(separator: ",") + "]"
        XCTAssertEqual(try JSONValue.parse(bigArray), .array((0..<100).map { .integer(Int64($0)) }))
    }

    /// plainRun stops exactly at the first byte that is ≥ 0x80, < 0x20, `"` or `\` (or
    /// before a tail of fewer than eight bytes), whatever follows that byte in its word.
    func testPlainRunStopsAtTheFirstSpecialByte() {
        let special: Set<UInt8> = Set((0..<0x20).map(UInt8.init) + [0x22, 0x5C] + (0x80...0xFF).map(UInt8.init))
        let alphabet: [UInt8] = [0x61, 0x20, 0x7E, 0x21, 0x23, 0x5B, 0x5D, 0x22, 0x5C, 0x00, 0x1F, 0x80, 0xC3, 0xFF, 0x7F]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &rng)
            let plainOdds = Int.random(in: 1...12, using: &rng)
            let bytes: [UInt8] = (0..<count).map { _ in
                Int.random(in: 0..<plainOdds, using: &rng) == 0 ? alphabet.randomElement(using: &rng)! : 0x61
            }
            let start = Int.random(in: 0...count, using: &rng)
            let r = bytes.withUnsafeBufferPointer { JSONParser.plainRun($0, from: start) }
            let first = bytes[start...].firstIndex { special.contains($0) } ?? count
            XCTAssertTrue(start <= r && r <= first, "\(bytes) from \(start): \(r), first special \(first)")
            XCTAssertTrue(r == first || r + 8 > count, "\(bytes) from \(start): stopped at \(r) before \(first)")
        }
    }
}
