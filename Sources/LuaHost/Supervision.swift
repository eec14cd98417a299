import NIOCore

/// `--restart`: which ends of a script instance start it again.
public enum RestartPolicy: String, Sendable, CaseIterable {
    /// Never (the default).
    case no
    /// After a failure: a load error, a main-chunk error (a budget violation included), or
    /// `exit(n)` with n ≠ 0.
    case onFailure = "on-failure"
    /// After every end, a normal one and `exit(0)` included.
    case always

    /// Whether an end of this kind is followed by a restart. A stop from the runner
    /// (signal, reload) never is.
    public func restarts(after end: ScriptEnd) -> Bool {
        switch (self, end) {
        case (_, .stopped), (.no, _): return false
        case (.always, _): return true
        case (.onFailure, _): return end.isFailure
        }
    }
}

extension ScriptEnd {
    /// A load failure, a main-chunk error or a non-zero `exit`.
    public var isFailure: Bool {
        switch self {
        case .failed: return true
        case .exited(let code): return code != 0
        case .finished, .stopped: return false
        }
    }
}

/// The bounds of supervision (docs/limits.md, "Supervision"). The defaults are what
/// `rtlua run --restart` uses; tests may shrink them.
public struct Supervision: Sendable {
    public var policy: RestartPolicy
    /// The delay before the first restart; it doubles with each restart after a short run.
    public var initialDelay: TimeAmount
    /// The longest delay between an end and the restart.
    public var maxDelay: TimeAmount
    /// A run that lasted at least this long puts the delay back to `initialDelay`.
    public var stableAfter: TimeAmount
    /// An instance that failed this many times within `failureWindow` is given up.
    public var maxFailures: Int
    public var failureWindow: TimeAmount

    public init(policy: RestartPolicy = .no, initialDelay: TimeAmount = .milliseconds(100), maxDelay: TimeAmount = .seconds(30),
                stableAfter: TimeAmount = .seconds(10), maxFailures: Int = 5, failureWindow: TimeAmount = .seconds(60)) {
        self.policy = policy
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.stableAfter = stableAfter
        self.maxFailures = max(1, maxFailures)
        self.failureWindow = failureWindow
    }
}

/// The restart bookkeeping of one script instance: a pure state machine, time passed in.
public struct RestartState: Sendable {
    public enum Decision: Sendable, Equatable {
        /// The instance stays ended.
        case done
        /// Start it again after `delay`; this is restart number `count` of the instance.
        case restart(after: TimeAmount, count: Int)
        /// Too many failures within the window: `failures` of them.
        case giveUp(failures: Int)
    }

    public let supervision: Supervision
    /// Restarts of this instance so far.
    public private(set) var restarts = 0
    /// The delay the next restart waits.
    public private(set) var nextDelay: TimeAmount
    /// When the recent failures happened (those within the window).
    private var failures: [NIODeadline] = []

    public init(_ supervision: Supervision) {
        self.supervision = supervision
        self.nextDelay = supervision.initialDelay
    }

    /// The instance ended (`end`) at `now` after a run of `ranFor`.
    public mutating func ended(_ end: ScriptEnd, ranFor: TimeAmount, at now: NIODeadline) -> Decision {
        guard supervision.policy.restarts(after: end) else { return .done }
        if ranFor >= supervision.stableAfter { nextDelay = supervision.initialDelay }
        if end.isFailure {
            let window = supervision.failureWindow
            failures.removeAll { now - $0 >= window }
            failures.append(now)
            if failures.count >= supervision.maxFailures { return .giveUp(failures: failures.count) }
        }
        let delay = min(nextDelay, supervision.maxDelay)
        nextDelay = delay.nanoseconds > supervision.maxDelay.nanoseconds / 2 ? supervision.maxDelay : .nanoseconds(delay.nanoseconds * 2)
        restarts += 1
        return .restart(after: delay, count: restarts)
    }

    /// A fresh start (the file changed under `--watch`): delay and failures forgotten; the
    /// restart count stays.
    public mutating func reset() {
        nextDelay = supervision.initialDelay
        failures = []
    }
}

/// What supervision did, per script path (summed over its instances), for a run summary.
public struct SupervisionCounters: Sendable, Equatable {
    public struct Script: Sendable, Equatable {
        /// Restarts of the script's instances (a reload under `--watch` is not one).
        public var restarts = 0
        /// Instances given up after too many failures.
        public var givenUp = 0
        public init(restarts: Int = 0, givenUp: Int = 0) {
            self.restarts = restarts
            self.givenUp = givenUp
        }
    }

    public var scripts: [String: Script] = [:]
    public var restarts: Int { scripts.values.reduce(0) { $0 + $1.restarts } }
    public var givenUp: Int { scripts.values.reduce(0) { $0 + $1.givenUp } }
    public init() {}
}

extension TimeAmount {
    /// `100ms`, `1.6s`, `30s`: a delay as a log line shows it.
    var shortText: String {
        let ms = nanoseconds / 1_000_000
        if ms < 1000 { return "\(ms)ms" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        let tenths = (ms + 50) / 100
        return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
    }
}
