import Clocks
import CurlHTTP
import NIOConcurrencyHelpers
import NIOCore
import Realtime

/// A bot a test spawned: `instances` copies of a script, each a real script with its own VM
/// and its own `realtime` connected to the test's hub, on the test's virtual clock. Keeps
/// what they printed and logged, and how they ended.
final class TestBot: @unchecked Sendable {  // confined to `loop`; the log lines behind their lock
    let id: Int
    let path: String
    let file: String
    let instances: Int
    let args: [String]
    let config: RealtimeConfig
    let clock: EventClock
    let loop: EventLoop
    let settings: TestSettings
    private(set) var scripts: [LuaScript] = []
    private var ends: [ScriptEnd?] = []
    /// Print lines as printed; log lines as `LEVEL [script#n] message`.
    let logLines = NIOLockedValueBox<[String]>([])
    /// The last error line of a copy that failed (did not load, or its main chunk raised).
    var crash: String? { failed ? (lastError ?? "failed (status 1)") : nil }
    private var failed = false
    private var lastError: String?

    init(id: Int, path: String, file: String, instances: Int, args: [String], config: RealtimeConfig,
         clock: EventClock, loop: EventLoop, settings: TestSettings) {
        self.id = id
        self.path = path
        self.file = file
        self.instances = instances
        self.args = args
        self.config = config
        self.clock = clock
        self.loop = loop
        self.settings = settings
    }

    /// The largest exit status once every copy has ended; nil while one runs.
    var status: Int32? {
        guard !ends.contains(where: { $0 == nil }) else { return nil }
        return ends.map { $0!.status }.max() ?? 0
    }

    func startAll() {
        scripts = []
        ends = Array(repeating: nil, count: instances)
        let lines = logLines
        for n in 1...instances {
            var options = ScriptOptions(path: file, instance: n, args: args, realtime: config, log: LogSettings(level: settings.logLevel))
            options.output = ScriptOutput(
                stdout: { bytes in lines.withLockedValue { $0.append(String(decoding: bytes.last == 0x0A ? bytes.dropLast() : bytes[...], as: UTF8.self)) } },
                stderr: { [weak self] text in
                    // "TIME LEVEL [script#n] message": the time is the real one, left out.
                    let body = text.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? text
                    let trimmed = body.hasSuffix("\n") ? String(body.dropLast()) : body
                    lines.withLockedValue { $0.append(trimmed) }
                    if trimmed.hasPrefix("ERROR") { self?.noteError(trimmed) }
                })
            options.clock = clock
            options.makeManager = TestBot.managers(on: clock)
            // A busy-looping bot is ended by the CPU guard well within the test's time.
            options.cpuLimit = .fromSeconds(max(0.2, settings.timeout / 2))
            let script = LuaScript(options: options, eventLoop: loop)
            scripts.append(script)
            let index = n - 1
            script.ended.hop(to: loop).whenSuccess { [self] end in
                guard index < ends.count, scripts.count > index, scripts[index] === script else { return }
                ends[index] = end
                if end == .failed { failed = true }
            }
            script.start()
        }
    }

    private func noteError(_ line: String) {
        loop.execute { [self] in
            // The error line's message after the "[script#n] " tag.
            let chars = Array(line)
            var start = 0
            for i in 0..<max(0, chars.count - 1) where chars[i] == "]" && chars[i + 1] == " " {
                start = i + 2
                break
            }
            let message = String(chars[start...])
            lastError = message.split(separator: "\n").first.map(String.init) ?? message
        }
    }

    /// Stops every copy; the futures complete when they have ended.
    func stopAll() -> [EventLoopFuture<Void>] {
        scripts.map { s in
            s.stop()
            return s.ended.map { _ in () }
        }
    }

    /// Calls `done` (on `loop`) once every copy has run its main chunk (or waits in it) and
    /// its open connections are up, or has ended; at most about five seconds of real time.
    func whenSettled(_ done: @escaping @Sendable () -> Void) {
        loop.poll(every: .milliseconds(5), tries: 1000, until: { [self] in scripts.allSatisfy { $0.isSettled } }) { [loop] in
            // One more loop turn and a moment for the joins sent on connect to arrive.
            loop.scheduleTask(in: .milliseconds(10)) { done() }
        }
    }
}

extension TestBot {
    /// Managers whose connection timers (heartbeat, connect timeout, reconnection back-off)
    /// run on `clock`, as the scripts' timers do.
    static func managers(on clock: EventClock) -> @Sendable (RealtimeConfig, EventLoop, HTTPClient) throws -> RealtimeManager {
        { config, loop, http in
            var config = config
            config.clock = clock
            return try RealtimeManager(config: config, eventLoop: loop, http: http)
        }
    }
}

extension LuaScript {
    /// A coroutine of the script waits for real I/O (HTTP, getMembers).
    var isWaitingOnIO: Bool {
        !isEnded && !ioWaits.isEmpty && !ioWaits.isDisjoint(with: waiting)
    }

    /// Started and quiet: ended, or its main chunk done or waiting, every manager it opened connected.
    var isSettled: Bool {
        if isEnded { return true }
        if let main = mainThread, !waiting.contains(main) { return false }
        if mainThread == nil, coroutines.isEmpty { return false }  // not started yet
        return managers.values.allSatisfy { b in b.manager.map { !$0.isOpen || $0.isConnected() } ?? true }
    }
}
