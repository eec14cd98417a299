import CLua
import RTJSON

/// Lua → JSON text in one pass, for what a script sends (`realtime:send` is the hot path):
/// no `JSONValue` tree and no path strings. It gives up (nil) on whatever the full
/// conversion has to handle or explain: binary, a value with no JSON form, a cycle, too deep,
/// integer keys in an object (`{[1]=…, ["1"]=…}` must be refused the way `toJSON` does), an
/// array too sparse or too long. The caller then takes `toJSON`, which builds the value or
/// the error naming its path, so both ways give the same JSON for the same table.
///
/// The text is a host-side copy made for the script: it may not grow past `limit` bytes
/// (what is left of the script's memory budget). Past it the writer stops, with `out`
/// longer than `limit`, which tells the caller the reason (`textTooLarge`).
/// The tables being written, outermost first, where `writeJSONText` looks for cycles: one
/// buffer of `maxDepth` entries per VM, made at its first write (1.6 KiB an idle bot, which
/// never writes one, does not carry) and kept (no Lua code runs while a value is written,
/// so one write never starts inside another).
final class OpenTables {
    private var storage: UnsafeMutableBufferPointer<UnsafeRawPointer>?

    var slots: UnsafeMutableBufferPointer<UnsafeRawPointer> {
        if let storage { return storage }
        let made = UnsafeMutableBufferPointer<UnsafeRawPointer>.allocate(capacity: LuaValueBridge.maxDepth)
        storage = made
        return made
    }

    var isAllocated: Bool { storage != nil }

    deinit { storage?.deallocate() }
}

extension LuaValueBridge {
    /// Appends the value at `index` as JSON text to `out`; false (the stack as it was, `out`
    /// holding a partial text) when the full conversion must decide, or when the text would
    /// be longer than `limit` (then `out.count > limit`).
    func writeJSONText(_ L: OpaquePointer, _ index: Int32, into out: inout [UInt8], limit: Int = .max) -> Bool {
        let top = lua_gettop(L)
        let tables = lua_type(L, index) == LUA_TTABLE ? openTables.slots : UnsafeMutableBufferPointer(start: nil, count: 0)
        let ok = write(L, lua_absindex(L, index), into: &out, depth: 0, tables: tables, limit: limit) && out.count <= limit
        if !ok { lua_settop(L, top) }
        return ok
    }

    /// Whether a false `writeJSONText` stopped because the text outgrew its limit.
    static func textTooLarge(_ out: [UInt8], limit: Int) -> Bool { out.count > limit }

