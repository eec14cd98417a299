import CLua
import NIOCore

/// Full Lua collections beyond the incremental collector's. That one only starts a cycle
/// when the heap has doubled since the last, so a script that goes quiet would keep the
/// garbage of its set-up and its last callbacks (finished coroutines with their stacks,
/// event tables) for good: an idle bot's heap was 36-40 KiB, 32.7 KiB of it live. A full
/// collection of such a heap takes about 5 us. A busy script's collector paces itself as
/// usual; the early collections below only add to it when garbage is piling up.
extension LuaScript {
    /// Keeps the VM's own `collectgarbage`, so a script that replaces the global changes nothing.
    /// Also collects what setting up the globals left behind, so that memory is reused by
    /// the next script of `--instances N` rather than kept by each (about 3 KiB); the same
    /// is done when the main chunk has run (LuaScript.resume): the parser's leftovers and
    /// the main coroutine with its stack (about 2 KiB).
    func installIdleCollect() {
        lua_pushcclosure(L, Self.baseLibrary.functions["collectgarbage"]!, 0)
        collectRef = luaL_ref(L, shim_LUA_REGISTRYINDEX())
        collectExtra()
    }

    /// A full collection unless `idleCollectDelay` is nil (the incremental collector alone).
    func collectExtra() {
        if options.idleCollectDelay != nil { collectGarbage() }
    }

    /// Called after every resume. One task per script at most: when it fires after
    /// something else ran, it waits another period instead of collecting.
    func noteActivity() {
        resumes &+= 1
        if resumes &- resumesAtCollect >= Self.earlyCollectResumes { collectEarly() }
        if idleCollectTask == nil { armIdleCollect() }
    }

    /// Every callback leaves a finished coroutine (its stack alone is 720 bytes) and its
    /// arguments behind. Bots starting together get their presence events together, so the
    /// garbage of thousands of them peaks at once and later leaves holes malloc cannot give
    /// back. So every few callbacks the garbage is looked at, and collected when it is a
    /// quarter of the live heap, at most every 10 ms: for a small heap that is less work than
    /// the incremental collector does anyway, and a large one needs much more garbage.
    static let earlyCollectResumes = 4
    static let earlyCollectInterval = TimeAmount.milliseconds(10)

    private func collectEarly() {
        resumesAtCollect = resumes
        let now = NIODeadline.now()
        guard running == nil, !isEnded, options.idleCollectDelay != nil, now - collectedAt >= Self.earlyCollectInterval
        else { return }
        // Checked here rather than on every resume: reading the heap size is a Lua call.
        if heapKiB() > collectedHeapKiB * 1.25 { collectGarbage() }
    }

    /// After `idleCollectDelay` of quiet, a collection if the garbage is a quarter of the
    /// live heap; with less, one more after four times as long, if there is at least 1 KiB.
    /// So a script that stays quiet ends up with no garbage at all, and one that wakes up
    /// every second or so is collected at most about once a second.
    private func armIdleCollect(long: Bool = false) {
        guard !isEnded, let delay = options.idleCollectDelay else { return }
        let seen = resumes
        idleCollectTask = eventLoop.scheduleTask(in: long ? delay * 4 : delay) { [weak self] in self?.idleCollectDue(seen, long: long) }
    }

    private func idleCollectDue(_ seen: Int, long: Bool) {
        idleCollectTask = nil
        guard !isEnded else { return }
        let garbage = resumes == seen && running == nil ? heapKiB() - collectedHeapKiB : 0
        if resumes != seen || running != nil {
            armIdleCollect()
        } else if garbage > collectedHeapKiB * 0.25 || (long && garbage >= 1) {
            collectGarbage()
        } else if !long && garbage >= 1 {
            armIdleCollect(long: true)
        }
    }

    /// A full collection, unless the script stopped the collector (`collectgarbage("stop")`).
    /// Finalizers may run here; an `exit()` in one ends the script as it would in a callback.
    func collectGarbage() {
        let top = lua_gettop(L)
        let isRunning = callCollect("isrunning") && lua_toboolean(L, -1) != 0
        lua_settop(L, top)
        guard isRunning else { return }
        fullCollections += 1
        _ = callCollect("collect")
        lua_settop(L, top)
        if let code = exitCode {
            end(.exited(code))
        } else {
            collectedHeapKiB = heapKiB()
            collectedAt = .now()
            resumesAtCollect = resumes
        }
    }

    /// The VM's heap in KiB, as `collectgarbage("count")` gives it.
    func heapKiB() -> Double {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard callCollect("count") else { return 0 }
        return lua_tonumberx(L, -1, nil)
    }

    /// The VM's own `collectgarbage(option)`, its one result (or the error) left on the
    /// stack; false when it raised.
    private func callCollect(_ option: String) -> Bool {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), lua_Integer(collectRef))
        Lua.pushString(L, option)
        return shim_lua_pcall_budgeted(L, 1, 1, 0) == LUA_OK
    }
}
