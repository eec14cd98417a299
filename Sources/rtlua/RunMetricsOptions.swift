import ArgumentParser
import Foundation
import Metrics

/// `run`'s checks-and-metrics options: thresholds, summary files, sharding, quiet
/// (docs/metrics.md).
struct RunMetricsOptions: ParsableArguments {
    @Option(name: .customLong("threshold"), help: ArgumentHelp("A pass/fail rule over the run's metrics, e.g. 'delivery{event=chat}.p99<50ms' (repeatable); a failed one makes the exit status \(RunReport.thresholdsFailedStatus).", valueName: "EXPR"))
    var thresholds: [String] = []

    @Option(name: .customLong("summary-json"), help: ArgumentHelp("Write the run's summary (checks, metrics with their histograms, thresholds) as JSON.", valueName: "FILE"))
    var summaryJSON: String?

    @Option(name: .customLong("junit"), help: ArgumentHelp("Write the checks and thresholds as JUnit XML test cases.", valueName: "FILE"))
    var junit: String?

    @Option(name: .customLong("shard"), help: ArgumentHelp("Run the I-th of N shares of the instances (env RTLUA_SHARD; or JOB_COMPLETION_INDEX, 0-based, with N from RTLUA_SHARDS).", valueName: "I/N"))
    var shard: String?

    @Flag(name: .customLong("delivery-stamp"), help: "Add \"_rtlua_sent\": <epoch ms> to each message object sent, so shards time deliveries between processes (the receiver takes it out again; clocks must be NTP-synchronised).")
    var deliveryStamp = false

    @Flag(name: .customLong("quiet"), help: "No end-of-run summary and no live status line on stderr (files and thresholds still work).")
    var quiet = false

    func validate() throws {
        for t in thresholds { _ = try Self.parse(t) }
        _ = try shardSpec(environment: ProcessInfo.processInfo.environment)
    }

    /// A threshold, with the built-in metrics' kinds checked now (custom metrics are known
    /// only at the end of the run).
    static func parse(_ text: String) throws -> Threshold {
        let t: Threshold
        do { t = try Threshold(parsing: text) } catch { throw ValidationError(error.description) }
        if Builtin.kinds[t.metric] != nil, let problem = t.problem(kinds: Builtin.kinds) { throw ValidationError(problem) }
        return t
    }

    /// Which share of the run this process is: `--shard`, else RTLUA_SHARD, else a
    /// Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based) with RTLUA_SHARDS.
    func shardSpec(environment env: [String: String]) throws -> ShardSpec {
        if let shard { return try ShardSpec(parsing: shard, source: "--shard") }
        if let s = env["RTLUA_SHARD"], !s.isEmpty { return try ShardSpec(parsing: s, source: "RTLUA_SHARD") }
        if let index = env["JOB_COMPLETION_INDEX"], !index.isEmpty {
            // In an Indexed Job without the shard count every pod would run the whole fleet.
            guard let count = env["RTLUA_SHARDS"], !count.isEmpty else {
                throw ValidationError("JOB_COMPLETION_INDEX is set but RTLUA_SHARDS is not: set RTLUA_SHARDS to the Job's completions (or RTLUA_SHARD=I/N, or --shard I/N)")
            }
            guard let i = Int(index), i >= 0 else { throw ValidationError("JOB_COMPLETION_INDEX must be a number from 0 (got '\(index)')") }
            return try ShardSpec(parsing: "\(i + 1)/\(count)", source: "JOB_COMPLETION_INDEX+1/RTLUA_SHARDS")
        }
        return ShardSpec(index: 1, count: 1)
    }
}

/// This process's share of a run: shard `index` of `count` (1-based).
struct ShardSpec: Equatable {
    var index: Int
    var count: Int

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    init(parsing text: String, source: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ValidationError("\(source) must be I/N, e.g. 2/3 (got '\(text)')")
        }
        guard n >= 1, n <= 10_000 else { throw ValidationError("\(source) '\(text)': N must be between 1 and 10000") }
        guard i >= 1, i <= n else { throw ValidationError("\(source) '\(text)': I must be between 1 and N (\(n))") }
        index = i
        count = n
    }

    /// The instance numbers of this shard out of `total` (contiguous, so numbers are unique
    /// across shards; a shard may get none when there are fewer instances than shards).
    func instances(of total: Int) -> ClosedRange<Int>? {
        let start = (index - 1) * total / count + 1
        let end = index * total / count
        return start <= end ? start...end : nil
    }
}
