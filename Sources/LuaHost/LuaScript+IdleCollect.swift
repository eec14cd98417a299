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
    /// the next script of `--instances N` rather than kept by each (about 3 KiB).
    func installIdleCollect() {
        lua_getglobal(L, "collectgarbage")
        collectRef = luaL_ref(L, shim_LUA_REGISTRYINDEX())
        collectGarbage()
    }

    /// Called after every resume. One task per script at most: when it fires after
    /// something else ran, it waits another period instead of collecting.
    func noteActivity() {
        resumes &+= 1
        if idleCollectTask == nil { armIdleCollect() }
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
