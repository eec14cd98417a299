#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore

/// Runs every copy of every script (`--instances N`), spread over the group's loops; the
/// overall status is the largest of the copies' statuses, each copy's being that of its last
/// run. Under `--restart` a copy that ended is started again after a back-off delay
/// (`Supervision`, docs/limits.md), and given up after too many failures in a short window.
/// Under `--watch` a running script whose file changes is reloaded in its connections
/// (LuaScript+Reload.swift): its new version replaces it unless that fails to load or raises
/// in its main chunk; a copy that is not running is started again at once. The runner then
/// ends only on `stop()`.
///
/// Confined to `loop`, hence `@unchecked Sendable`.
public final class ScriptRunner: @unchecked Sendable {
    public let group: EventLoopGroup
    public let loop: EventLoop
    private let paths: [String]
    private let instances: Int
    private let watch: Bool
    private let supervision: Supervision
    private let makeOptions: @Sendable (_ path: String, _ instance: Int) -> ScriptOptions
    private let done: EventLoopPromise<Int32>

    /// One copy of one script: the run in progress, if any, and its restart bookkeeping.
    private struct Slot {
        let path: String
        let instance: Int
        var script: LuaScript?
        var startedAt = NIODeadline.now()
        var restart: RestartState
        /// The back-off wait before the next start.
        var pendingRestart: Scheduled<Void>?
        /// Start again as soon as the running copy has ended (its file changed).
        var reloadWhenEnded = false
        /// The status of the last run that ended (not stopped for a reload).
        var status: Int32 = 0
        /// The last run's logger (tagged `[path#instance]`), for the runner's own lines.
        var logger: ScriptLogger?
        /// The file's version the copy runs (`--watch`: each change loaded counts one).
        var version = 1
        /// A reload is under way; `reloadAgain`: the file changed again meanwhile.
        var reloading = false
        var reloadAgain = false
    }

    private var slots: [Slot] = []
    private var counters = SupervisionCounters()
    private var fileStamps: [String: FileStamp] = [:]
    private var stopping = false
    private var finished = false
    private var watchTask: RepeatedTask?
    /// The running scripts for `stop()`, which must reach them from the signal's thread: the
    /// runner's own loop may be the one a busy script holds.
    private let live = NIOLockedValueBox<[ObjectIdentifier: LuaScript]>([:])

    public init(group: EventLoopGroup, paths: [String], instances: Int = 1, watch: Bool = false,
                supervision: Supervision = Supervision(),
                makeOptions: @escaping @Sendable (_ path: String, _ instance: Int) -> ScriptOptions) {
        self.group = group
        self.loop = group.next()
        self.paths = paths
        self.instances = max(1, instances)
        self.watch = watch
        self.supervision = supervision
        self.makeOptions = makeOptions
        self.done = loop.makePromise(of: Int32.self)
    }

