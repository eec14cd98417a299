#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLua
import NIOConcurrencyHelpers

/// The memory budget of a script VM (`--memory-limit`, docs/limits.md "Memory budget").
///
/// The VM's allocator (LuaArena) counts every byte the VM holds and refuses growth past the
/// budget while Lua code runs; Lua then collects garbage, tries again, and raises "not enough
/// memory" at the script's line. Host code (Swift functions, the pushes of callback
/// arguments) runs in host mode, where nothing is refused for the budget because a Lua error
/// must not unwind a Swift frame; it checks the budget itself at safe points: the trampoline
/// after a Swift function returns, the host after pushing callback arguments or the results
/// a waiting coroutine is resumed with, and before a large host-side copy (JSON text, an
/// HTTP body, a decoded value) is made.
public enum MemoryBudget {
    /// What a script VM may hold unless `--memory-limit` says otherwise. An idle bot's VM
    /// holds about 10 KiB (its globals are made when first touched) and a busy one a few MiB;
    /// this is there to stop a runaway script before it takes the process (and every other
    /// script in it) down.
    public static let defaultLimit = 256 << 20

    private static let counted = NIOLockedValueBox(0)

    /// Memory errors reported so far in this process (every script): callbacks and main
    /// chunks that ended with "not enough memory", and callback arguments that did not fit.
    public static var violations: Int { counted.withLockedValue { $0 } }

    static func countViolation() { counted.withLockedValue { $0 += 1 } }

    /// Parses a size: plain bytes (`1048576`), or a number with a unit: `KB`, `MB`, `GB`
    /// (powers of 1000), `KiB`, `MiB`, `GiB` (powers of 1024), `K`/`M`/`G` (taken as the
    /// binary units), `B`; case-insensitive, a space allowed before the unit. 0 means no limit.
    public static func parseSize(_ text: String) -> Int? {
        let s = text.trimmingSpaces.lowercased()
        let split = s.firstIndex(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) ?? s.endIndex
        let number = String(s[..<split])
        let unit = String(s[split...]).trimmingSpaces
        guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "kb": scale = 1e3
        case "mb": scale = 1e6
        case "gb": scale = 1e9
        case "k", "kib": scale = 1024
        case "m", "mib": scale = 1024 * 1024
        case "g", "gib": scale = 1024 * 1024 * 1024
        default: return nil
        }
        if scale == 1 && value != value.rounded() { return nil }  // a fraction of a byte
        let bytes = (value * scale).rounded()
        return bytes < 9e18 ? Int(bytes) : nil
    }

    /// `16 MiB`, `512 KiB`, `1000 bytes`: a budget as the messages name it.
    public static func describe(_ bytes: Int) -> String {
        if bytes >= 1 << 20 {
            return bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : String(format1: Double(bytes) / Double(1 << 20)) + " MiB"
        }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

private extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}

extension LuaScript {
    /// The VM's memory account (`shim_ArenaHeader`).
    var account: UnsafeMutablePointer<shim_ArenaHeader> { LuaArena.header(arena) }

    /// Bytes the VM holds now (what `collectgarbage("count")` gives, in bytes).
    public var memoryInUse: Int { account.pointee.used }

    /// Allocations refused for the budget so far, and memory errors the host raised.
    var memoryRefusals: Int { Int(account.pointee.refusals) }

    /// Starts counting the VM's bytes (those `luaL_newstate` took before the VM's allocator
    /// was set are Lua's own count at that moment) and installs the panic handler.
    static func installAllocator(_ L: OpaquePointer, _ arena: UnsafeMutableRawPointer) {
        shim_set_arena(L, LuaArena.header(arena))
        LuaArena.header(arena).pointee.used = Int(shim_lua_gc_bytes(L))
        LuaArena.header(arena).pointee.L = L
        lua_setallocf(L, LuaArena.allocate, arena)
        lua_atpanic(L, panicFunction)
    }

