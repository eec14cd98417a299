import CLua
import NIOCore
import Realtime

/// What became of a reload (`LuaScript.reload(with:version:)`).
public enum ReloadOutcome: Sendable {
    /// The new version runs in place of the old one (or ran and has ended already), in the
    /// old one's connections; the old one has ended.
    case replaced(LuaScript)
    /// The new version did not load, or its main chunk raised an error: the old one goes on.
    case kept
    /// The old version had ended before the reload could start.
    case notRunning
}

/// Hot reload under `--watch` (docs/lua-api.md, "Reloading a running script").
///
/// The new version runs in a new VM that adopts the old VM's realtime managers, rather than
/// in the old VM with fresh globals: a new VM makes "everything else is fresh" true without a
/// list of things to reset (globals, `package.loaded`, metatables, the string library, host
/// refs), a failed version is thrown away whole, and the old VM's handlers, timers, sleeping
/// coroutines and HTTP waits go with it when it is closed. What crosses over is explicit: the
/// managers (the Swift connection objects, so the socket, its channels, member data and
/// socket id stay) and a copy of the plain data in `state`.
extension LuaScript {
    /// Runs the file's current text as version `version` of this script, in this script's
    /// connections. The new VM loads the file and runs its main chunk until it ends or first
    /// waits; if it loads and does not raise, it takes over: this script ends (its handlers,
    /// timers and waits with it, its connections handed over rather than closed), and the new
    /// one's `on_reload(old)` is called. Otherwise the new VM is dropped and this one goes on.
    public func reload(with options: ScriptOptions, version: Int) -> EventLoopFuture<ReloadOutcome> {
        let promise = eventLoop.makePromise(of: ReloadOutcome.self)
        eventLoop.execute { [self] in prepareReload(options, version: version, promise) }
        return promise.futureResult
    }

    /// First loop turn: the new VM, its adopted connections, the compiled file. Second turn:
    /// `state`, the main chunk, and the new version takes over or is dropped.
    private func prepareReload(_ options: ScriptOptions, version: Int, _ promise: EventLoopPromise<ReloadOutcome>) {
        guard !isEnded else { return promise.succeed(.notRunning) }
        let began = NIODeadline.now()
        let next = LuaScript(options: options, eventLoop: eventLoop)
        let carry = ReloadCarry(self)
        next.reloadCarry = carry
        carry.adoptDefault(into: next)

        let main = LuaThread(state: lua_newthread(next.L)!)
        next.coroutines[main.state] = luaL_ref(next.L, shim_LUA_REGISTRYINDEX())
        if luaL_loadfilex(main.state, options.path, "t") != LUA_OK {
            logger.scriptError(Lua.errorText(main.state, -1))
            return keep(next, version: version, promise)
        }
        // The main chunk runs on a later turn, as a first start's does: by then the new VM is
        // on the CPU watchdog's list, so a main chunk that never ends is ended by the limit.
        eventLoop.execute { [self] in
            guard !isEnded else {
                next.end(.stopped)
                return promise.succeed(.notRunning)
            }
            // `state` starts as a copy of the old version's, taken now that the old one runs
            // no more; `on_reload(old)` gets another copy, as it was, whatever the main chunk
            // does to `state`.
            let notCarried = StateTransfer.copyGlobal("state", from: self, to: next).notCarried
            next.setRawGlobal("state")
            _ = StateTransfer.copyGlobal("state", from: self, to: next)
            let stateRef = luaL_ref(next.L, shim_LUA_REGISTRYINDEX())
            guard next.bridge.fitsBudget(next.L) else {
                logger.log(.error, "\(options.path): state does not fit within the memory limit of the new version")
                return keep(next, version: version, promise)
            }
            next.mainThread = main.state
            // Not ended for having nothing left to run before `on_reload` had its turn.
            next.keepAlive = true
            next.resume(main.state, 0)
            settle(PendingReload(next: next, main: main, carry: carry, version: version, began: began,
                                 notCarried: notCarried, stateRef: stateRef, promise: promise))
        }
    }

    /// A reload whose new main chunk has started.
    private struct PendingReload {
        let next: LuaScript
        let main: LuaThread
        let carry: ReloadCarry
        let version: Int
        let began: NIODeadline
        let notCarried: [String]
        let stateRef: Int32
        let promise: EventLoopPromise<ReloadOutcome>
    }

    /// Takes the new version or drops it, once its main chunk has ended, raised or first
    /// waited. A main chunk the CPU guard preempted is still running: it is looked at again
    /// after its next slice, the old version serving meanwhile.
    private func settle(_ r: PendingReload) {
        let next = r.next
        if next.preempted == r.main.state, !next.isEnded {
            guard !isEnded else {
                next.end(.stopped)
                return r.promise.succeed(.notRunning)
            }
            LoopTurn.of(eventLoop).later { [self] in settle(r) }
            return
        }
        next.keepAlive = false
        // resume() has logged an error with its traceback.
        if next.endedAs == .failed { return keep(next, version: r.version, r.promise) }
        if !next.isEnded { r.carry.handOver() }
        next.reloadCarry = nil
        let ms = (NIODeadline.now() - r.began).nanoseconds / 1_000_000
        next.logger.log(.info, "reloaded \(next.options.path) (v\(r.version)) in \(ms) ms")
        if !r.notCarried.isEmpty {
            next.logger.log(.warn, "state of v\(r.version - 1) not carried over: \(r.notCarried.joined(separator: ", "))")
        }
        // The runner learns of the new version before it hears of the old one's end.
        r.promise.succeed(.replaced(next))
        end(.stopped)
        next.callOnReload(r.stateRef)
        next.checkIdle()
    }

