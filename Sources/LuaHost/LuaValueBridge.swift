import CLua
import RTJSON

/// The one conversion layer between `JSONValue` and Lua values (LUA_API.md, "Values on the
/// wire"). Lua → JSON refuses what has no JSON form with an error naming the path
/// (`message.items[3].fn`); JSON → Lua marks arrays so an empty one stays `[]`.
///
/// Lua → JSON never drops a value and never depends on the order `next` walks a table in
/// (docs/limits.md, "Values that cannot be encoded"): an array whose largest index is far
/// beyond its element count, or beyond `maxArrayLength`, is refused, and so is an object
/// where an integer key and a string key name the same member (`1` and `"1"`).
struct LuaValueBridge {
    static let maxDepth = 200
    /// The most elements an array may have (its largest index), whatever the memory budget.
    static let maxArrayLength: Int64 = 1 << 26
    /// A `json.array` may have holes, but its largest index may be at most twice its element
    /// count plus this many (`json.array{[5] = x}` is fine, `json.array{[2^40] = x}` is not).
    static let arrayHoleSlack: Int64 = 16
    static let arrayMeta = "rtlua.array"
    static let binaryMeta = "rtlua.binary"
    static let nullMeta = "rtlua.null"
    static let nullKey = "rtlua.nullvalue"

    /// Identities of the marker objects, looked up once per VM.
    let arrayMetaPointer: UnsafeRawPointer
    let binaryMetaPointer: UnsafeRawPointer
    let nullPointer: UnsafeRawPointer
    /// For `writeJSONText` (LuaJSONWriter.swift).
    let openTables = OpenTables()
    /// The VM's memory account (LuaArena.swift): host-side copies made for the script (JSON
    /// text, converted values) are checked against what is left of its budget.
    let account: UnsafeMutablePointer<shim_ArenaHeader>

    /// Creates the marker metatables and the `json.null` sentinel in the registry of `L`.
    static func install(in L: OpaquePointer) -> LuaValueBridge {
        luaL_newmetatable(L, arrayMeta)
        Lua.pushString(L, "json.array")
        lua_setfield(L, -2, "__name")
        let array = lua_topointer(L, -1)!
        Lua.pop(L)

        luaL_newmetatable(L, binaryMeta)
        Lua.pushString(L, "binary")
        lua_setfield(L, -2, "__name")
        Lua.pushFunction(L, binaryToString)
        lua_setfield(L, -2, "__tostring")
        Lua.pushFunction(L, binaryLength)
        lua_setfield(L, -2, "__len")
        let binary = lua_topointer(L, -1)!
        Lua.pop(L)

        _ = lua_newuserdatauv(L, 1, 0)
        luaL_newmetatable(L, nullMeta)
        Lua.pushString(L, "json.null")
        lua_setfield(L, -2, "__name")
        Lua.pushFunction(L, nullToString)
        lua_setfield(L, -2, "__tostring")
        lua_setmetatable(L, -2)
        let null = lua_topointer(L, -1)!
        lua_setfield(L, shim_LUA_REGISTRYINDEX(), nullKey)
        return LuaValueBridge(arrayMetaPointer: array, binaryMetaPointer: binary, nullPointer: null, account: shim_arena(L))
    }

    // MARK: the memory budget

    /// Bytes the VM may still take before it reaches its budget (0 when over it).
    var remainingBudget: Int {
        let a = account.pointee
        return a.budget == .max ? .max : max(0, a.left)
    }

    /// Whether the VM is within its budget, after a full collection when it is not. Host
    /// code calls this after pushing values (which never fail for the budget).
    func fitsBudget(_ L: OpaquePointer) -> Bool {
        shim_fits_after_collect(L, account) != 0
    }

    /// Notes that host code refused to make something for the script for lack of memory.
    func noteRefusal() {
        account.pointee.refusals &+= 1
    }

    /// Whether the array form of a table with `count` entries and largest index `maxIndex`
    /// can be written; nil when it can, else why not.
    static func arrayProblem(count: Int, maxIndex: Int64, marked: Bool) -> String? {
        if marked && maxIndex > Int64(count) * 2 + arrayHoleSlack {
            return "a json.array with \(count) element\(count == 1 ? "" : "s") and largest index \(maxIndex) is too sparse (the largest index may be at most twice the element count plus \(arrayHoleSlack))"
        }
        if maxIndex > maxArrayLength {
            return "an array of \(maxIndex) elements is longer than the limit of \(maxArrayLength)"
        }
        return nil
    }

    // MARK: JSON → Lua

    func pushNull(_ L: OpaquePointer) {
        lua_getfield(L, shim_LUA_REGISTRYINDEX(), Self.nullKey)
    }

