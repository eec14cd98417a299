import CLua
import RTJSON

/// `print`, `log`, `now`, `exit`, `args`, `instance` and `json` (made when first touched:
/// LuaScript+LazyGlobals.swift).
extension LuaScript {
    /// `print` and the lazy globals (LuaScript+LazyGlobals.swift). print and log are C
    /// (Sources/CLua/lazy.h): no prelude to compile into every VM; they call luaL_tolstring
    /// and string.format, so `tostring`'s and `string.format`'s behaviour and errors stay.
    func installGlobals() {
        account.pointee.write = scriptWrite
        shim_push_print(L)
        lua_setglobal(L, "print")
        installLazyGlobals()
    }

    func pushNowFunction() {
        Lua.pushFunction(L, nowFunction)
    }

    func pushExitFunction() {
        Lua.pushFunction(L, exitFunction)
    }

    /// The `json` table, pushed.
    func pushJSONTable() {
        lua_createtable(L, 0, 4)
        Lua.setFunction(L, -1, "encode", jsonEncode)
        Lua.setFunction(L, -1, "decode", jsonDecode)
        Lua.setFunction(L, -1, "array", jsonArray)
        bridge.pushNull(L)
        lua_setfield(L, -2, "null")
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
    lua_pushnumber(L!, LuaScript.host(L!).clock.now())
    return 1
}

private let exitFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in try LuaScript.host(L).requestExit(L) }
}

/// print's and log's writer (`write` of the arena header): a print line to the script's
/// stdout, or a log line at level `what`.
private let scriptWrite: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int) -> Void = { script, what, text, len in
    let host = Unmanaged<LuaScript>.fromOpaque(script!).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: text, count: len)
    if what < 0 {
        var line = [UInt8]()
        line.reserveCapacity(len + 1)
        line.append(contentsOf: bytes)
        line.append(0x0A)
        host.options.output.stdout(line)
    } else {
        host.logger.log(LogLevel(rawValue: Int(what)) ?? .info, String(decoding: bytes, as: UTF8.self))
    }
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
