#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLua

/// What a Lua function written in Swift reports instead of raising. Lua raises and yields
/// with longjmp, which must never cross a Swift frame; so the Swift body returns, and the C
/// trampoline of shim.h (`shim_trampoline`) raises or yields afterwards.
enum LuaRaise: Error {
    /// `bad argument #n to 'name' (message)`, through luaL_argerror.
    case argument(Int32, String)
    /// `file:line: message` at the caller's line.
    case message(String)
    /// The error object already on top of the stack, raised as is.
    case value
    /// Lua's "not enough memory": what the script asked for would take its VM past its
    /// memory budget (or malloc failed).
    case outOfMemory
}

/// The return codes understood by `shim_trampoline` (SHIM_* in shim.h).
enum LuaReturn {
    static let raiseAtCaller: Int32 = -1
    static let raiseArgError: Int32 = -2
    static let yield: Int32 = -3
    static let raiseValue: Int32 = -4
    static let raiseMemory: Int32 = -5
}

/// The signature of every Lua function written in Swift (registered with `pushSwiftFunction`).
typealias LuaSwiftFunction = @convention(c) (OpaquePointer?) -> Int32

/// Runs a Swift-written Lua function body, turning a thrown `LuaRaise` into a trampoline code.
@inline(__always)
func luaBody(_ L: OpaquePointer, _ body: () throws(LuaRaise) -> Int32) -> Int32 {
    do {
        return try body()
    } catch {
        switch error {
        case .argument(let n, let m):
            lua_pushinteger(L, lua_Integer(n))
            Lua.pushString(L, m)
            return LuaReturn.raiseArgError
        case .message(let m):
            Lua.pushString(L, m)
            return LuaReturn.raiseAtCaller
        case .value:
            return LuaReturn.raiseValue
        case .outOfMemory:
            return LuaReturn.raiseMemory
        }
    }
}