    /// Pushes `value`; binary arrives as a plain Lua string.
    /// Runs in host mode: the caller checks the budget afterwards (`fitsBudget`).
    func push(_ L: OpaquePointer, _ value: JSONValue) {
        _ = lua_checkstack(L, 4)
        switch value {
        case .null: pushNull(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .double(let d): lua_pushnumber(L, d)
        case .string(let s): Lua.pushString(L, s)
        case .binary(let b): Lua.pushBytes(L, b)
        case .raw(let r):
            if !pushJSONText(L, r) { push(L, r.parsed) }  // text that is not JSON: the parser's answer
        case .array(let a):
            lua_createtable(L, Int32(clamping: a.count), 0)
            for (i, v) in a.enumerated() {
                push(L, v)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            luaL_setmetatable(L, Self.arrayMeta)
        case .object(let o):
            lua_createtable(L, 0, Int32(clamping: o.count))
            for (k, v) in o {
                Lua.pushString(L, k)
                push(L, v)
                lua_rawset(L, -3)
            }
        }
    }

    /// Pushes a new `realtime.binary` value holding `bytes`.
    func pushBinaryMarker(_ L: OpaquePointer, _ bytes: [UInt8]) {
        _ = lua_newuserdatauv(L, 0, 1)
        Lua.pushBytes(L, bytes)
        lua_setiuservalue(L, -2, 1)
        luaL_setmetatable(L, Self.binaryMeta)
    }

    // MARK: Lua → JSON

    struct ConversionError: Error, CustomStringConvertible {
        var path: String
        var problem: String
        /// The value would not fit in what is left of the script's memory budget: the caller
        /// raises Lua's "not enough memory" rather than an argument error.
        var outOfMemory = false
        var description: String { "\(path): \(problem)" }
    }

    /// Roughly what a converted value costs the host: a `JSONValue` per value, plus string
    /// bytes, plus each container's storage.
    static let valueCost = 24
    static let memberCost = 48

    /// The value at `index` as JSON. `nil` becomes `.null`; `root` names the value in errors.
    /// `budget`: the most bytes the host copy may take (what is left of the script's memory
    /// budget unless given).
    func toJSON(_ L: OpaquePointer, _ index: Int32, root: String, budget: Int? = nil) throws(ConversionError) -> JSONValue {
        var visiting = Set<UnsafeRawPointer>()
        var left = budget ?? remainingBudget
        return try convert(L, lua_absindex(L, index), path: root, depth: 0, visiting: &visiting, left: &left)
    }

    /// Takes `bytes` from what the host copy may still take, or throws the memory error.
    private func spend(_ bytes: Int, _ left: inout Int, path: String) throws(ConversionError) {
        left -= bytes
        if left < 0 {
            throw ConversionError(path: path, problem: "not enough memory", outOfMemory: true)
        }
    }

    func metatablePointer(_ L: OpaquePointer, _ index: Int32) -> UnsafeRawPointer? {
        guard lua_getmetatable(L, index) != 0 else { return nil }
        defer { Lua.pop(L) }
        return lua_topointer(L, -1)
    }

    private func convert(_ L: OpaquePointer, _ index: Int32, path: String, depth: Int,
                         visiting: inout Set<UnsafeRawPointer>, left: inout Int) throws(ConversionError) -> JSONValue {
        try spend(Self.valueCost, &left, path: path)
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            return .null
        case LUA_TBOOLEAN:
            return .bool(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(lua_tointegerx(L, index, nil)) }
            let d = lua_tonumberx(L, index, nil)
            guard d.isFinite else { throw ConversionError(path: path, problem: "\(d) has no JSON form (numbers must be finite)") }
            return .double(d)
        case LUA_TSTRING:
            var len = 0
            _ = lua_tolstring(L, index, &len)
            try spend(len, &left, path: path)
            let bytes = Lua.bytes(L, index)
            if let s = String(validating: bytes, as: UTF8.self) { return .string(s) }
            return .binary(bytes)
        case LUA_TUSERDATA:
            let p = lua_topointer(L, index)
            if p == nullPointer { return .null }
            if metatablePointer(L, index) == binaryMetaPointer {
                lua_getiuservalue(L, index, 1)
                defer { Lua.pop(L) }
                var len = 0
                _ = lua_tolstring(L, -1, &len)
                try spend(len, &left, path: path)
                return .binary(Lua.bytes(L, -1))
            }
            throw ConversionError(path: path, problem: "a \(Lua.typeName(L, index)) value has no JSON form")
        case LUA_TTABLE:
            return try convertTable(L, index, path: path, depth: depth, visiting: &visiting, left: &left)
        default:
            throw ConversionError(path: path, problem: "a \(Lua.typeName(L, index)) has no JSON form")
        }
    }

    private func convertTable(_ L: OpaquePointer, _ t: Int32, path: String, depth: Int,
                              visiting: inout Set<UnsafeRawPointer>, left: inout Int) throws(ConversionError) -> JSONValue {
        guard depth < Self.maxDepth else {
            throw ConversionError(path: path, problem: "nesting deeper than \(Self.maxDepth) levels")
        }
        let identity = lua_topointer(L, t)!
        guard visiting.insert(identity).inserted else {
            throw ConversionError(path: path, problem: "cycle (the table contains itself)")
        }
        defer { visiting.remove(identity) }
        guard lua_checkstack(L, 6) != 0 else {
            throw ConversionError(path: path, problem: "nesting too deep for the Lua stack")
        }
        let markedArray = metatablePointer(L, t) == arrayMetaPointer

        // First pass: the keys decide between array and object.
        var count = 0
        var maxIndex: Int64 = 0
        var allPositiveIntegers = true
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            count += 1
            if lua_type(L, -2) == LUA_TNUMBER, lua_isinteger(L, -2) != 0, case let k = lua_tointegerx(L, -2, nil), k >= 1 {
                maxIndex = max(maxIndex, k)
            } else {
                allPositiveIntegers = false
            }
            Lua.pop(L)
        }
        if markedArray && !allPositiveIntegers {
            throw ConversionError(path: path, problem: "a json.array has a key that is not a positive integer")
        }
        // Keys 1..n, with a few holes (`{1, nil, 3}`) allowed: an array.
        if markedArray || (count > 0 && allPositiveIntegers && maxIndex <= Int64(count) * 2) {
            if let problem = Self.arrayProblem(count: count, maxIndex: maxIndex, marked: markedArray) {
                throw ConversionError(path: path, problem: problem)
            }
            try spend(Int(maxIndex) * Self.valueCost, &left, path: path)
            var items: [JSONValue] = []
            items.reserveCapacity(Int(maxIndex))
            var i: Int64 = 1
            while i <= maxIndex {
                lua_rawgeti(L, t, i)
                let itemPath = "\(path)[\(i)]"
                do {
                    items.append(try convert(L, lua_gettop(L), path: itemPath, depth: depth + 1, visiting: &visiting, left: &left))
                } catch {
                    Lua.pop(L)
                    throw error
                }
                Lua.pop(L)
                i += 1
            }
            return .array(items)
        }
        try spend(count * Self.memberCost, &left, path: path)
        var object: [String: JSONValue] = [:]
        object.reserveCapacity(count)
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            let key: String
            let keyPath: String
            switch lua_type(L, -2) {
            case LUA_TSTRING:
                guard let s = String(validating: Lua.bytes(L, -2), as: UTF8.self) else {
                    Lua.pop(L, 2)
                    throw ConversionError(path: path, problem: "a key is not valid UTF-8")
                }
                key = s
                keyPath = Self.isIdentifier(s) ? "\(path).\(s)" : "\(path)[\(Self.quoted(s))]"
            case LUA_TNUMBER where lua_isinteger(L, -2) != 0:
                let k = lua_tointegerx(L, -2, nil)
                key = String(k)
                keyPath = "\(path)[\(k)]"
            default:
                let what = Lua.typeName(L, -2)
                Lua.pop(L, 2)
                throw ConversionError(path: path, problem: "a \(what) key cannot be an object key (only strings and integers)")
            }
            let value: JSONValue
            do {
                value = try convert(L, lua_gettop(L), path: keyPath, depth: depth + 1, visiting: &visiting, left: &left)
            } catch {
                Lua.pop(L, 2)
                throw error
            }
            Lua.pop(L)
            // Only an integer key and its decimal string can meet here; either order of
            // `next` finds the same pair, so the error does not depend on it.
            if object.updateValue(value, forKey: key) != nil {
                Lua.pop(L)
                throw ConversionError(path: path, problem: "the integer key \(key) and the string key \(Self.quoted(key)) would both be the member \(Self.quoted(key))")
            }
        }
        return .object(object)
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == UInt8(ascii: "_") || (first | 0x20 >= UInt8(ascii: "a") && first | 0x20 <= UInt8(ascii: "z")) else { return false }
        return s.utf8.allSatisfy { c in
            c == UInt8(ascii: "_") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
        }
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }
}

private let binaryToString: LuaSwiftFunction = { L in
    let L = L!
    lua_getiuservalue(L, 1, 1)
    var len = 0
    _ = lua_tolstring(L, -1, &len)
    Lua.pushString(L, "binary: \(len) bytes")
    return 1
}

private let binaryLength: LuaSwiftFunction = { L in
    let L = L!
    lua_getiuservalue(L, 1, 1)
    var len = 0
    _ = lua_tolstring(L, -1, &len)
    lua_pushinteger(L, lua_Integer(len))
    return 1
}

private let nullToString: LuaSwiftFunction = { L in
    Lua.pushString(L!, "null")
    return 1
}
