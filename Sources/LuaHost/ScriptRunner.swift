#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore

/// Runs every copy of every script (`--instances N`), spread over the group's loops; the
/// overall status is the largest of the scripts' statuses. Under `--watch` a script whose
/// file changes is stopped and started again, and the runner ends only on `stop()`.
///
/// Confined to `loop`, hence `@unchecked Sendable`.
public final class ScriptRunner: @unchecked Sendable {
    public let group: EventLoopGroup
    public let loop: EventLoop
    private let paths: [String]
    private let instances: Int
    private let watch: Bool
    private let makeOptions: @Sendable (_ path: String, _ instance: Int) -> ScriptOptions
    private let done: EventLoopPromise<Int32>

    private var running: [String: [LuaScript]] = [:]
    private var fileStamps: [String: FileStamp] = [:]
    private var status: Int32 = 0
    private var stopping = false
    private var watchTask: RepeatedTask?
    /// The running scripts for `stop()`, which must reach them from the signal's thread: the
    /// runner's own loop may be the one a busy script holds.
    private let live = NIOLockedValueBox<[ObjectIdentifier: LuaScript]>([:])

    public init(group: EventLoopGroup, paths: [String], instances: Int = 1, watch: Bool = false,
                makeOptions: @escaping @Sendable (_ path: String, _ instance: Int) -> ScriptOptions) {
        self.group = group
        self.loop = group.next()
        self.paths = paths
        self.instances = max(1, instances)
        self.watch = watch
        self.makeOptions = makeOptions
        self.done = loop.makePromise(of: Int32.self)
    }

    /// Starts everything; the future gives the process exit status.
    public func run() -> EventLoopFuture<Int32> {
        loop.execute { [self] in
            for path in paths {
                fileStamps[path] = FileStamp(path: path)
                start(path)
            }
            if watch {
                watchTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in
                    checkFiles()
                }
            }
        }
        return done.futureResult
    }

    /// Stops every script gracefully (connections flushed and closed).
    public func stop() {
        for s in live.withLockedValue({ Array($0.values) }) { s.requestStop() }
        loop.execute { [self] in
            stopping = true
            watchTask?.cancel()
            watchTask = nil
            for scripts in running.values { for s in scripts { s.stop() } }
            finishIfIdle()
        }
    }

    private func start(_ path: String) {
        var copies: [LuaScript] = []
        for n in 1...instances {
            let script = LuaScript(options: makeOptions(path, n), eventLoop: group.next())
            copies.append(script)
            live.withLockedValue { $0[ObjectIdentifier(script)] = script }
            script.ended.hop(to: loop).whenSuccess { [self] end in ended(script, path, end) }
            script.start()
        }
        running[path, default: []] += copies
    }

    private func ended(_ script: LuaScript, _ path: String, _ end: ScriptEnd) {
        running[path]?.removeAll { $0 === script }
        live.withLockedValue { $0[ObjectIdentifier(script)] = nil }
        status = max(status, end.status)
        finishIfIdle()
    }

    private func finishIfIdle() {
        guard running.values.allSatisfy({ $0.isEmpty }), stopping || !watch else { return }
        watchTask?.cancel()
        done.succeed(status)
    }

    private func checkFiles() {
        guard !stopping else { return }
        for path in paths {
            let stamp = FileStamp(path: path)
            guard stamp != fileStamps[path], stamp.exists else { continue }
            fileStamps[path] = stamp
            let old = running[path] ?? []
            let reload = EventLoopFuture.whenAllComplete(old.map { s in s.stop(); return s.ended }, on: loop)
            reload.whenComplete { [self] _ in
                if !stopping { start(path) }
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