/// Small helpers over the C API, and the one argument-checking path (lauxlib style:
/// `bad argument #2 to 'send' (string expected, got nil)`).
enum Lua {
    static func pushString(_ L: OpaquePointer, _ s: String) {
        var s = s
        s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    static func pushBytes(_ L: OpaquePointer, _ bytes: [UInt8]) {
        if bytes.isEmpty {
            _ = lua_pushlstring(L, "", 0)
            return
        }
        bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    /// Pushes a new array of the strings.
    static func pushStringArray(_ L: OpaquePointer, _ strings: [String]) {
        lua_createtable(L, Int32(strings.count), 0)
        for (i, s) in strings.enumerated() {
            pushString(L, s)
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
    }

    static func pushFunction(_ L: OpaquePointer, _ f: LuaSwiftFunction) {
        shim_pushswiftfunction(L, f)
    }

    /// Sets `t[name] = f` for the table at `index`.
    static func setFunction(_ L: OpaquePointer, _ index: Int32, _ name: String, _ f: LuaSwiftFunction) {
        let t = lua_absindex(L, index)
        pushFunction(L, f)
        lua_setfield(L, t, name)
    }

    /// The bytes of the string at `index` (which must be a string: no number conversion).
    static func bytes(_ L: OpaquePointer, _ index: Int32) -> [UInt8] {
        var len = 0
        guard let p = lua_tolstring(L, index, &len) else { return [] }
        return p.withMemoryRebound(to: UInt8.self, capacity: len) { Array(UnsafeBufferPointer(start: $0, count: len)) }
    }

    /// The string at `index` as Swift text (invalid UTF-8 repaired), or nil when not a string.
    static func string(_ L: OpaquePointer, _ index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = lua_tolstring(L, index, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    /// A string, or a number as Lua writes it (converted on a copy, so a key being traversed
    /// stays a number); nil for any other value.
    static func text(_ L: OpaquePointer, _ index: Int32) -> String? {
        if let s = string(L, index) { return s }
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        lua_pushvalue(L, index)
        defer { pop(L) }
        return String(cString: lua_tolstring(L, -1, nil))
    }

    /// The type name lauxlib would print: `__name` of the metatable when there is one.
    static func typeName(_ L: OpaquePointer, _ index: Int32) -> String {
        let t = lua_type(L, index)
        if t == LUA_TNONE { return "no value" }
        if luaL_getmetafield(L, index, "__name") != LUA_TNIL {
            defer { lua_settop(L, -2) }
            if lua_type(L, -1) == LUA_TSTRING, let s = string(L, -1) { return s }
        }
        if t == LUA_TLIGHTUSERDATA { return "light userdata" }
        return String(cString: lua_typename(L, t))
    }

    /// Pushes `t[name]` without metamethods (an erroring __index must not unwind Swift frames).
    static func rawField(_ L: OpaquePointer, _ index: Int32, _ name: String) {
        let t = lua_absindex(L, index)
        pushString(L, name)
        lua_rawget(L, t)
    }

    /// Absolute `Int32` index helper.
    static func top(_ L: OpaquePointer) -> Int32 { lua_gettop(L) }

    /// Pops `n` values.
    static func pop(_ L: OpaquePointer, _ n: Int32 = 1) { lua_settop(L, -n - 1) }

    // MARK: argument checks (each throws the lauxlib-style error)

    /// `name`, when given, is the parameter's name: `(channel: string expected, got nil)`.
    static func typeError(_ L: OpaquePointer, _ arg: Int32, _ expected: String, name: String? = nil) -> LuaRaise {
        .argument(arg, "\(name.map { $0 + ": " } ?? "")\(expected) expected, got \(typeName(L, arg))")
    }

    static func checkString(_ L: OpaquePointer, _ arg: Int32, name: String? = nil) throws(LuaRaise) -> String {
        guard let s = text(L, arg) else { throw typeError(L, arg, "string", name: name) }
        return s
    }

    static func optString(_ L: OpaquePointer, _ arg: Int32) throws(LuaRaise) -> String? {
        lua_type(L, arg) <= LUA_TNIL ? nil : try checkString(L, arg)
    }

    static func checkBytes(_ L: OpaquePointer, _ arg: Int32) throws(LuaRaise) -> [UInt8] {
        guard lua_type(L, arg) == LUA_TSTRING else { throw typeError(L, arg, "string") }
        return bytes(L, arg)
    }

    static func checkNumber(_ L: OpaquePointer, _ arg: Int32) throws(LuaRaise) -> Double {
        var ok: Int32 = 0
        let n = lua_tonumberx(L, arg, &ok)
        guard ok != 0, lua_type(L, arg) == LUA_TNUMBER else { throw typeError(L, arg, "number") }
        return n
    }

    /// A duration in seconds: a finite, non-negative number.
    static func checkSeconds(_ L: OpaquePointer, _ arg: Int32) throws(LuaRaise) -> Double {
        let s = try checkNumber(L, arg)
        guard s.isFinite, s >= 0 else { throw LuaRaise.argument(arg, "non-negative number of seconds expected") }
        return s
    }

    static func checkInteger(_ L: OpaquePointer, _ arg: Int32) throws(LuaRaise) -> Int64 {
        var ok: Int32 = 0
        let n = lua_tointegerx(L, arg, &ok)
        guard ok != 0 else {
            if lua_type(L, arg) == LUA_TNUMBER { throw LuaRaise.argument(arg, "number has no integer representation") }
            throw typeError(L, arg, "number")
        }
        return n
    }

    static func optBoolean(_ L: OpaquePointer, _ arg: Int32, name: String? = nil) throws(LuaRaise) -> Bool? {
        let t = lua_type(L, arg)
        if t <= LUA_TNIL { return nil }
        guard t == LUA_TBOOLEAN else { throw typeError(L, arg, "boolean", name: name) }
        return lua_toboolean(L, arg) != 0
    }

    static func checkFunction(_ L: OpaquePointer, _ arg: Int32, name: String? = nil) throws(LuaRaise) {
        guard lua_type(L, arg) == LUA_TFUNCTION else { throw typeError(L, arg, "function", name: name) }
    }

    static func checkTable(_ L: OpaquePointer, _ arg: Int32, name: String? = nil) throws(LuaRaise) {
        guard lua_type(L, arg) == LUA_TTABLE else { throw typeError(L, arg, "table", name: name) }
    }

    /// The error value at `index` as text, as lua.c's message handler renders it.
    static func errorText(_ L: OpaquePointer, _ index: Int32) -> String {
        let index = lua_absindex(L, index)
        if let s = text(L, index) { return s }
        if luaL_getmetafield(L, index, "__tostring") != LUA_TNIL {
            lua_pushvalue(L, index)
            if shim_lua_pcall_budgeted(L, 1, 1, 0) == LUA_OK, let s = string(L, -1) { pop(L); return s }
            pop(L)
        }
        return "(error object is a \(typeName(L, index)) value)"
    }
}

/// The Swift text of the last bytes asked for, kept with them: the same bytes again give the
/// same String without decoding them again.
struct NameCache {
    private var bytes: [UInt8] = []
    private var text = ""

    mutating func string(_ b: UnsafeRawBufferPointer) -> String {
        if b.count == bytes.count, b.count == 0 || bytes.withUnsafeBytes({ memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }) {
            return text
        }
        bytes = Array(b)
        text = String(decoding: b, as: UTF8.self)
        return text
    }
}
