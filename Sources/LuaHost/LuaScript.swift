import Clocks
import CLua
import NIOCore
import RTJSON

/// One running copy of a script: its own Lua VM, confined to one event loop. The main chunk
/// and every callback run as coroutines, one at a time; functions that wait (`sleep`, HTTP,
/// `getMembers`) yield their coroutine, and the loop resumes it when the result is there.
///
/// Confined to `eventLoop`: every member is used on it only, hence `@unchecked Sendable`.
public final class LuaScript: @unchecked Sendable {
    public let eventLoop: EventLoop
    public let options: ScriptOptions
    let L: OpaquePointer
    /// The VM's allocator block (LuaArena.swift): its small objects and its memory account.
    let arena: UnsafeMutableRawPointer
    let bridge: LuaValueBridge
    let logger: ScriptLogger
    private let endPromise: EventLoopPromise<ScriptEnd>

    /// Completes (on `eventLoop`) when the script has ended and its VM is closed.
    public var ended: EventLoopFuture<ScriptEnd> { endPromise.futureResult }
    public private(set) var isEnded = false
    /// How the script ended, once it has.
    var endedAs: ScriptEnd?
    /// The previous version's connections, while this VM is a reload's new version
    /// (LuaScript+Reload.swift): `realtime.connect` takes its manager from there when it matches.
    var reloadCarry: ReloadCarry?
    /// A REPL keeps the script alive while it has nothing to run.
    var keepAlive = false

    /// Coroutines the host started, each with the registry ref that keeps it alive; the
    /// idle ones below stay in here, so a callback adds and removes no entry.
    var coroutines: [OpaquePointer: Int32] = [:]
    /// Finished coroutines kept for the next callback, so a callback does not cost a new
    /// thread. Only ones whose last resume returned LUA_OK.
    var idleCoroutines: [OpaquePointer] = []
    static let idleCoroutineLimit = 16
    /// Coroutines paused by a waiting function, to be resumed from the loop.
    var waiting: Set<OpaquePointer> = []
    /// Those of them (and maybe some finished since) that wait for real I/O rather than for
    /// the clock: a virtual clock lets such a wait finish before it moves on (VirtualClock).
    var ioWaits: Set<OpaquePointer> = []
    /// The main chunk's coroutine while it has not finished.
    var mainThread: OpaquePointer?
    /// The coroutine being resumed right now, if any.
    var running: OpaquePointer?
    /// A callback the guard made yield, to be resumed on a later loop turn; until then the
    /// script is busy as if it ran (LuaScript+Guard.swift).
    var preempted: OpaquePointer?
    /// Lua runs now or has a preempted callback: other callbacks of this script wait.
    var busy: Bool { running != nil || preempted != nil }
    /// The guard's state (Sources/CLua/guard.h), freed with the script.
    let guardState: UnsafeMutableRawPointer
    /// On the watchdog's list (from its first loop turn until it ends).
    var watched = false
    /// CPU time of the callbacks that are waiting or preempted after running long (only
    /// those: a short callback has no entry).
    var cpuUsed: [OpaquePointer: Int64] = [:]
    /// Preemptions and CPU-budget violations so far.
    public internal(set) var guardCounters = GuardCounters()
    var preemptionsInWindow = 0
    var preemptionWindowStart = NIODeadline.uptimeNanoseconds(0)
    var stormReportedAt = NIODeadline.uptimeNanoseconds(0)
    /// Work that arrived while Lua was running (one callback at a time).
    var queued: [() -> Void] = []
    /// Timers and schedules by handle id.
    var timers: [Int: ScriptTimer] = [:]
    var nextHandleID = 1
    /// Called when a given coroutine is done (the REPL waits for its line this way).
    var completions: [OpaquePointer: () -> Void] = [:]
    /// Realtime managers the script reaches (the default one and `realtime.connect` ones).
    var managers: [Int: ManagerBinding] = [:]
    /// Identity of the managers' metatable (set when the realtime globals are installed).
    var managerMetaPointer: UnsafeRawPointer?
    /// The last message's JSON text buffer, reused by the next (`message(_:_:root:)`).
    var messageText: [UInt8] = []
    static let keptMessageCapacity = 1 << 16
    /// The last channel and event names sent with (`checkName`).
    var channelName = NameCache()
    var eventName = NameCache()
    /// Set by `exit(code)`; the script ends when the current resume returns.
    var exitCode: Int32?
    /// The checks whose raising predicate has been logged (`check`), at most `checkErrorNames`.
    var checkErrorsReported: Set<String> = []
    static let checkErrorNames = 100
    /// The idle and early collections (LuaScript+IdleCollect.swift): resumes so far, the
    /// pending idle check, the VM's own `collectgarbage`, how many collections it made, and
    /// the heap, time and resume count at the last one.
    var resumes = 0
    var idleCollectTask: Scheduled<Void>?
    var collectRef: Int32 = 0
    var fullCollections = 0
    var collectedHeapKiB = 0.0
    var collectedAt = NIODeadline.uptimeNanoseconds(0)
    var resumesAtCollect = 0
    /// Memory errors reported for this script (LuaScript+Memory.swift).
    public internal(set) var memoryViolations = 0

