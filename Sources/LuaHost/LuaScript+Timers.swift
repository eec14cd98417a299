import CLua
import NIOCore

/// A timer, repeating timer or cron schedule of a script; holds its callback's registry ref.
final class ScriptTimer {
    enum Kind {
        case once
        case every(TimeAmount)
        case cron(CronSchedule)
    }
    let kind: Kind
    let ref: Int32
    var task: Scheduled<Void>?

    init(kind: Kind, ref: Int32) {
        self.kind = kind
        self.ref = ref
    }
}

extension TimeAmount {
    /// Seconds as a TimeAmount, saturating far beyond any sensible delay.
    static func fromSeconds(_ s: Double) -> TimeAmount {
        .nanoseconds(s >= 9e9 ? Int64(9e18) : Int64(s * 1e9))
    }
}

/// `sleep`, `timer.after`, `timer.every`, `schedule` and the handles' `:cancel()`.
extension LuaScript {
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
    func addTimer(_ co: OpaquePointer, kind: ScriptTimer.Kind, fn: Int32, firstDeadline: NIODeadline?) {
        lua_pushvalue(co, fn)
        let timer = ScriptTimer(kind: kind, ref: luaL_ref(co, shim_LUA_REGISTRYINDEX()))
        let id = newHandleID()
        timers[id] = timer
        if let firstDeadline { arm(id, timer, at: firstDeadline) }
        let handle = lua_newuserdatauv(co, MemoryLayout<Int>.size, 0)!
        handle.storeBytes(of: id, as: Int.self)
        luaL_setmetatable(co, Self.handleMeta)
    }

    private func arm(_ id: Int, _ timer: ScriptTimer, at deadline: NIODeadline) {
        timer.task = eventLoop.scheduleTask(deadline: deadline) { [self] in fire(id, deadline) }
    }

    private func fire(_ id: Int, _ deadline: NIODeadline) {
        guard !isEnded, let timer = timers[id] else { return }
        var last = false
        switch timer.kind {
        case .once:
            last = true
        case .every(let interval):
            let next = deadline + interval
            arm(id, timer, at: max(next, .now()))
        case .cron(let cron):
            let firedAt = Self.epoch(of: deadline)
            if let next = cron.nextFire(after: firedAt) {
                arm(id, timer, at: Self.deadline(forEpoch: next))
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

    static func epoch(of deadline: NIODeadline) -> Double {
        ScriptLogger.now() + Double((deadline - .now()).nanoseconds) / 1e9
    }

    static func deadline(forEpoch epoch: Double) -> NIODeadline {
        .now() + .fromSeconds(max(0, epoch - ScriptLogger.now()))
    }
}

private let sleepFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let seconds = try Lua.checkSeconds(L, 1)
        let host = LuaScript.host(L)
        try host.suspend(L, "sleep")
        let thread = LuaThread(state: L)
        host.eventLoop.scheduleTask(in: .fromSeconds(seconds)) { host.wake(thread.state) { _ in 0 } }
        return LuaReturn.yield
    }
}

private let timerAfter: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let seconds = try Lua.checkSeconds(L, 1)
        try Lua.checkFunction(L, 2)
        LuaScript.host(L).addTimer(L, kind: .once, fn: 2, firstDeadline: .now() + .fromSeconds(seconds))
        return 1
    }
}

private let timerEvery: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let seconds = try Lua.checkSeconds(L, 1)
        guard seconds > 0 else { throw LuaRaise.argument(1, "positive number of seconds expected") }
        try Lua.checkFunction(L, 2)
        let interval = TimeAmount.fromSeconds(seconds)
        LuaScript.host(L).addTimer(L, kind: .every(interval), fn: 2, firstDeadline: .now() + interval)
        return 1
    }
}

private let scheduleFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let spec = try Lua.checkString(L, 1)
        try Lua.checkFunction(L, 2)
        let cron: CronSchedule
        do {
            cron = try CronSchedule(spec)
        } catch {
            throw LuaRaise.argument(1, "\(error)")
        }
        let first = cron.nextFire(after: ScriptLogger.now()).map(LuaScript.deadline(forEpoch:))
        let host = LuaScript.host(L)
        host.addTimer(L, kind: .cron(cron), fn: 2, firstDeadline: first)
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
