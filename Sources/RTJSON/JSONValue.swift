/// The one dynamic value of rtlua: what the packet codec decodes into, what the hub routes
/// and what the Lua bridge converts. Integers stay integers and binary stays binary, so a
/// value makes the round trip Lua → wire → Lua unchanged.
///
/// `.raw` is a second form of any value: its JSON text, kept as it came or as it was
/// written, so a value that is only passed on (a hub relaying a message, a script's table
/// encoded once) is never built as a tree. Equality, hashing and the accessors see through
/// it: `.raw("[1]")` equals `.array([1])`.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case binary([UInt8])
    case array([JSONValue])
    case object([String: JSONValue])
    case raw(RawJSON)
}

/// The text of one complete, valid JSON value (UTF-8, no binary), written out verbatim.
public struct RawJSON: Sendable {
    public let bytes: [UInt8]

    /// `bytes` must already be one valid JSON value (the parser and rtlua's writers make
    /// these); `init(validating:)` checks.
    public init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public init(validating bytes: [UInt8]) throws(JSONError) {
        let end: Int = try bytes.withUnsafeBufferPointer { (b) throws(JSONError) -> Int in
            var p = JSONParser(b)
            try p.skipValue(depth: 0)
            p.skipWhitespace()
            return p.i
        }
        guard end == bytes.count else { throw JSONError("unexpected trailing characters", offset: end) }
        self.bytes = bytes
    }

    /// The value as a tree. Valid text always parses; should it not, the result is null.
    public var parsed: JSONValue { (try? JSONValue.parse(bytes)) ?? .null }
}

extension JSONValue: Hashable {
    /// `.raw` resolved to its tree; any other value is itself.
    public var resolved: JSONValue {
        if case .raw(let r) = self { return r.parsed }
        return self
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.raw(let x), .raw(let y)) where x.bytes == y.bytes: return true
        case (.raw, _), (_, .raw): return a.resolved == b.resolved
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.binary(let x), .binary(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .bool(let b): h.combine(1); h.combine(b)
        case .integer(let i): h.combine(2); h.combine(i)
        case .double(let d): h.combine(3); h.combine(d)
        case .string(let s): h.combine(4); h.combine(s)
        case .binary(let b): h.combine(5); h.combine(b)
        case .array(let a): h.combine(6); h.combine(a)
        case .object(let o): h.combine(7); h.combine(o)
        case .raw(let r): r.parsed.hash(into: &h)
        }
    }
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        switch self {
        case .object(let o): return o[key]
        case .raw: return resolved[key]
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = resolved { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = resolved { return b }
        return nil
    }

    public var int64Value: Int64? {
        switch resolved {
        case .integer(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch resolved {
        case .integer(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = resolved { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = resolved { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = resolved { return true }
        return false
    }

    /// True when the value holds binary anywhere inside (such a value must travel as a
    /// Socket.IO BINARY_EVENT).
    public var containsBinary: Bool {
        switch self {
        case .binary: return true
        case .array(let a): return a.contains { $0.containsBinary }
        case .object(let o): return o.values.contains { $0.containsBinary }
        default: return false  // .raw is JSON text: never binary
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
