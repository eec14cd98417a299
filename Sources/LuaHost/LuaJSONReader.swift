import CLua
import RTJSON

/// JSON text → Lua in one pass, for what a script receives (a message body arrives as
/// `.raw` text) and for `json.decode`: tables are built straight from the text, with no
/// `JSONValue` tree and no Swift strings in between. The result is what `push` gives for
/// the parsed value: arrays marked, null as `json.null`, integers and floats kept apart.
///
/// Runs in host mode (the budget is not enforced on each allocation), so it watches the
/// budget itself: before each container and every 64 elements or members, and before each
/// string by its length, and stops with `.outOfMemory` (after one full collection) rather
/// than build past it.
extension LuaValueBridge {
    enum TextPush {
        case pushed
        /// Not valid JSON (the reader's error); nothing pushed.
        case invalid(JSONError)
        /// The value would take the VM past its memory budget; nothing pushed.
        case outOfMemory
    }

    /// Thrown inside the reader's walk when the budget would be passed (told apart from the
    /// reader's own errors by its offset).
    private static let outOfMemory = JSONError("not enough memory", offset: -1)

    /// Pushes the value of `text`, or nothing and false when the text is not valid JSON.
    /// `RawJSON` text is valid by contract (the parser checked it, or a writer made it), so
    /// its strings are not checked a second time. When the value does not fit in the
    /// budget, `nil` is pushed instead and the refusal is counted (`noteRefusal`): the
    /// caller finds it through the account.
    func pushJSONText(_ L: OpaquePointer, _ text: RawJSON) -> Bool {
        let result = text.bytes.withUnsafeBufferPointer { pushJSON(L, $0, checked: true) }
        switch result {
        case .pushed: return true
        case .invalid: return false
        case .outOfMemory:
            noteRefusal()
            lua_pushnil(L)
            return true
        }
    }

    /// Pushes the value of the JSON text `b` (as `json.decode` does); `checked`: the text is
    /// known to be valid (strings are not checked again).
    func pushJSON(_ L: OpaquePointer, _ b: UnsafeBufferPointer<UInt8>, checked: Bool) -> TextPush {
        let top = lua_gettop(L)
        var reader = JSONReader(b, checkedText: checked)
        do throws(JSONError) {
            try pushValue(L, &reader, depth: 0)
            try reader.finish()
            return .pushed
        } catch {
            lua_settop(L, top)
            return error.offset == Self.outOfMemory.offset ? .outOfMemory : .invalid(error)
        }
    }

    /// Throws when `bytes` more would take the VM past its budget, even after a collection.
    @inline(__always)
    private func fits(_ L: OpaquePointer, _ bytes: Int) -> Bool {
        return bytes <= account.pointee.left || reserveSlow(L, bytes)
    }

    @inline(never)
    private func reserveSlow(_ L: OpaquePointer, _ bytes: Int) -> Bool {
        guard bytes <= account.pointee.budget else { return false }
        _ = fitsBudget(L)  // a full collection
        return bytes <= account.pointee.left
    }

    private func pushValue(_ L: OpaquePointer, _ r: inout JSONReader, depth: Int) throws(JSONError) {
        guard depth <= JSONValue.maxParseDepth, lua_checkstack(L, 4) != 0 else { throw JSONError("nesting too deep") }
        switch try r.peek() {
        case .object:
            guard fits(L, 0) else { throw Self.outOfMemory }
            lua_createtable(L, 0, 4)
            if try r.beginObject() { return }
            var n = 0
            repeat {
                guard try r.readKey({ pushBytes(L, $0) }) else { throw Self.outOfMemory }
                try pushValue(L, &r, depth: depth + 1)
                lua_rawset(L, -3)
                n &+= 1
                if n & 63 == 0, !fits(L, 0) { throw Self.outOfMemory }
            } while try r.nextMember()
        case .array:
            guard fits(L, 0) else { throw Self.outOfMemory }
            lua_createtable(L, 4, 0)
            if try !r.beginArray() {
                var n: lua_Integer = 0
                repeat {
                    try pushValue(L, &r, depth: depth + 1)
                    n += 1
                    lua_rawseti(L, -2, n)
                    if n & 63 == 0, !fits(L, 0) { throw Self.outOfMemory }
                } while try r.nextElement()
            }
            luaL_setmetatable(L, Self.arrayMeta)
        case .string:
            guard try r.readString({ pushBytes(L, $0) }) else { throw Self.outOfMemory }
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

    /// Pushes a string, or nothing and false when it does not fit in the budget (checked for
    /// strings of 4 KiB and more; smaller ones are covered by the checks every 64 values).
    private func pushBytes(_ L: OpaquePointer, _ s: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.count < 4096 || fits(L, s.count) else { return false }
        s.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        return true
    }
}
