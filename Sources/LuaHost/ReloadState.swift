import CLua

/// Copies the plain data of a value from one script VM into another (a reload's `state`):
/// nil, booleans, numbers, strings, `json.null`, `realtime.binary` markers, and tables of
/// those (any plain keys), with `json.array` marks, shared tables and cycles kept. Functions,
/// coroutines, other userdata and other metatables cannot cross VMs: such entries are left
/// out and named (`state.onTick (function)`).
struct StateTransfer {
    private let from: OpaquePointer
    private let fromBridge: LuaValueBridge
    private let to: OpaquePointer
    private let toBridge: LuaValueBridge
    /// Stack index in `to` of the table holding each copied table by its number, so a table
    /// met again (shared, or a cycle) is the same table in the copy.
    private var copiesIndex: Int32 = 0
    private var copied: [UnsafeRawPointer: lua_Integer] = [:]
    /// What was left out, by path.
    private(set) var notCarried: [String] = []

    /// Pushes onto `next`'s stack a copy of `script`'s global `name` (an empty table when it
    /// is nil, or cannot be carried at all).
    static func copyGlobal(_ name: String, from script: LuaScript, to next: LuaScript) -> StateTransfer {
        var t = StateTransfer(from: script.L, fromBridge: script.bridge, to: next.L, toBridge: next.bridge)
        lua_createtable(t.to, 0, 0)
        t.copiesIndex = lua_gettop(t.to)
        script.pushRawGlobal(name)
        if lua_type(t.from, -1) == LUA_TNIL || !t.push(lua_gettop(t.from), path: name, depth: 0) {
            lua_createtable(t.to, 0, 0)
        }
        Lua.pop(t.from)
        shim_lua_remove(t.to, t.copiesIndex)
        return t
    }

    private init(from: OpaquePointer, fromBridge: LuaValueBridge, to: OpaquePointer, toBridge: LuaValueBridge) {
        self.from = from
        self.fromBridge = fromBridge
        self.to = to
        self.toBridge = toBridge
    }

    /// Pushes onto `to` a copy of the value at `index` of `from`; false (nothing pushed, the
    /// path noted) when it cannot be carried.
    private mutating func push(_ index: Int32, path: String, depth: Int) -> Bool {
        _ = lua_checkstack(to, 4)
        switch lua_type(from, index) {
        case LUA_TNIL:
            lua_pushnil(to)
        case LUA_TBOOLEAN:
            lua_pushboolean(to, lua_toboolean(from, index))
        case LUA_TNUMBER:
            if lua_isinteger(from, index) != 0 {
                lua_pushinteger(to, lua_tointegerx(from, index, nil))
            } else {
                lua_pushnumber(to, lua_tonumberx(from, index, nil))
            }
        case LUA_TSTRING:
            var len = 0
            let p = lua_tolstring(from, index, &len)
            lua_pushlstring(to, p, len)
        case LUA_TUSERDATA:
            if lua_topointer(from, index) == fromBridge.nullPointer {
                toBridge.pushNull(to)
            } else if fromBridge.metatablePointer(from, index) == fromBridge.binaryMetaPointer {
                lua_getiuservalue(from, index, 1)
                toBridge.pushBinaryMarker(to, Lua.bytes(from, -1))
                Lua.pop(from)
            } else {
                notCarried.append("\(path) (\(Lua.typeName(from, index)))")
                return false
            }
        case LUA_TTABLE:
            return pushTable(lua_absindex(from, index), path: path, depth: depth)
        default:
            notCarried.append("\(path) (\(Lua.typeName(from, index)))")
            return false
        }
        return true
    }

    private mutating func pushTable(_ t: Int32, path: String, depth: Int) -> Bool {
        let identity = lua_topointer(from, t)!
        if let n = copied[identity] {
            lua_rawgeti(to, copiesIndex, n)
            return true
        }
        guard depth < LuaValueBridge.maxDepth, lua_checkstack(from, 4) != 0 else {
            notCarried.append("\(path) (nested deeper than \(LuaValueBridge.maxDepth))")
            return false
        }
        lua_createtable(to, 0, 0)
        let n = lua_Integer(copied.count + 1)
        copied[identity] = n
        lua_pushvalue(to, -1)
        lua_rawseti(to, copiesIndex, n)
        if fromBridge.metatablePointer(from, t) == fromBridge.arrayMetaPointer {
            luaL_setmetatable(to, LuaValueBridge.arrayMeta)
        }
        lua_pushnil(from)
        while lua_next(from, t) != 0 {
            let keyPath = Self.path(path, key: from, -2)
            if push(lua_gettop(from) - 1, path: keyPath, depth: depth + 1) {
                if push(lua_gettop(from), path: keyPath, depth: depth + 1) {
                    lua_rawset(to, -3)
                } else {
                    Lua.pop(to)
                }
            }
            Lua.pop(from)  // the value; the key stays for lua_next
        }
        return true
    }

    /// `state.name`, `state[3]`, `state["two words"]`, `state[table]`.
    private static func path(_ base: String, key L: OpaquePointer, _ index: Int32) -> String {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            let s = Lua.string(L, index) ?? ""
            let isName = !s.isEmpty && !(s.first!.isNumber) && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            return isName ? "\(base).\(s)" : "\(base)[\"\(s)\"]"
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return "\(base)[\(lua_tointegerx(L, index, nil))]" }
            return "\(base)[\(lua_tonumberx(L, index, nil))]"
        case LUA_TBOOLEAN:
            return "\(base)[\(lua_toboolean(L, index) != 0)]"
        default:
            return "\(base)[\(Lua.typeName(L, index))]"
        }
    }
}
