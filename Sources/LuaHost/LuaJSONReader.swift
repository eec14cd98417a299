import CLua
import RTJSON

/// JSON text → Lua in one pass, for what a script receives (a message body arrives as
/// `.raw` text): tables are built straight from the text, with no `JSONValue` tree and no
/// Swift strings in between. The result is what `push` gives for the parsed value: arrays
/// marked, null as `json.null`, integers and floats kept apart.
extension LuaValueBridge {
    /// Pushes the value of `text`, or nothing and false when the text is not valid JSON.
    /// `RawJSON` text is valid by contract (the parser checked it, or a writer made it), so
    /// its strings are not checked a second time.
    func pushJSONText(_ L: OpaquePointer, _ text: RawJSON) -> Bool {
        let top = lua_gettop(L)
        let pushed = text.bytes.withUnsafeBufferPointer { b -> Bool in
            var reader = JSONReader(b, checkedText: true)
            do throws(JSONError) {
                try pushValue(L, &reader, depth: 0)
                try reader.finish()
                return true
            } catch {
                return false
            }
        }
        if !pushed { lua_settop(L, top) }
        return pushed
    }

    private func pushValue(_ L: OpaquePointer, _ r: inout JSONReader, depth: Int) throws(JSONError) {
        guard depth <= JSONValue.maxParseDepth, lua_checkstack(L, 4) != 0 else { throw JSONError("nesting too deep") }
        switch try r.peek() {
        case .object:
            lua_createtable(L, 0, 4)
            if try r.beginObject() { return }
            repeat {
                try r.readKey { key in pushBytes(L, key) }
                try pushValue(L, &r, depth: depth + 1)
                lua_rawset(L, -3)
            } while try r.nextMember()
        case .array:
            lua_createtable(L, 4, 0)
            if try !r.beginArray() {
                var n: lua_Integer = 0
                repeat {
                    try pushValue(L, &r, depth: depth + 1)
                    n += 1
                    lua_rawseti(L, -2, n)
                } while try r.nextElement()
            }
            luaL_setmetatable(L, Self.arrayMeta)
        case .string:
            try r.readString { s in pushBytes(L, s) }
        case .number:
            switch try r.readNumber() {
            case .integer(let i): lua_pushinteger(L, i)
            case .double(let d): lua_pushnumber(L, d)
            default: throw JSONError("bad number")
            }
        case .literal:
            switch try r.readLiteral() {
            case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
            default: pushNull(L)
            }
        }
    }

    private func pushBytes(_ L: OpaquePointer, _ s: UnsafeBufferPointer<UInt8>) {
        s.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
    }
}
