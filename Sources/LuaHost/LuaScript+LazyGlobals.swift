import CLua

/// Globals made when first touched (Sources/CLua/lazy.h has the mechanism and what differs
/// from a VM where everything is there from the start). A VM starts with the base library,
/// `print` and the strings' stand-in metatable; the standard libraries and rtlua's own
/// globals are made here, by name, when the script first reads or assigns them.
extension LuaScript {
    /// The globals there from the start (the base library's other functions are lazy;
    /// `state` is the table a reload carries over, LuaScript+Reload.swift).
    static let eagerGlobalNames = ["_G", "getmetatable", "print", "setmetatable", "state"]

    /// The globals made when first touched, in the bit order of `shim_lazy_names`.
    static let lazyGlobalNames: [String] = (0..<shim_lazy_count()).map { String(cString: shim_lazy_name_at($0)) }

    /// Every global name rtlua binds in a script's VM, whether made at once or when first
    /// touched (standard libraries included), sorted. `pairs(_G)` sees only those made so far;
    /// tools that list the globals (`rtlua types`) use this.
    public static let boundGlobalNames: [String] = (eagerGlobalNames + lazyGlobalNames).sorted()

    /// The base library as `luaopen_base` makes it, read once from a scratch state: its
    /// functions are plain C functions (no upvalues), the same in every VM, so a VM can have
    /// them one by one.
    static let baseLibrary: (functions: [String: lua_CFunction], version: String) = {
        let T = luaL_newstate()!
        defer { lua_close(T) }
        luaL_requiref(T, "_G", luaopen_base, 1)
        var functions: [String: lua_CFunction] = [:]
        lua_pushnil(T)
        while lua_next(T, -2) != 0 {
            if lua_type(T, -2) == LUA_TSTRING, let name = Lua.string(T, -2), let f = lua_tocfunction(T, -1) {
                functions[name] = f
            }
            Lua.pop(T)
        }
        lua_getfield(T, -1, "_VERSION")
        return (functions, Lua.string(T, -1) ?? "Lua 5.4")
    }()