    public init(options: ScriptOptions, eventLoop: EventLoop) {
        self.options = options
        self.eventLoop = eventLoop
        let L = luaL_newstate()!
        self.L = L
        guard let arena = LuaArena.make() else { fatalError("rtlua: out of memory for a script VM") }
        self.arena = arena
        Self.installAllocator(L, arena)
        // _G, getmetatable and setmetatable only: the other globals are made when first
        // touched (LuaScript+LazyGlobals.swift).
        Self.installBase(L)
        self.bridge = LuaValueBridge.install(in: L)
        self.logger = ScriptLogger(script: options.path, instance: options.instance, settings: options.log, output: options.output)
        self.endPromise = eventLoop.makePromise(of: ScriptEnd.self)
        self.guardState = shim_guard_new()!
        shim_set_host(L, Unmanaged.passUnretained(self).toOpaque())
        installGuard()
        installGlobals()
        installState()
        installIdleCollect()
        LuaArena.finishSetUp(arena)
        applyMemoryLimit()
    }

    deinit {
        // A script dropped without ending is still on the watchdog's list.
        if watched { LuaWatchdog.shared.remove(guardState) }
        shim_guard_free(guardState)
    }

    /// The script whose VM `L` (or one of its threads) belongs to.
    static func host(_ L: OpaquePointer) -> LuaScript {
        Unmanaged<LuaScript>.fromOpaque(shim_get_host(L)!).takeUnretainedValue()
    }

    /// Loads the file and runs its main chunk (on the loop). A load error ends the script
    /// with `.failed` after printing `file:line: message`.
    public func start() {
        eventLoop.execute { [self] in
            guard !isEnded else { return }
            let co = lua_newthread(L)!
            coroutines[co] = luaL_ref(L, shim_LUA_REGISTRYINDEX())
            if luaL_loadfilex(co, options.path, "t") != LUA_OK {
                logger.scriptError(Lua.errorText(co, -1))
                end(.failed)
                return
            }
            mainThread = co
            resume(co, 0)
        }
    }

    /// Ends the script from outside (signal, reload): flushes and closes its connections.
    /// Callable from any thread; a callback that runs on is ended (`requestStop`), and a
    /// preempted one is abandoned.
    public func stop() {
        requestStop()
        eventLoop.execute { [self] in
            if running != nil { queued.append { [self] in end(.stopped) } } else { end(.stopped) }
        }
    }

    // MARK: coroutines

    /// Runs a callback in a new coroutine. `prepare` pushes the function and its arguments
    /// onto the coroutine and returns the argument count, or nil when there is nothing to
    /// run any more. A callback arriving while Lua runs waits its turn.
    func spawn(_ prepare: @escaping (OpaquePointer) -> Int32?, onDone: (() -> Void)? = nil) {
        eventLoop.preconditionInEventLoop()
        guard !isEnded else {
            onDone?()
            return
        }
        if busy {
            queued.append { [self] in spawn(prepare, onDone: onDone) }
            return
        }
        let co: OpaquePointer
        if let idle = idleCoroutines.popLast() {
            co = idle
        } else {
            co = lua_newthread(L)!
            coroutines[co] = luaL_ref(L, shim_LUA_REGISTRYINDEX())
        }
        if let onDone { completions[co] = onDone }
        guard let nargs = prepare(co) else {
            release(co, reusable: true)
            return
        }
        resume(co, nargs)
    }

    /// Marks the running coroutine as waiting; the caller then returns `LuaReturn.yield`.
    func suspend(_ co: OpaquePointer, _ what: String) throws(LuaRaise) {
        guard coroutines[co] != nil, lua_isyieldable(co) != 0 else {
            throw LuaRaise.message("\(what) cannot wait here (only in the main chunk or a callback, not inside a coroutine of the script's own, a metamethod or a check predicate)")
        }
        waiting.insert(co)
        if what == "sleep" || what == "waitFor" { ioWaits.remove(co) } else { ioWaits.insert(co) }
    }

    /// Resumes a waiting coroutine with the values `push` puts on it.
    func wake(_ co: OpaquePointer, _ push: @escaping (OpaquePointer) -> Int32) {
        eventLoop.preconditionInEventLoop()
        guard !isEnded, waiting.contains(co) else { return }
        if busy {
            queued.append { [self] in wake(co, push) }
            return
        }
        waiting.remove(co)
        resume(co, push(co))
    }

