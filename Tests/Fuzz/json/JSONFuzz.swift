// libFuzzer target "json": JSON text as any peer sends it, through every reader RTJSON has.
// Besides not crashing, the readers must agree: JSONValue.parse (with and without .raw
// containers), RawJSON(validating:), JSONReader's skip/readRaw and a value built through
// JSONReader give one verdict and one value; a parsed value written out reads back equal.
// Built by scripts/fuzz with swiftc alone (RTJSON has no dependencies).
import RTJSON

struct Mismatch: Error {}

/// A value built through JSONReader's grammar calls, as the Lua bridge builds tables.
func readValue(_ r: inout JSONReader, depth: Int) throws -> JSONValue {
    guard depth <= JSONValue.maxParseDepth else { throw Mismatch() }
    switch try r.peek() {
    case .object:
        var o: [String: JSONValue] = [:]
        if try r.beginObject() { return .object(o) }
        repeat {
            let k = try r.readKey { String(decoding: $0, as: UTF8.self) }
            o[k] = try readValue(&r, depth: depth + 1)
        } while try r.nextMember()
        return .object(o)
    case .array:
        var a: [JSONValue] = []
        if try r.beginArray() { return .array(a) }
        repeat { a.append(try readValue(&r, depth: depth + 1)) } while try r.nextElement()
        return .array(a)
    case .string: return .string(try r.readString { String(decoding: $0, as: UTF8.self) })
    case .number: return try r.readNumber()
    case .literal: return try r.readLiteral()
    }
}

func check(_ ok: Bool, _ what: @autoclosure () -> String, _ input: UnsafeBufferPointer<UInt8>) {
    guard !ok else { return }
    fatalError("json: \(what()) for input \(Array(input))")
}

func jsonFuzzOne(_ b: UnsafeBufferPointer<UInt8>) {
    let utf8 = JSONValue.isValidUTF8(b)
    check(utf8 == (String(validating: b, as: UTF8.self) != nil), "isValidUTF8 disagrees with the standard library", b)

    let tree = try? JSONValue.parse(b)
    let rawTree = try? JSONValue.parse(b, rawFromDepth: 1)
    let validated = try? RawJSON(validating: Array(b))
    var reader = JSONReader(b)
    let walked: JSONValue? = try? { () throws -> JSONValue in
        let v = try readValue(&reader, depth: 0)
        try reader.finish()
        return v
    }()
    var skipper = JSONReader(b)
    let skipped = (try? { () throws -> Bool in try skipper.skipValue(); try skipper.finish(); return true }()) ?? false

    if tree == nil {
        // Nothing accepts what the parser refuses.
        check(rawTree == nil && validated == nil && walked == nil && !skipped, "a reader accepts what parse refuses", b)
        return
    }
    guard utf8, let tree else { return }  // the parser repairs broken UTF-8, the others refuse it
    check(rawTree == tree, "parse(rawFromDepth: 1) differs", b)
    check(validated != nil && skipped, "RawJSON/skipValue refuse valid JSON", b)
    check(walked == tree, "JSONReader builds another value", b)

    // Checked text: skipping and readRaw follow only the structure and must land at the end.
    var checked = JSONReader(b, checkedText: true)
    let raw = try? checked.readRaw()
    check(raw != nil && (try? checked.finish()) != nil, "readRaw on checked text stops early", b)
    if let raw { check(JSONValue.raw(raw) == tree, "readRaw's text reads as another value", b) }

    // Value → text → value.
    var text: [UInt8] = []
    guard (try? tree.write(into: &text, sortedKeys: true)) != nil else { return }  // ±inf from 1e999
    let again = try? JSONValue.parse(text)
    check(again == tree, "written text reads back as another value", b)
    var text2: [UInt8] = []
    try? again?.write(into: &text2, sortedKeys: true)
    check(text2 == text, "sorted text is not a fixed point", b)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    jsonFuzzOne(UnsafeBufferPointer(start: data, count: size))
    return 0
}