    /// What `luaopen_base` sets in a new VM, but for the lazy names: `_G`, getmetatable and
    /// setmetatable (print is rtlua's), and `package.loaded._G`.
    static func installBase(_ L: OpaquePointer) {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
        for name in ["getmetatable", "setmetatable"] {
            lua_pushcclosure(L, Self.baseLibrary.functions[name]!, 0)
            lua_setfield(L, -2, name)
        }
        lua_pushvalue(L, -1)
        lua_setfield(L, -2, "_G")
        luaL_getsubtable(L, shim_LUA_REGISTRYINDEX(), "_LOADED")
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "_G")
        Lua.pop(L, 2)
    }

    /// Names made together: what one of them makes sets the others too.
    private static let lazyGroups: [[String]] = [["package", "require"], ["timer", "sleep", "schedule"]]

    /// Sets up the lazy globals (after the base library is open).
    func installLazyGlobals() {
        shim_lazy_install(L, account, lazyMakeFunction)
    }

    /// Makes lazy global `index` if it is still pending.
    func makeLazyGlobal(_ index: Int) {
        let name = Self.lazyGlobalNames[index]
        let names = Self.lazyGroups.first { $0.contains(name) } ?? [name]
        var bits: UInt64 = 0
        for n in names { bits |= 1 << UInt64(Self.lazyGlobalNames.firstIndex(of: n)!) }
        guard account.pointee.lazy & bits != 0 else { return }
        // Cleared first: what the makers set goes through _G's __newindex, which must not make
        // them again.
        account.pointee.lazy &= ~bits
        switch name {
        case "string":
            openLibrary("string", luaopen_string)
            lua_getfield(L, -1, "format")
            account.pointee.format = lua_tocfunction(L, -1)
            Lua.pop(L, 2)
        case "table": openLibrary("table", luaopen_table, pop: true)
        case "math": openLibrary("math", luaopen_math, pop: true)
        case "coroutine":
            openLibrary("coroutine", luaopen_coroutine)
            shim_guard_patch_coroutine(L)
            Lua.pop(L)
        case "os":
            openLibrary("os", luaopen_os)
            // os.exit would end every script of the process: it ends this one, like exit().
            pushExitFunction()
            lua_setfield(L, -2, "exit")
            Lua.pop(L)
        case "io": openLibrary("io", luaopen_io, pop: true)
        case "utf8": openLibrary("utf8", luaopen_utf8, pop: true)
        case "package", "require": openLibrary("package", luaopen_package, pop: true)
        case "debug":
            // It reaches every metatable and the registry: the VM becomes an eager one first.
            openLibrary("debug", luaopen_debug, pop: true)
            settleLazyGlobals()
        case "json":
            pushJSONTable()
            setModule("json")
        case "http":
            installHTTPGlobals()
            registerModule("http")
        case "timer", "sleep", "schedule":
            installTimerGlobals()
            registerModule("timer")
        case "log":
            shim_push_log_table(L)
            setModule("log")
        case "realtime":
            installRealtimeGlobals()
        case "check":
            pushCheckFunction()
            setGlobal("check")
        case "metrics":
            pushMetricsTable()
            setModule("metrics")
        case "now":
            pushNowFunction()
            setGlobal("now")
        case "exit":
            pushExitFunction()
            setGlobal("exit")
        case "args":
            Lua.pushStringArray(L, options.args)
            luaL_setmetatable(L, LuaValueBridge.arrayMeta)
            setGlobal("args")
        case "instance":
            lua_pushinteger(L, lua_Integer(options.instance))
            setGlobal("instance")
        case "_VERSION":
            Lua.pushString(L, Self.baseLibrary.version)
            setGlobal(name)
        default:
            guard let f = Self.baseLibrary.functions[name] else { preconditionFailure("rtlua: lazy global \(name) has no maker") }
            lua_pushcclosure(L, f, 0)
            setGlobal(name)
        }
    }

    /// Makes lazy global `name` if it is still pending.
    func makeLazyGlobal(named name: String) {
        guard let i = Self.lazyGlobalNames.firstIndex(of: name) else { return }
        makeLazyGlobal(i)
    }

    /// Makes every pending global and takes the lazy metatable off _G and package.loaded:
    /// from then on the VM is as if everything had been made at the start.
    func settleLazyGlobals() {
        for i in Self.lazyGlobalNames.indices where account.pointee.lazy & (1 << UInt64(i)) != 0 {
            makeLazyGlobal(i)
        }
        if account.pointee.lazy_meta != nil { shim_lazy_drop_metatable(L, account) }
    }

    /// Opens a standard library as `luaL_openlibs` would, leaving it on the stack unless `pop`.
    private func openLibrary(_ name: String, _ open: lua_CFunction, pop: Bool = false) {
        luaL_requiref(L, name, open, 0)
        setGlobal(name, keep: true)
        if pop { Lua.pop(L) }
    }

    /// `_G[name] = value on top` (popped unless `keep`), unless the script already set that
    /// name with rawset.
    private func setGlobal(_ name: String, keep: Bool = false) {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
        Lua.pushString(L, name)
        if lua_rawget(L, -2) == LUA_TNIL {
            Lua.pushString(L, name)
            lua_pushvalue(L, -4)
            lua_rawset(L, -4)
        }
        Lua.pop(L, keep ? 2 : 3)
    }

    /// Sets the table on top as global and library `name` (package.loaded: the libraries'
    /// functions get their names in argument errors even when called through pcall,
    /// "bad argument #1 to 'json.encode'"), and pops it.
    private func setModule(_ name: String) {
        setGlobal(name, keep: true)
        luaL_getsubtable(L, shim_LUA_REGISTRYINDEX(), "_LOADED")
        Lua.pushString(L, name)
        lua_pushvalue(L, -3)
        lua_rawset(L, -3)
        Lua.pop(L, 2)
    }

    /// Lists global `name` (set by its installer) in package.loaded.
    private func registerModule(_ name: String) {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
        Lua.pushString(L, name)
        lua_rawget(L, -2)
        shim_lua_remove(L, -2)
        setModule(name)
    }
}

/// The host's maker of lazy globals (`lazy_make`): argument 1 is the name's index, or
/// SHIM_LAZY_SETTLE.
private let lazyMakeFunction: LuaSwiftFunction = { L in
    let L = L!
    let host = LuaScript.host(L)
    let index = Int(lua_tointegerx(L, 1, nil))
    if index == Int(SHIM_LAZY_SETTLE) {
        host.settleLazyGlobals()
    } else if LuaScript.lazyGlobalNames.indices.contains(index) {
        host.makeLazyGlobal(index)
    }
    return 0
}