    func resume(_ co: OpaquePointer, _ nargs: Int32) {
        running = co
        // A callback that ran long before (preempted, or waiting after a long stretch) goes
        // on with its CPU time so far, counted from the thread's clock now.
        // (The emptiness test first: a lookup in an empty dictionary still hashes the key.)
        if !cpuUsed.isEmpty, let used = cpuUsed.removeValue(forKey: co) {
            shim_guard_enter(guardState, co, used, shim_thread_cpu_ns())
        } else {
            shim_guard_enter(guardState, co, 0, -1)
        }
        var nres: Int32 = 0
        let status = shim_lua_resume_budgeted(co, L, nargs, &nres)
        let asked = shim_guard_leave(guardState, co)
        running = nil
        let isMain = co == mainThread
        // `asked` is 0 unless the resume ran long (LuaScript+Guard.swift).
        if asked != 0 {
            switch guardAfterResume(co, status: status, asked: asked, isMain: isMain) {
            case .none: break
            case .over: return
            case .callbackEnded:
                afterCallback()
                return
            }
        }
        switch status {
        case LUA_OK:
            release(co, reusable: true)
            if isMain {
                mainThread = nil
                collectExtra()
            }
        case LUA_YIELD:
            lua_settop(co, -nres - 1)
            if waiting.contains(co) {
                // A long stretch before this wait counts towards the callback's budget.
                let used = shim_guard_cpu(guardState)
                if used > 0 { cpuUsed[co] = used }
            } else if exitCode == nil {
                logger.scriptError("\(options.path): coroutine.yield() outside a coroutine of the script's own; that callback stops here")
                release(co)
                if isMain { mainThread = nil }
            }
        default:
            if exitCode == nil {
                let message = errorMessage(co, status: status)
                luaL_traceback(L, co, message, 0)
                logger.scriptError(Lua.string(L, -1) ?? message)
                Lua.pop(L)
            }
            release(co)
            if isMain {
                mainThread = nil
                if exitCode == nil {
                    end(.failed)
                    return
                }
            }
        }
        afterCallback()
    }

    /// After a resume: the script's exit, the callbacks that waited their turn, the collections.
    private func afterCallback() {
        if let code = exitCode {
            end(.exited(code))
            return
        }
        while !busy, !isEnded, !queued.isEmpty {
            queued.removeFirst()()
        }
        noteActivity()
        checkIdle()
    }

    /// Forgets a coroutine that is done. One that finished normally (`reusable`) goes back to
    /// the idle pool with an empty stack and no debug hook; others are dropped.
    func release(_ co: OpaquePointer, reusable: Bool = false) {
        // Checked first: a lookup in an empty set or dictionary still hashes the key.
        if !waiting.isEmpty { waiting.remove(co) }
        if !ioWaits.isEmpty { ioWaits.remove(co) }
        if !cpuUsed.isEmpty { cpuUsed.removeValue(forKey: co) }
        assert(coroutines[co] != nil, "release of a coroutine the host did not start")
        if reusable, idleCoroutines.count < Self.idleCoroutineLimit, lua_status(co) == LUA_OK {
            lua_settop(co, 0)
            lua_sethook(co, nil, 0, 0)
            idleCoroutines.append(co)
        } else if let ref = coroutines.removeValue(forKey: co) {
            luaL_unref(L, shim_LUA_REGISTRYINDEX(), ref)
        }
        if !completions.isEmpty { completions.removeValue(forKey: co)?() }
    }

    // MARK: life

    /// Ends the script when nothing is left that could run a callback.
    func checkIdle() {
        guard !isEnded, !keepAlive, !busy, queued.isEmpty, mainThread == nil,
              waiting.isEmpty, timers.isEmpty, !managers.values.contains(where: { $0.keepsScriptAlive })
        else { return }
        end(.finished)
    }

    /// Checks for idleness on a later loop turn (after a manager settled its state).
    func checkIdleSoon() {
        eventLoop.execute { [self] in checkIdle() }
    }

    func end(_ how: ScriptEnd) {
        guard !isEnded else { return }
        isEnded = true
        endedAs = how
        reloadCarry = nil
        if watched {
            LuaWatchdog.shared.remove(guardState)
            watched = false
        }
        preempted = nil
        cpuUsed = [:]
        for timer in timers.values { timer.task?.cancel() }
        timers = [:]
        idleCollectTask?.cancel()
        idleCollectTask = nil
        // After exit(), what the script sent while its connection was still coming up is
        // delivered before the script counts as ended (bounded wait).
        let closed = managers.values.map { $0.shutdown(host: self, waitForConnect: { if case .exited = how { return true }; return false }()) }
        managers = [:]
        queued = []
        waiting = []
        coroutines = [:]
        idleCoroutines = []  // their refs go with the registry in lua_close
        mainThread = nil
        lua_close(L)
        LuaArena.release(arena)
        let pending = completions.values
        completions = [:]
        for done in pending { done() }
        EventLoopFuture.andAllComplete(closed, on: eventLoop).whenComplete { [endPromise] _ in endPromise.succeed(how) }
    }

    func newHandleID() -> Int {
        defer { nextHandleID += 1 }
        return nextHandleID
    }
}
