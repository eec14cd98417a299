import CLua
import NIOCore

/// A full Lua collection once a script has run nothing for a while. Lua's incremental
/// collector only starts a cycle when the heap has doubled since the last one, so a script
/// that goes quiet would otherwise keep the garbage of its start-up and its last callbacks
/// (finished coroutines with their stacks, event tables) for good: about 6 KiB per idle bot,
/// 15 % of its memory. A busy script never waits long enough for this; its collector paces
/// itself as usual.
extension LuaScript {
    /// Keeps the VM's own `collectgarbage`, so a script that replaces the global changes nothing.
    /// Also collects what setting up the globals left behind, so that memory is reused by
    /// the next script of `--instances N` rather than kept by each (about 3 KiB); the same
    /// is done when the main chunk has run (LuaScript.resume): the parser's leftovers and
    /// the main coroutine with its stack (about 2 KiB).
    func installIdleCollect() {
        lua_getglobal(L, "collectgarbage")
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

    private func armIdleCollect() {
        guard !isEnded, let delay = options.idleCollectDelay else { return }
        let seen = resumes
        idleCollectTask = eventLoop.scheduleTask(in: delay) { [weak self] in self?.idleCollectDue(seen) }
    }

    private func idleCollectDue(_ seen: Int) {
        idleCollectTask = nil
        guard !isEnded else { return }
        if resumes != seen || running != nil {
            armIdleCollect()
        } else if heapKiB() > collectedHeapKiB * 1.25 {
            // Collecting less garbage than a quarter of the live heap is not worth the work
            // (a full collection costs in proportion to what is live).
            collectGarbage()
        }
    }

    /// A full collection, unless the script stopped the collector (`collectgarbage("stop")`).
    /// Finalizers may run here; an `exit()` in one ends the script as it would in a callback.
    func collectGarbage() {
        let top = lua_gettop(L)
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), lua_Integer(collectRef))
        Lua.pushString(L, "isrunning")
        let isRunning = lua_pcallk(L, 1, 1, 0, 0, nil) == LUA_OK && lua_toboolean(L, -1) != 0
        lua_settop(L, top)
        guard isRunning else { return }
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), lua_Integer(collectRef))
        Lua.pushString(L, "collect")
        fullCollections += 1
        _ = lua_pcallk(L, 1, 0, 0, 0, nil)
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
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), lua_Integer(collectRef))
        Lua.pushString(L, "count")
        guard lua_pcallk(L, 1, 1, 0, 0, nil) == LUA_OK else { return 0 }
        return lua_tonumberx(L, -1, nil)
    }
}
