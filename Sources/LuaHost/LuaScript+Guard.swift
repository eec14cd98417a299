#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLua
import NIOConcurrencyHelpers
import NIOCore

/// Preemption, stop and the CPU budget (docs/limits.md, "Scheduling, preemption and the CPU
/// budget", is the user's view of this).
///
/// The model. Scripts share event loops; on a loop one Lua resume runs at a time. A resume
/// costs nothing extra while it is short: the loop only marks it in the script's guard (a
/// small C struct, Sources/CLua/guard.h). One watchdog thread for the process looks at each
/// event loop's running resume every `tick`; a resume it finds running at two ticks in a row has run at
/// least one tick, and it sets a count hook on that coroutine, which yields it at the next
/// instruction where it can. The loop then resumes it on a later turn, after the I/O and the
/// other scripts' work that waited (LoopTurn.swift says why not `execute`). Until that
/// callback ends its script is busy: callbacks of the same script that arrive meanwhile
/// queue, as they do while it runs, so a script's callbacks still interleave only where it
/// waits itself.
///
/// The CPU budget (`ScriptOptions.cpuLimit`) counts the loop thread's CPU time while it runs
/// one callback (or the main chunk), over all its resumes; time spent waiting (sleep, HTTP,
/// getMembers) or queued behind others is not counted. The time is read from the thread's
/// CPU clock by the watchdog and at the end of long resumes only, so a resume shorter than a
/// tick is not counted, and a callback's first long resume is counted from the first tick
/// that sees it. Over the budget, the callback's coroutine is yielded out (or, where it
/// cannot yield, errors are raised at every instruction until it can) and then abandoned:
/// never resumed, its `pcall`s never see it. A stop (SIGINT/SIGTERM, a reload), asked from
/// any thread, does the same to a callback still running at the watchdog's next look (a
/// short one is left to finish), and then ends the script.
extension LuaScript {
    /// Installs the guard (from init); the loop registers it with the watchdog.
    func installGuard() {
        shim_guard_install(L, guardState)
        eventLoop.execute { [self] in
            guard !isEnded else { return }
            LuaWatchdog.shared.add(guardState, loop: eventLoop, cpuLimitNanoseconds: options.cpuLimit?.nanoseconds ?? 0)
            watched = true
        }
    }

    /// Asks the script to stop, from any thread: the callback it runs now, if any, may finish
    /// if it does within a watchdog tick, and is ended at the next look otherwise; a later one
    /// is ended at its first instruction.
    public func requestStop() {
        shim_guard_stop(guardState)
    }

    /// What the hook asked of a resume that has just returned (`asked` non-zero), dealt with.
    func guardAfterResume(_ co: OpaquePointer, status: Int32, asked: UInt32, isMain: Bool) -> GuardOutcome {
        let yielded = status == LUA_YIELD ? shim_guard_take_yielded(guardState) : 0
        let reason: UInt32
        if yielded != 0 {
            reason = yielded
        } else if status != LUA_OK && status != LUA_YIELD && asked & (SHIM_GUARD_KILL | SHIM_GUARD_STOP) != 0 {
            reason = asked  // the guard's error, raised where it could not yield, reached the top
        } else {
            return .none  // it ended or waited before the hook ran: nothing to do
        }
        if reason & SHIM_GUARD_STOP != 0 {
            dropTrace()
            abandon(co, isMain: isMain)
            end(.stopped)
            return .over
        }
        if reason & SHIM_GUARD_KILL != 0 {
            reportCPULimit(co, isMain: isMain)
            abandon(co, isMain: isMain)
            if isMain {
                end(.failed)
                return .over
            }
            return .callbackEnded
        }
        // Preempted: resumed on the loop's next turn after I/O; the script stays busy till then.
        preempted = co
        cpuUsed[co] = shim_guard_cpu(guardState)
        notePreemption()
        LoopTurn.of(eventLoop).later { [self] in
            guard !isEnded, preempted == co else { return }
            preempted = nil
            resume(co, 0)
        }
        return .over
    }

    /// Forgets a coroutine the guard ended; it is never resumed again.
    private func abandon(_ co: OpaquePointer, isMain: Bool) {
        release(co)
        if isMain { mainThread = nil }
    }

    private func dropTrace() {
        if shim_guard_take_traced(guardState) != 0 {
            lua_pushnil(L)
            lua_setfield(L, shim_LUA_REGISTRYINDEX(), SHIM_GUARD_TRACE_KEY)
        }
    }

    private func reportCPULimit(_ co: OpaquePointer, isMain: Bool) {
        guardCounters.cpuLimitViolations += 1
        var trace = ""
        if shim_guard_take_traced(guardState) != 0 {
            lua_getfield(L, shim_LUA_REGISTRYINDEX(), SHIM_GUARD_TRACE_KEY)
            trace = Lua.string(L, -1) ?? ""
            Lua.pop(L)
            lua_pushnil(L)
            lua_setfield(L, shim_LUA_REGISTRYINDEX(), SHIM_GUARD_TRACE_KEY)
        } else if lua_status(co) == LUA_YIELD {
            luaL_traceback(L, co, nil, 0)
            trace = Lua.string(L, -1) ?? ""
            Lua.pop(L)
        }
        let limit = Self.seconds(options.cpuLimit?.nanoseconds ?? 0)
        let used = Self.seconds(shim_guard_cpu(guardState))
        let what = isMain ? "the main chunk" : "a callback"
        let then = isMain ? "the script fails" : "that callback is ended; the script goes on"
        var text = "\(options.path): CPU limit of \(limit) s (--cpu-limit) exceeded by \(what) of \(options.path)#\(options.instance) (\(used) s of CPU); \(then)"
        if !trace.isEmpty { text += "\n" + trace }
        logger.scriptError(text)
    }