    private func write(_ L: OpaquePointer, _ index: Int32, into out: inout [UInt8], depth: Int,
                       tables: UnsafeMutableBufferPointer<UnsafeRawPointer>, limit: Int) -> Bool {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        case LUA_TBOOLEAN:
            out.append(contentsOf: lua_toboolean(L, index) != 0 ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 {
                JSONValue.writeInteger(lua_tointegerx(L, index, nil), into: &out)
            } else {
                do { try JSONValue.writeDouble(lua_tonumberx(L, index, nil), into: &out) } catch { return false }
            }
        case LUA_TSTRING:
            var n = 0
            let p = lua_tolstring(L, index, &n)!
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: n)
            guard n <= limit, Self.writeString(bytes, into: &out) else { return false }  // binary: the full path
        case LUA_TUSERDATA:
            guard lua_topointer(L, index) == nullPointer else { return false }
            out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case LUA_TTABLE:
            return writeTable(L, index, into: &out, depth: depth, tables: tables, limit: limit)
        default:
            return false
        }
        return true
    }

    private func writeTable(_ L: OpaquePointer, _ t: Int32, into out: inout [UInt8], depth: Int,
                            tables: UnsafeMutableBufferPointer<UnsafeRawPointer>, limit: Int) -> Bool {
        // `depth` counts the tables around this one: they are tables[0..<depth].
        let identity = lua_topointer(L, t)!
        guard depth < Self.maxDepth, lua_checkstack(L, 6) != 0 else { return false }
        for i in 0..<depth where tables[i] == identity { return false }
        tables[depth] = identity
        let markedArray = metatablePointer(L, t) == arrayMetaPointer

        lua_pushnil(L)
        guard lua_next(L, t) != 0 else {
            out.append(contentsOf: markedArray ? [0x5B, 0x5D] : [0x7B, 0x7D])  // [] or {}
            return true
        }
        // A string key rules the array form out: unless marked as an array, the table is an
        // object, written in this same walk. A key that is not a string then gives up, as
        // `convertTable`'s decision below would.
        if !markedArray, lua_type(L, -2) == LUA_TSTRING {
            out.append(0x7B)
            var first = true
            repeat {
                guard writeMember(L, first: first, into: &out, depth: depth, tables: tables, limit: limit) else { return false }
                first = false
            } while lua_next(L, t) != 0
            out.append(0x7D)
            return true
        }
        shim_lua_pop(L, 2)

        // The same decision as `convertTable`: the keys choose between array and object.
        var count = 0
        var maxIndex: Int64 = 0
        var allPositiveIntegers = true
        var anyInteger = false
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            count += 1
            if lua_type(L, -2) == LUA_TNUMBER, lua_isinteger(L, -2) != 0 {
                anyInteger = true
                let k = lua_tointegerx(L, -2, nil)
                if k >= 1 { maxIndex = max(maxIndex, k) } else { allPositiveIntegers = false }
            } else {
                allPositiveIntegers = false
            }
            shim_lua_pop(L, 1)
        }
        if markedArray || (count > 0 && allPositiveIntegers && maxIndex <= Int64(count) * 2) {
            guard allPositiveIntegers || count == 0,
                  Self.arrayProblem(count: count, maxIndex: maxIndex, marked: markedArray) == nil else { return false }
            out.append(0x5B)
            var i: Int64 = 1
            while i <= maxIndex {
                if i > 1 { out.append(0x2C) }
                lua_rawgeti(L, t, i)
                guard write(L, lua_gettop(L), into: &out, depth: depth + 1, tables: tables, limit: limit),
                      out.count <= limit else { return false }
                shim_lua_pop(L, 1)
                i += 1
            }
            out.append(0x5D)
            return true
        }
        guard !anyInteger else { return false }
        out.append(0x7B)
        var first = true
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            guard writeMember(L, first: first, into: &out, depth: depth, tables: tables, limit: limit) else { return false }
            first = false
        }
        out.append(0x7D)
        return true
    }

    /// `"key":value` for the key and value lua_next left on the stack (the value is popped);
    /// false for a key that is not a UTF-8 string or a value the full conversion must decide.
    private func writeMember(_ L: OpaquePointer, first: Bool, into out: inout [UInt8], depth: Int,
                             tables: UnsafeMutableBufferPointer<UnsafeRawPointer>, limit: Int) -> Bool {
        guard lua_type(L, -2) == LUA_TSTRING else { return false }
        var n = 0
        let p = lua_tolstring(L, -2, &n)!  // a string key: no conversion, lua_next stays valid
        let key = UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: n)
        if !first { out.append(0x2C) }
        guard n <= limit, Self.writeString(key, into: &out) else { return false }
        out.append(0x3A)
        guard write(L, lua_gettop(L), into: &out, depth: depth + 1, tables: tables, limit: limit),
              out.count <= limit else { return false }
        shim_lua_pop(L, 1)
        return true
    }

    /// `b` as a JSON string; false (nothing written) when it is not UTF-8.
    static func writeString(_ b: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        if JSONValue.isPlainText(b) {  // most keys and values: the bytes are the string's text
            out.append(0x22)
            out.append(contentsOf: b)
            out.append(0x22)
            return true
        }
        guard JSONValue.isValidUTF8(b) else { return false }
        JSONValue.writeString(utf8: b, into: &out)
        return true
    }
}
