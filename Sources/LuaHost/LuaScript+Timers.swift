import Clocks
import CLua
import NIOCore

/// A timer, repeating timer or cron schedule of a script; holds its callback's registry ref.
final class ScriptTimer {
    enum Kind {
        case once
        case every(Double)
        case cron(CronSchedule)
    }
    let kind: Kind
    let ref: Int32
    var task: ClockTask?

    init(kind: Kind, ref: Int32) {
        self.kind = kind
        self.ref = ref
    }
}

/// `sleep`, `timer.after`, `timer.every`, `schedule` and the handles' `:cancel()`, all on
/// the script's clock (Clocks module: real under `run`, virtual under `test`).
extension LuaScript {
    var clock: EventClock { options.clock }

    static let handleMeta = "rtlua.handle"

    func installTimerGlobals() {
        luaL_newmetatable(L, Self.handleMeta)
        Lua.pushString(L, "timer")
        lua_setfield(L, -2, "__name")
        lua_createtable(L, 0, 1)
        Lua.setFunction(L, -1, "cancel", cancelHandle)
        lua_setfield(L, -2, "__index")
        Lua.pop(L)

        lua_createtable(L, 0, 2)
        Lua.setFunction(L, -1, "after", timerAfter)
        Lua.setFunction(L, -1, "every", timerEvery)
        lua_setglobal(L, "timer")
        Lua.pushFunction(L, sleepFunction)
        lua_setglobal(L, "sleep")
        Lua.pushFunction(L, scheduleFunction)
        lua_setglobal(L, "schedule")
    }

    /// Adds a timer for the function at stack index `fn` of `co`, pushes its handle.
    /// `firstDue` is an epoch time on the script's clock.
    func addTimer(_ co: OpaquePointer, kind: ScriptTimer.Kind, fn: Int32, firstDue: Double?) {
        lua_pushvalue(co, fn)
        let timer = ScriptTimer(kind: kind, ref: luaL_ref(co, shim_LUA_REGISTRYINDEX()))
        let id = newHandleID()
        timers[id] = timer
        if let firstDue { arm(id, timer, at: firstDue) }
        let handle = lua_newuserdatauv(co, MemoryLayout<Int>.size, 0)!
        handle.storeBytes(of: id, as: Int.self)
        luaL_setmetatable(co, Self.handleMeta)
    }

    private func arm(_ id: Int, _ timer: ScriptTimer, at due: Double) {
        timer.task = clock.schedule(at: due, on: eventLoop) { [self] in fire(id, due) }
    }

    private func fire(_ id: Int, _ due: Double) {
        guard !isEnded, let timer = timers[id] else { return }
        var last = false
        switch timer.kind {
        case .once:
            last = true
        case .every(let interval):
            // From the due time, not from now: no drift; but never in the past after a stall.
            arm(id, timer, at: max(due + interval, clock.now()))
        case .cron(let cron):
            if let next = cron.nextFire(after: due) {
                arm(id, timer, at: next)
            } else {
                last = true
            }
        }
        if last { timers[id] = nil }
        spawn { [self] co in
            // A repeating timer cancelled while this run waited its turn does not run.
            guard last || timers[id] != nil else { return nil }
            lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), lua_Integer(timer.ref))
            if last { luaL_unref(co, shim_LUA_REGISTRYINDEX(), timer.ref) }
            return 0
        }
    }

    func cancelTimer(_ id: Int) {
        guard let timer = timers.removeValue(forKey: id) else { return }
        timer.task?.cancel()
        luaL_unref(L, shim_LUA_REGISTRYINDEX(), timer.ref)
    }
}

private let sleepFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let seconds = try Lua.checkSeconds(L, 1)
        let host = LuaScript.host(L)
        try host.suspend(L, "sleep")
        let thread = LuaThread(state: L)
        _ = host.clock.schedule(in: seconds, on: host.eventLoop) { host.wake(thread.state) { _ in 0 } }
        return LuaReturn.yield
    }
}

private let timerAfter: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let seconds = try Lua.checkSeconds(L, 1)
        try Lua.checkFunction(L, 2)
        let host = LuaScript.host(L)
        host.addTimer(L, kind: .once, fn: 2, firstDue: host.clock.now() + seconds)
        return 1
    }
}

private let timerEvery: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let seconds = try Lua.checkSeconds(L, 1)
        guard seconds > 0 else { throw LuaRaise.argument(1, "positive number of seconds expected") }
        try Lua.checkFunction(L, 2)
        let host = LuaScript.host(L)
        host.addTimer(L, kind: .every(seconds), fn: 2, firstDue: host.clock.now() + seconds)
        return 1
    }
}

private let scheduleFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let spec = try Lua.checkString(L, 1)
        try Lua.checkFunction(L, 2)
        let cron: CronSchedule
        do throws(CronScheduleError) {
            cron = try CronSchedule(spec)
        } catch {
            // A zone name is not a spec's syntax: say it plainly, at the caller's line.
            if error.kind == .unknownTimeZone { throw LuaRaise.message("schedule: \(error)") }
            throw LuaRaise.argument(1, "\(error)")
        }
        let host = LuaScript.host(L)
        let first = cron.nextFire(after: host.clock.now())
        host.addTimer(L, kind: .cron(cron), fn: 2, firstDue: first)
        if first == nil {
            // A schedule that never fires holds nothing alive.
            if let p = luaL_testudata(L, -1, LuaScript.handleMeta) { host.cancelTimer(p.load(as: Int.self)) }
        }
        return 1
    }
}

private let cancelHandle: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        guard let p = luaL_testudata(L, 1, LuaScript.handleMeta) else {
            throw Lua.typeError(L, 1, "timer")
        }
        LuaScript.host(L).cancelTimer(p.load(as: Int.self))
        return 0
    }
}
