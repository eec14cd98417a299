import CLua
import RTJSON

/// `print`, `log`, `now`, `exit`, `args`, `instance` and `json`.
extension LuaScript {
    /// print and log are thin Lua over two Swift writers, so `tostring` and `string.format`
    /// keep their usual behaviour and errors.
    private static let prelude = """
    local write, logwrite, tostring, select, concat, format, type, pcall, error = ...
    function print(...)
      local n = select('#', ...)
      local parts = {}
      for i = 1, n do parts[i] = tostring((select(i, ...))) end
      write(concat(parts, "\\t"))
    end
    local function message(fmt, ...)
      if select('#', ...) == 0 then return tostring(fmt) end
      return format(fmt, ...)
    end
    log = {}
    for _, level in ipairs({"debug", "info", "warn", "error"}) do
      local name = "log." .. level
      log[level] = function(fmt, ...)
        local ok, text = pcall(message, fmt, ...)
        if not ok then
          -- A bad format is the caller's mistake: raised at the caller's line, named as log.x.
          text = tostring(text):gsub("^rtlua:%d+: ", "", 1)
          error((text:gsub("^bad argument (#%d+) to '[^']*'", "bad argument %1 to '" .. name .. "'", 1)), 2)
        end
        logwrite(level, text)
      end
    end
    """

    func installGlobals() {
        installTimerGlobals()
        installJSONGlobals()
        installHTTPGlobals()
        installRealtimeGlobals()
        installMetricsGlobals()

        Lua.pushFunction(L, nowFunction)
        lua_setglobal(L, "now")
        Lua.pushFunction(L, exitFunction)
        lua_setglobal(L, "exit")
        // os.exit would end every script of the process: it ends this one, like exit().
        lua_getglobal(L, "os")
        Lua.setFunction(L, -1, "exit", exitFunction)
        Lua.pop(L)

        lua_createtable(L, Int32(options.args.count), 0)
        for (i, a) in options.args.enumerated() {
            Lua.pushString(L, a)
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        luaL_setmetatable(L, LuaValueBridge.arrayMeta)
        lua_setglobal(L, "args")
        lua_pushinteger(L, lua_Integer(options.instance))
        lua_setglobal(L, "instance")

        let status = Self.prelude.withCString { luaL_loadbufferx(L, $0, Self.prelude.utf8.count, "=rtlua", "t") }
        precondition(status == LUA_OK, "rtlua prelude: \(Lua.errorText(L, -1))")
        Lua.pushFunction(L, writeLine)
        Lua.pushFunction(L, logWrite)
        for name in ["tostring", "select"] { lua_getglobal(L, name) }
        lua_getglobal(L, "table")
        lua_getfield(L, -1, "concat")
        shim_lua_remove(L, -2)
        lua_getglobal(L, "string")
        lua_getfield(L, -1, "format")
        shim_lua_remove(L, -2)
        for name in ["type", "pcall", "error"] { lua_getglobal(L, name) }
        let ran = lua_pcallk(L, 9, 0, 0, 0, nil)
        precondition(ran == LUA_OK, "rtlua prelude: \(Lua.errorText(L, -1))")

        // Listed in package.loaded, the libraries' functions get their names in argument
        // errors even when called through pcall ("bad argument #1 to 'json.encode'").
        lua_getglobal(L, "package")
        lua_getfield(L, -1, "loaded")
        for name in ["json", "timer", "http", "log"] {
            lua_getglobal(L, name)
            lua_setfield(L, -2, name)
        }
        Lua.pop(L, 2)
    }

    func installJSONGlobals() {
        lua_createtable(L, 0, 4)
        Lua.setFunction(L, -1, "encode", jsonEncode)
        Lua.setFunction(L, -1, "decode", jsonDecode)
        Lua.setFunction(L, -1, "array", jsonArray)
        bridge.pushNull(L)
        lua_setfield(L, -2, "null")
        lua_setglobal(L, "json")
    }

    /// `exit([code])`: true or nothing is 0, false is 1, an integer is itself.
    fileprivate func requestExit(_ L: OpaquePointer) throws(LuaRaise) -> Int32 {
        let code: Int32
        switch lua_type(L, 1) {
        case LUA_TNONE, LUA_TNIL: code = 0
        case LUA_TBOOLEAN: code = lua_toboolean(L, 1) != 0 ? 0 : 1
        default:
            let n = try Lua.checkInteger(L, 1)
            guard n >= 0 && n <= 255 else { throw LuaRaise.argument(1, "exit code 0...255 expected") }
            code = Int32(n)
        }
        exitCode = code
        if coroutines[L] != nil, lua_isyieldable(L) != 0 { return LuaReturn.yield }
        // Not yieldable here (a metamethod, a coroutine of the script's own): unwind with an
        // error; the script ends as soon as control is back.
        Lua.pushString(L, "exit(\(code))")
        return LuaReturn.raiseValue
    }
}

private let nowFunction: LuaSwiftFunction = { L in
    lua_pushnumber(L!, ScriptLogger.now())
    return 1
}

private let exitFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in try LuaScript.host(L).requestExit(L) }
}