    /// Starts everything; the future gives the process exit status.
    public func run() -> EventLoopFuture<Int32> {
        loop.execute { [self] in
            for path in paths {
                fileStamps[path] = FileStamp(path: path)
                counters.scripts[path] = SupervisionCounters.Script()
                for n in 1...instances {
                    slots.append(Slot(path: path, instance: n, restart: RestartState(supervision)))
                }
            }
            for i in slots.indices { launch(i) }
            if watch {
                watchTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in
                    checkFiles()
                }
            }
        }
        return done.futureResult
    }

    /// Stops every script gracefully (connections flushed and closed); a restart waiting
    /// out its back-off does not happen.
    public func stop() {
        for s in live.withLockedValue({ Array($0.values) }) { s.requestStop() }
        loop.execute { [self] in
            stopping = true
            watchTask?.cancel()
            watchTask = nil
            for i in slots.indices {
                slots[i].pendingRestart?.cancel()
                slots[i].pendingRestart = nil
                slots[i].script?.stop()
            }
            finishIfIdle()
        }
    }

    /// Restarts and given-up instances so far, per script (for a run summary).
    public func supervisionCounters() -> EventLoopFuture<SupervisionCounters> {
        loop.submit { [self] in counters }
    }

    private func launch(_ i: Int) {
        slots[i].pendingRestart = nil
        let script = LuaScript(options: makeOptions(slots[i].path, slots[i].instance), eventLoop: group.next())
        slots[i].script = script
        slots[i].logger = script.logger
        slots[i].startedAt = .now()
        live.withLockedValue { $0[ObjectIdentifier(script)] = script }
        script.ended.hop(to: loop).whenSuccess { [self] end in ended(i, script, end) }
        script.start()
    }

    private func ended(_ i: Int, _ script: LuaScript, _ end: ScriptEnd) {
        live.withLockedValue { $0[ObjectIdentifier(script)] = nil }
        guard slots[i].script === script else { return }
        slots[i].script = nil
        if slots[i].reloadWhenEnded {
            slots[i].reloadWhenEnded = false
            if !stopping {
                launch(i)
                return
            }
        }
        slots[i].status = end.status
        let now = NIODeadline.now()
        if !stopping {
            let path = slots[i].path
            switch slots[i].restart.ended(end, ranFor: now - slots[i].startedAt, at: now) {
            case .done:
                break
            case .restart(let delay, let count):
                slots[i].logger?.log(end.isFailure ? .warn : .info, "\(Self.describe(end)); restart #\(count) in \(delay.shortText)")
                slots[i].pendingRestart = loop.scheduleTask(in: delay) { [self] in
                    guard !stopping, slots[i].pendingRestart != nil, slots[i].script == nil else { return }
                    counters.scripts[path, default: .init()].restarts += 1
                    launch(i)
                }
            case .giveUp(let failures):
                counters.scripts[path, default: .init()].givenUp += 1
                let window = supervision.failureWindow.shortText
                let then = watch ? "not restarting it until its file changes" : "not restarting it"
                slots[i].logger?.log(.error, "\(Self.describe(end)); \(failures) failures within \(window): giving up, \(then)")
            }
        }
        finishIfIdle()
    }

    static func describe(_ end: ScriptEnd) -> String {
        switch end {
        case .failed: return "failed (status 1)"
        case .exited(let code): return "exited with status \(code)"
        case .finished: return "ended"
        case .stopped: return "stopped"
        }
    }

    private func finishIfIdle() {
        guard !finished, slots.allSatisfy({ $0.script == nil && $0.pendingRestart == nil }), stopping || !watch else { return }
        finished = true
        watchTask?.cancel()
        done.succeed(slots.map(\.status).max() ?? 0)
    }

    /// A changed file reloads each running copy of its script, and starts each copy that is
    /// not running afresh: at once, with the back-off and the failure count forgotten (a
    /// given-up copy too). A deleted file is logged; the copies go on.
    private func checkFiles() {
        guard !stopping else { return }
        for path in paths {
            let stamp = FileStamp(path: path)
            guard stamp != fileStamps[path] else { continue }
            fileStamps[path] = stamp
            guard stamp.exists else {
                RunnerLog.log(.warn, "\(path) was deleted: its running version goes on (it is loaded again when the file is back)")
                continue
            }
            RunnerLog.log(.debug, "\(path) changed: reloading it")
            for i in slots.indices where slots[i].path == path {
                slots[i].pendingRestart?.cancel()
                slots[i].pendingRestart = nil
                slots[i].restart.reset()
                if slots[i].script != nil {
                    reload(i)
                } else {
                    slots[i].version += 1
                    launch(i)
                }
            }
        }
    }

    /// Runs the file's new text in the running copy's connections; the copy goes on as it
    /// was if the new version fails to load or raises in its main chunk.
    private func reload(_ i: Int) {
        guard !stopping, let old = slots[i].script else { return }
        guard !slots[i].reloading else {
            slots[i].reloadAgain = true
            return
        }
        slots[i].reloading = true
        let version = slots[i].version + 1
        old.reload(with: makeOptions(slots[i].path, slots[i].instance), version: version).hop(to: loop).whenSuccess { [self] outcome in
            slots[i].reloading = false
            switch outcome {
            case .replaced(let next):
                live.withLockedValue {
                    $0[ObjectIdentifier(old)] = nil
                    $0[ObjectIdentifier(next)] = next
                }
                slots[i].version = version
                slots[i].script = next
                slots[i].logger = next.logger
                slots[i].startedAt = .now()
                next.ended.hop(to: loop).whenSuccess { [self] end in ended(i, next, end) }
                if stopping { next.stop() }
            case .kept:
                break
            case .notRunning:
                // The copy ended before the reload began: start the new version once it is gone.
                slots[i].version = version
                if slots[i].script === old {
                    slots[i].reloadWhenEnded = true
                } else if slots[i].script == nil, !stopping {
                    slots[i].pendingRestart?.cancel()
                    launch(i)
                }
            }
            if slots[i].reloadAgain {
                slots[i].reloadAgain = false
                reload(i)
            }
        }
    }
}

/// What tells a changed file: modification time and size.
struct FileStamp: Equatable {
    var exists: Bool
    var seconds: Int
    var nanoseconds: Int
    var size: Int

    init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            self.exists = false
            self.seconds = 0
            self.nanoseconds = 0
            self.size = 0
            return
        }
        exists = true
        #if canImport(Darwin)
        seconds = st.st_mtimespec.tv_sec
        nanoseconds = st.st_mtimespec.tv_nsec
        #else
        seconds = st.st_mtim.tv_sec
        nanoseconds = st.st_mtim.tv_nsec
        #endif
        size = Int(st.st_size)
    }
}
