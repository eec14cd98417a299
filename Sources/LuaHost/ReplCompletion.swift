import CLua

/// Tab completion for the REPL: what a partly typed name can become, read from the live VM
/// with raw lookups only (tables, and the `__index` tables of their metatables, which is
/// where `realtime:` methods, string methods and lazily made globals live), so completing
/// never runs a metamethod or any code of the script.
enum ReplCompletion {
    /// At most this many candidates are returned.
    static let limit = 200
    /// How many `__index` tables are followed from one value.
    static let maxIndexHops = 8

    /// Names offered at the top level besides the globals that exist now. One place to add
    /// names the runtime makes on first use (an `_G` whose `__index` is a function shows
    /// nothing by itself).
    static func extraTopLevelNames() -> [String] {
        keywords + LuaScript.boundGlobalNames
    }

    static let keywords = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
                           "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]

    /// The word under the cursor: the identifier characters, dots and colons that end `text`.
    static func word(endingAt text: String) -> String {
        var start = text.endIndex
        while start > text.startIndex {
            let c = text[text.index(before: start)]
            guard c == "." || c == ":" || c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) else { break }
            start = text.index(before: start)
        }
        return String(text[start...])
    }

    /// The full words `word` can become, sorted. `word` is `name`, `a.b.na` or `obj:na`.
    static func candidates(for word: String, in L: OpaquePointer) -> [String] {
        guard let sep = word.lastIndex(where: { $0 == "." || $0 == ":" }) else {
            lua_pushglobaltableRaw(L)
            var names = Set(fieldNames(L, methodsOnly: false))
            Lua.pop(L)
            names.formUnion(extraTopLevelNames())
            return finish(names.filter { $0.hasPrefix(word) }, prefix: "")
        }
        let path = word[..<sep]
        let partial = String(word[word.index(after: sep)...])
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ isName($0) }) else { return [] }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_pushglobaltableRaw(L)
        for part in parts {
            guard lua_checkstack(L, 4) != 0 else { return [] }
            pushField(L, String(part))
            if lua_type(L, -1) <= LUA_TNIL { return [] }
        }
        var names = fieldNames(L, methodsOnly: word[sep] == ":")
        // A manager's methods are made at their first lookup: `pairs` does not see them all.
        if lua_type(L, -1) == LUA_TUSERDATA, lua_getmetatable(L, -1) != 0 {
            let isManager = lua_getfield(L, -1, "__name") == LUA_TSTRING && Lua.string(L, -1) == "realtime"
            Lua.pop(L, 2)
            if isManager { names += LuaScript.methodNames }
        }
        return finish(Set(names).filter { $0.hasPrefix(partial) }, prefix: String(word[...sep]))
    }

    private static func finish(_ names: some Sequence<String>, prefix: String) -> [String] {
        Array(names.map { prefix + $0 }.sorted().prefix(limit))
    }

    static func isName(_ s: Substring) -> Bool {
        guard let first = s.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return s.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// Replaces the value on top with its field `name`, found raw in it or along its
    /// `__index` tables (nil when there is none).
    private static func pushField(_ L: OpaquePointer, _ name: String) {
        for _ in 0..<maxIndexHops {
            if lua_type(L, -1) == LUA_TTABLE {
                Lua.pushString(L, name)
                if lua_rawget(L, -2) > LUA_TNIL {
                    shim_lua_remove(L, -2)
                    return
                }
                Lua.pop(L)
            }
            guard replaceWithIndexTable(L) else { break }
        }
        Lua.pop(L)
        lua_pushnil(L)
    }

    /// Replaces the value on top with its metatable's `__index` if that is a table; else
    /// leaves it and returns false.
    private static func replaceWithIndexTable(_ L: OpaquePointer) -> Bool {
        guard lua_getmetatable(L, -1) != 0 else { return false }
        Lua.pushString(L, "__index")
        let t = lua_rawget(L, -2)
        shim_lua_remove(L, -2)
        guard t == LUA_TTABLE else {
            Lua.pop(L)
            return false
        }
        shim_lua_remove(L, -2)
        return true
    }

    /// Names of the value on top (left there): its string keys that are Lua names, and those
    /// of its `__index` tables; with `methodsOnly` only those whose value is a function.
    private static func fieldNames(_ L: OpaquePointer, methodsOnly: Bool) -> [String] {
        var names = Set<String>()
        lua_pushvalue(L, -1)
        for _ in 0..<maxIndexHops {
            if lua_type(L, -1) == LUA_TTABLE {
                lua_pushnil(L)
                while lua_next(L, -2) != 0 {
                    if lua_type(L, -2) == LUA_TSTRING, !methodsOnly || lua_type(L, -1) == LUA_TFUNCTION,
                       let key = Lua.string(L, -2), isName(Substring(key)) {
                        names.insert(key)
                    }
                    Lua.pop(L)
                }
            }
            guard replaceWithIndexTable(L) else { break }
        }
        Lua.pop(L)
        return Array(names)
    }

    /// The globals table, from the registry (`_G` may have been reassigned).
    private static func lua_pushglobaltableRaw(_ L: OpaquePointer) {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
    }
}