    private func keep(_ next: LuaScript, version: Int, _ promise: EventLoopPromise<ReloadOutcome>) {
        logger.log(.warn, "reload of \(next.options.path) failed: v\(version - 1) keeps running")
        next.end(.failed)
        promise.succeed(.kept)
    }

    /// `state = {}` in a new VM (a reload then sets it to the carried copy).
    func installState() {
        pushRawGlobal("state")
        let missing = lua_type(L, -1) == LUA_TNIL
        Lua.pop(L)
        if missing {
            lua_createtable(L, 0, 0)
            setRawGlobal("state")
        }
    }

    /// Calls the new version's global `on_reload(old)` (when it defines one) with the state
    /// carried from the old version, held by `ref`, as a callback.
    private func callOnReload(_ ref: Int32) {
        guard !isEnded else { return }
        spawn { [self] co in
            lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
            Lua.rawField(co, -1, "on_reload")
            shim_lua_remove(co, -2)
            guard lua_type(co, -1) == LUA_TFUNCTION else {
                lua_settop(co, 0)
                luaL_unref(L, shim_LUA_REGISTRYINDEX(), ref)
                return nil
            }
            lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), lua_Integer(ref))
            luaL_unref(L, shim_LUA_REGISTRYINDEX(), ref)
            return 1
        }
    }

    /// Pushes the global `name` without metamethods (a strict-mode `_G` must not raise here).
    func pushRawGlobal(_ name: String) {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
        Lua.rawField(L, -1, name)
        shim_lua_remove(L, -2)
    }

    /// Pops the top value into the global `name` without metamethods.
    func setRawGlobal(_ name: String) {
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), shim_LUA_RIDX_GLOBALS())
        Lua.pushString(L, name)
        lua_pushvalue(L, -3)
        lua_rawset(L, -3)
        Lua.pop(L, 2)
    }
}

/// The old version's open realtime managers, offered to the new version of a script: the
/// default `realtime` one, and each `realtime.connect{…}` one to the new version's first
/// `realtime.connect` with the same options while its main chunk first runs. Those not taken
/// are closed with the old version.
final class ReloadCarry: @unchecked Sendable {  // confined to the script's event loop
    private var offered: [ManagerBinding]
    private var adopted: [(old: ManagerBinding, new: ManagerBinding)] = []

    init(_ old: LuaScript) {
        offered = old.managers.sorted { $0.key < $1.key }.map(\.value).filter { ($0.manager?.isOpen ?? false) && !$0.closing }
    }

    /// Puts the old default manager behind the new VM's `realtime` global (made, unopened,
    /// with the VM).
    func adoptDefault(into host: LuaScript) {
        guard let i = offered.firstIndex(where: { $0.name == ManagerBinding.defaultName }) else { return }
        // `realtime` is made when first touched (LuaScript+LazyGlobals.swift): made now, so that
        // the new version's default manager is the old one's connection.
        host.makeLazyGlobal(named: "realtime")
        guard let (id, _) = host.managers.first(where: { $0.value.name == ManagerBinding.defaultName && $0.value.manager == nil })
        else { return }
        host.managers[id] = take(i, into: host)
    }

    /// The old manager for a `realtime.connect{…}` with `config`, if there is one.
    func adopt(_ config: RealtimeConfig, into host: LuaScript) -> ManagerBinding? {
        guard let i = offered.firstIndex(where: { $0.name != ManagerBinding.defaultName && Self.sameConnection($0.config, config) }) else {
            return nil
        }
        return take(i, into: host)
    }

    private func take(_ i: Int, into host: LuaScript) -> ManagerBinding {
        let old = offered.remove(at: i)
        let b = ManagerBinding(config: old.config, name: old.name, unconfiguredReason: old.unconfiguredReason)
        b.manager = old.manager
        b.unreachable = old.unreachable
        // Until the new version takes over, the connection is still the old one's.
        b.handedOver = true
        if let m = old.manager { b.watchLife(m, host) }
        adopted.append((old, b))
        return b
    }

    /// The new version takes over: at the old one's end its adopted connections are
    /// detached from it, not closed; the new one closes them at its own end.
    func handOver() {
        for (old, new) in adopted {
            old.handedOver = true
            new.handedOver = false
        }
    }

    static func sameConnection(_ a: RealtimeConfig?, _ b: RealtimeConfig) -> Bool {
        guard let a else { return false }
        return a.baseURL == b.baseURL && a.realtimeURL == b.realtimeURL && a.clientKey == b.clientKey
            && a.session == b.session && a.options == b.options
    }
}

extension ManagerBinding {
    static let defaultName = "realtime"

    /// Takes this binding's listeners (and its own life watchers) off the manager without
    /// closing it: another version of the script goes on with the connection.
    func detach() {
        guard let manager else { return }
        for l in listeners.values { manager.removeListener(token: l.token) }
        for token in lifeTokens { manager.removeListener(token: token) }
        listeners = [:]
        lifeTokens = []
    }
}