    /// Counts a preemption; a script that keeps being preempted is reported at most once per
    /// `stormReportInterval`, with the counts.
    private func notePreemption() {
        guardCounters.preemptions += 1
        let now = NIODeadline.now()
        if preemptionsInWindow == 0 { preemptionWindowStart = now }
        preemptionsInWindow += 1
        guard preemptionsInWindow >= Self.stormPreemptions, now - stormReportedAt >= Self.stormReportInterval || stormReportedAt == .uptimeNanoseconds(0) else { return }
        let span = Self.seconds((now - preemptionWindowStart).nanoseconds)
        logger.log(.warn, "busy: preempted \(preemptionsInWindow) times in \(span) s (a callback ran for more than \(LuaWatchdog.tick.nanoseconds / 1_000_000) ms without waiting each time; \(guardCounters.preemptions) in all)")
        stormReportedAt = now
        preemptionsInWindow = 0
    }

    static let stormPreemptions = 50
    static let stormReportInterval = TimeAmount.seconds(10)

    /// Seconds with up to three decimals, for messages.
    static func seconds(_ nanoseconds: Int64) -> String {
        let ms = (nanoseconds + 500_000) / 1_000_000
        let whole = ms / 1000, frac = ms % 1000
        if frac == 0 { return "\(whole)" }
        var f = String(frac)
        while f.count < 3 { f = "0" + f }
        while f.hasSuffix("0") { f.removeLast() }
        return "\(whole).\(f)"
    }
}

/// What `LuaScript.resume` does after the guard looked at a resume.
enum GuardOutcome {
    /// Nothing of the guard's: the resume is settled as usual.
    case none
    /// The callback was ended (over its budget); the script goes on with its queue.
    case callbackEnded
    /// Nothing more to do now: the callback is preempted, or the script has ended.
    case over
}

/// What the guard did to a script; a run summary reads it from `LuaScript.guardCounters`.
public struct GuardCounters: Sendable, Equatable {
    /// Callbacks (or main chunks) ended for going over the CPU budget.
    public var cpuLimitViolations = 0
    /// Times a long-running callback was made to yield so others could run.
    public var preemptions = 0

    public init() {}
}

/// The one thread that watches every loop's running resume (see the model above). Its work
/// per tick is one look per event loop that has scripts (one load, and a clock read and a
/// compare-and-swap when a resume runs there), however many scripts share the loops; it
/// ticks only while some script exists.
final class LuaWatchdog: @unchecked Sendable {  // all state under `lock`
    static let shared = LuaWatchdog()
    /// A resume found running at two ticks in a row is preempted: slices of 10-20 ms.
    static let tick = TimeAmount.milliseconds(10)

    /// A loop's slot (Sources/CLua/guard.h) and the scripts attached to it.
    private struct Slot {
        let state: UnsafeMutableRawPointer
        var clock: clockid_t?
        var scripts: Int
    }

    private let lock = NIOLock()
    private var slots: [ObjectIdentifier: Slot] = [:]
    /// The loop of each attached guard.
    private var loops: [UnsafeMutableRawPointer: ObjectIdentifier] = [:]
    /// The watchdog's thread runs while there are slots (a plain thread sleeping a tick:
    /// a Dispatch timer cost several times more CPU per tick in an idle process).
    private var threadRunning = false

    /// Attaches a script's guard to its loop's slot (on that loop, before its first resume).
    func add(_ guardState: UnsafeMutableRawPointer, loop: EventLoop, cpuLimitNanoseconds: Int64) {
        var clock = clockid_t()
        let haveClock = pthread_getcpuclockid(pthread_self(), &clock) == 0
        lock.withLock {
            let id = ObjectIdentifier(loop)
            var slot = slots[id] ?? Slot(state: shim_guard_slot_new()!, clock: nil, scripts: 0)
            slot.clock = haveClock ? clock : nil  // this thread's: right for the loop now
            slot.scripts += 1
            slots[id] = slot
            loops[guardState] = id
            shim_guard_attach(guardState, slot.state, cpuLimitNanoseconds)
            if !threadRunning {
                threadRunning = true
                startThread()
            }
        }
    }

    /// Once the script runs no more: after this returns the watchdog no longer touches its guard.
    func remove(_ guardState: UnsafeMutableRawPointer) {
        lock.withLock {
            guard let id = loops.removeValue(forKey: guardState), var slot = slots[id] else { return }
            shim_guard_detach(guardState)
            slot.scripts -= 1
            if slot.scripts == 0 {
                slots[id] = nil
                shim_guard_slot_free(slot.state)
            } else {
                slots[id] = slot
            }
        }
    }

    private func startThread() {
        var thread = pthread_t()
        let me = Unmanaged.passRetained(self).toOpaque()
        let made = pthread_create(&thread, nil, { arg in
            let watchdog = Unmanaged<LuaWatchdog>.fromOpaque(arg!).takeRetainedValue()
            watchdog.run()
            return nil
        }, me)
        if made == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<LuaWatchdog>.fromOpaque(me).release()
            threadRunning = false
        }
    }

    private func run() {
        while true {
            var pause = timespec(tv_sec: 0, tv_nsec: Int(Self.tick.nanoseconds))
            var left = timespec()
            while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
            let more = lock.withLock { () -> Bool in
                if slots.isEmpty {
                    threadRunning = false
                    return false
                }
                for slot in slots.values {
                    shim_guard_watch(slot.state, slot.clock == nil ? 0 : 1, slot.clock ?? clockid_t())
                }
                return true
            }
            if !more { return }
        }
    }
}
