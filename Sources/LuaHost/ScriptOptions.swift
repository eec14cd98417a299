import Clocks
import CurlHTTP
import Metrics
import NIOCore
import Realtime

/// What one running copy of a script is given by the runner.
public struct ScriptOptions: Sendable {
    /// The file to load.
    public var path: String
    /// This copy's number, 1...N under `--instances N` (the `instance` global).
    public var instance: Int
    /// The SCRIPT-ARGS after `--` (the `args` global).
    public var args: [String]
    /// The default `realtime` manager's configuration; nil: the script has no default
    /// manager (using it raises an error naming why).
    public var realtime: RealtimeConfig?
    public var log: LogSettings
    /// Where `print` and the log/error lines go (tests capture them).
    public var output: ScriptOutput
    /// The client behind the `http` global and the managers' REST calls.
    public var http: HTTPClient
    /// How managers are made (tests inject one over a fake connection).
    public var makeManager: @Sendable (RealtimeConfig, EventLoop, HTTPClient) throws -> RealtimeManager
    /// How long the script must have run nothing before its VM gets a full garbage
    /// collection (nil: neither this nor the early collections between callbacks; the
    /// incremental collector alone).
    public var idleCollectDelay: TimeAmount? = .milliseconds(250)
    /// The CPU time one callback (or the main chunk) may use before it is ended (nil: no
    /// limit); `--cpu-limit`. The default is far beyond what a bot's callback needs.
    public var cpuLimit: TimeAmount? = ScriptOptions.defaultCPULimit
    public static let defaultCPULimit = TimeAmount.seconds(10)
    /// The most bytes the script's VM may hold (`--memory-limit`); 0: no limit.
    public var memoryLimit: Int = MemoryBudget.defaultLimit
    /// The clock of `now()`, `sleep`, timers, schedules and `waitFor` (Clocks module).
    public var clock: EventClock = RealClock.shared
    /// Where checks and metrics are recorded (nil: `check` and `metrics` work but keep nothing).
    public var metrics: RunMetrics?

    public init(path: String, instance: Int = 1, args: [String] = [], realtime: RealtimeConfig? = nil,
                log: LogSettings = LogSettings(), output: ScriptOutput = .standard, http: HTTPClient = .shared,
                makeManager: @escaping @Sendable (RealtimeConfig, EventLoop, HTTPClient) throws -> RealtimeManager = { config, loop, http in
                    try RealtimeManager(config: config, eventLoop: loop, http: http)
                }) {
        self.path = path
        self.instance = instance
        self.args = args
        self.realtime = realtime
        self.log = log
        self.output = output
        self.http = http
        self.makeManager = makeManager
    }
}

/// The two streams of a script: `print` lines (bytes, one call per line) and stderr text.
public struct ScriptOutput: Sendable {
    public var stdout: @Sendable ([UInt8]) -> Void
    public var stderr: @Sendable (String) -> Void

    public init(stdout: @escaping @Sendable ([UInt8]) -> Void, stderr: @escaping @Sendable (String) -> Void) {
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The process's file descriptors 1 and 2, unbuffered.
    public static let standard = ScriptOutput(stdout: { ScriptLogger.writeStdout($0) }, stderr: { ScriptLogger.writeStderr($0) })
}

/// How a script ended; `status` is its contribution to the process exit status.
public enum ScriptEnd: Sendable, Equatable {
    /// Nothing was left that could run a callback.
    case finished
    /// The script called `exit(code)`.
    case exited(Int32)
    /// It failed to load, or its main chunk raised an error.
    case failed
    /// The runner stopped it (SIGINT/SIGTERM, or a reload under --watch).
    case stopped

    public var status: Int32 {
        switch self {
        case .finished, .stopped: return 0
        case .exited(let code): return code
        case .failed: return 1
        }
    }
}