    /// Sets the budget once the globals are installed (they are the host's, not the script's
    /// choice, and are made in host mode anyway).
    func applyMemoryLimit() {
        LuaArena.setBudget(account, options.memoryLimit > 0 ? options.memoryLimit : .max)
    }

    /// The error message of a coroutine that ended with an error (on top of `co`), and when
    /// it is a memory error: where it happened, logged and counted as a budget violation.
    func errorMessage(_ co: OpaquePointer, status: Int32) -> String {
        let message = Lua.errorText(co, -1)
        guard status == LUA_ERRMEM || (message == "not enough memory" && account.pointee.refusals > 0) else { return message }
        let place = Self.scriptPlace(co)
        reportMemoryViolation(at: place)
        return place.map { "\($0): \(message)" } ?? message
    }

    /// Logs a budget violation with the script and instance, and counts it.
    func reportMemoryViolation(at place: String?, _ what: String = "not enough memory") {
        MemoryBudget.countViolation()
        memoryViolations += 1
        let limit = account.pointee.budget == .max ? "no memory limit (malloc failed)" : "its memory limit of \(MemoryBudget.describe(account.pointee.budget))"
        logger.log(.error, "\(what)\(place.map { " at \($0)" } ?? ""): the script reached \(limit) (--memory-limit)")
    }

    /// `file:line` of the innermost Lua function of `co`'s stack, if any.
    static func scriptPlace(_ co: OpaquePointer) -> String? {
        var ar = lua_Debug()
        var level: Int32 = 0
        while lua_getstack(co, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(co, "Sl", &ar) != 0, ar.currentline > 0 else { continue }
            let source = withUnsafeBytes(of: &ar.short_src) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            return "\(source):\(ar.currentline)"
        }
        return nil
    }

    /// Pushes the values a waiting coroutine is resumed with (`push` returns their count),
    /// unless they would take the VM past its budget: then the coroutine is resumed so that
    /// the waiting function raises "not enough memory" at the script's line. `expected`:
    /// bytes known to be needed (a body), checked before anything is pushed.
    func pushResults(_ co: OpaquePointer, expected: Int = 0, _ push: (OpaquePointer) -> Int32) -> Int32 {
        let base = lua_gettop(co)
        let refusals = account.pointee.refusals
        if expected > 0, expected > bridge.remainingBudget, !(bridge.fitsBudget(co) && expected <= bridge.remainingBudget) {
            return pushMemoryError(co)
        }
        let n = push(co)
        guard account.pointee.refusals == refusals, bridge.fitsBudget(co) else {
            lua_settop(co, base)
            return pushMemoryError(co)
        }
        return n
    }

    private func pushMemoryError(_ co: OpaquePointer) -> Int32 {
        bridge.noteRefusal()
        Lua.pushString(co, "not enough memory")
        shim_push_raise_marker(co)
        return 2
    }

    /// After host code pushed a callback's arguments: false (and the violation reported)
    /// when they took the VM past its budget or were refused; the callback then does not run.
    func argumentsFit(_ co: OpaquePointer, refusalsBefore: Int32, _ what: @autoclosure () -> String) -> Bool {
        if account.pointee.refusals == refusalsBefore, bridge.fitsBudget(co) { return true }
        bridge.noteRefusal()
        reportMemoryViolation(at: nil, "not enough memory for \(what()); that callback did not run")
        return false
    }
}

/// Lua calls this on an error outside any protected call, just before it aborts the
/// process: only a failed malloc can get here (host code never raises). Says so clearly.
private let panicFunction: lua_CFunction = { L in
    let L = L!
    var len = 0
    let message = lua_tolstring(L, -1, &len).map { String(cString: $0) } ?? "(error object is not a string)"
    var who = "a script"
    if let host = shim_get_host(L) {
        let script = Unmanaged<LuaScript>.fromOpaque(host).takeUnretainedValue()
        who = "\(script.options.path)#\(script.options.instance)"
    }
    ScriptLogger.writeStderr("rtlua: unprotected Lua error in \(who), the process ends: \(message)\n")
    return 0
}