private let writeLine: LuaSwiftFunction = { L in
    let L = L!
    var bytes = Lua.bytes(L, 1)
    bytes.append(0x0A)
    LuaScript.host(L).options.output.stdout(bytes)
    return 0
}

private let logWrite: LuaSwiftFunction = { L in
    let L = L!
    let host = LuaScript.host(L)
    let level = LogLevel(name: Lua.string(L, 1) ?? "info") ?? .info
    host.logger.log(level, Lua.string(L, 2) ?? "")
    return 0
}

private let jsonEncode: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        guard lua_type(L, 1) != LUA_TNONE else { throw LuaRaise.argument(1, "value expected") }
        let bridge = LuaScript.host(L).bridge
        let value: JSONValue
        do throws(LuaValueBridge.ConversionError) {
            value = try bridge.toJSON(L, 1, root: "value")
        } catch {
            if error.outOfMemory { throw LuaRaise.outOfMemory }
            throw LuaRaise.argument(1, "\(error)")
        }
        let text: String
        do {
            text = try value.jsonText(sortedKeys: true)
        } catch {
            throw LuaRaise.argument(1, "\(error)")
        }
        guard text.utf8.count <= bridge.remainingBudget else { throw LuaRaise.outOfMemory }
        Lua.pushString(L, text)
        return 1
    }
}

private let jsonDecode: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        guard lua_type(L, 1) == LUA_TSTRING else { throw Lua.typeError(L, 1, "string") }
        let bridge = LuaScript.host(L).bridge
        var len = 0
        let p = lua_tolstring(L, 1, &len)!
        // Straight from the string's bytes into tables, no copy; the budget is watched as the
        // tables grow.
        let text = UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: len)
        var failure: JSONError
        switch bridge.pushJSON(L, text, checked: false) {
        case .pushed: return 1
        case .outOfMemory: throw LuaRaise.outOfMemory
        case .invalid(let error): failure = error
        }
        // Invalid UTF-8 inside a string: the parser repairs it (U+FFFD) where the reader refuses.
        if failure.message.contains("UTF-8") {
            guard len <= bridge.remainingBudget / 8 else { throw LuaRaise.outOfMemory }
            do throws(JSONError) {
                bridge.push(L, try JSONValue.parse(text))
                return 1
            } catch {
                failure = error
            }
        }
        lua_pushnil(L)
        Lua.pushString(L, "invalid JSON: \(failure)")
        return 2
    }
}

private let jsonArray: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        if lua_type(L, 1) <= LUA_TNIL {
            lua_settop(L, 0)
            lua_createtable(L, 0, 0)
        } else {
            try Lua.checkTable(L, 1)
            lua_settop(L, 1)
        }
        luaL_setmetatable(L, LuaValueBridge.arrayMeta)
        return 1
    }
}
