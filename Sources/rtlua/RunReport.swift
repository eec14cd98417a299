import Foundation
import LuaHost
import Metrics
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The end of a run with checks and metrics: the loops' registries merged, the thresholds
/// evaluated, the summary printed on stderr and written to the files asked for, and the
/// exit status that follows (docs/metrics.md).
struct RunReport {
    /// The exit status of a run whose thresholds failed (k6's, so CI set-ups carry over).
    static let thresholdsFailedStatus: Int32 = 99

    var thresholds: [Threshold]
    var summaryJSON: String?
    var junit: String?
    var quiet: Bool

    /// Evaluates and reports; returns the status this adds to the scripts' own (0, 2 for a
    /// threshold on an unknown metric or an unwritable file, 99 for failed thresholds).
    func finish(_ summary: RunSummary, snapshot: MetricsSnapshot, alwaysShow: Bool) -> Int32 {
        var summary = summary
        var kinds = Builtin.kinds
        kinds.merge(snapshot.kinds) { _, new in new }
        for t in thresholds {
            if let problem = t.problem(kinds: kinds) {
                RunnerLog.log(.error, problem)
                return 2
            }
        }
        summary.thresholds = thresholds.map { $0.evaluate(snapshot, duration: summary.duration) }
        let hasScriptMetrics = snapshot.kinds.keys.contains { Builtin.kinds[$0] == nil || $0 == Builtin.checks }
        if !quiet, alwaysShow || hasScriptMetrics || !thresholds.isEmpty {
            FileHandle.standardError.write(Data(SummaryText.render(summary).utf8))
        }
        for failed in summary.thresholds where !failed.ok {
            RunnerLog.log(.error, "threshold failed: \(failed.message)")
        }
        var status: Int32 = summary.thresholds.allSatisfy(\.ok) ? 0 : Self.thresholdsFailedStatus
        do {
            if let path = summaryJSON {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try Self.write(try encoder.encode(summary), to: path)
            }
            if let path = junit { try Self.write(Data(SummaryText.junit(summary).utf8), to: path) }
        } catch {
            RunnerLog.log(.error, "\(error)")
            status = max(status, 2)
        }
        return status
    }

    /// Written whole or not at all (a temporary file renamed into place).
    static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SummaryError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Every loop's registry, merged (each read on its own loop).
    static func collect(_ metrics: RunMetrics, group: EventLoopGroup) -> MetricsSnapshot {
        var all = MetricsSnapshot()
        for loop in group.makeIterator() {
            guard let registry = metrics.registry(for: ObjectIdentifier(loop)) else { continue }
            if let s = try? loop.submit({ registry.snapshot() }).wait() {
                // One run's registries agree on kinds: each script checks its own loop's, and a
                // metric of another kind elsewhere is reported here rather than lost.
                do { try all.merge(s) } catch { RunnerLog.log(.warn, "\(error); one of them left out of the summary") }
            }
        }
        return all
    }

    /// A stable identity for the shards of one run: the scripts' contents, the total
    /// instance count and the shard count (FNV-1a, the same in every process).
    static func runID(scripts: [String], instances: Int, shards: Int) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for b in bytes {
                h ^= UInt64(b)
                h = h &* 0x100_0000_01b3
            }
            h ^= 0xff
            h = h &* 0x100_0000_01b3
        }
        for path in scripts { mix((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(path.utf8)) }
        mix("\(instances)/\(shards)".utf8)
        return String(h, radix: 16)
    }
}

/// One `rtlua run`'s side of the metrics: which instances this shard runs, the registries,
/// and the report at the end.
struct MetricsRun {
    let metrics: RunMetrics
    /// This shard's instance numbers (empty when the run has fewer instances than shards).
    let instances: Range<Int>
    private let options: RunMetricsOptions
    private let thresholds: [Threshold]
    let shard: ShardSpec
    private let runID: String
    private let group: EventLoopGroup
    private let total: Int
    private let started = Date()

    init(_ options: RunMetricsOptions, plan: RunPlan, scripts: [String], group: EventLoopGroup) throws {
        let total = plan.instances
        self.options = options
        self.group = group
        self.total = total
        thresholds = plan.thresholds
        shard = try options.shardSpec(environment: ProcessInfo.processInfo.environment)
        instances = shard.instances(of: total).map { $0.lowerBound..<($0.upperBound + 1) } ?? 1..<1
        runID = RunReport.runID(scripts: scripts, instances: total, shards: shard.count)
        // The built-in metrics are recorded when something will read them.
        let builtins = options.deliveryStamp || !thresholds.isEmpty || options.summaryJSON != nil || options.junit != nil || total > 1 || shard.count > 1
            || !plan.stages.isEmpty || (isatty(2) == 1 && !options.quiet)
        let cap = MetricsRegistry.defaultSeriesCap
        metrics = RunMetrics(loops: group.makeIterator().map { ObjectIdentifier($0) }, builtins: builtins,
                             deliveryStamp: options.deliveryStamp) { name in
            RunnerLog.log(.warn, "metric '\(name)' has \(cap) distinct tag sets, the most kept per metric; further ones are counted under overflow=true")
        }
        if shard.count > 1 {
            let range = instances.isEmpty ? "none" : "\(instances.lowerBound)…\(instances.upperBound - 1)"
            RunnerLog.log(.info, "shard \(shard.index)/\(shard.count): instances \(range) of \(total)")
        }
    }

    /// The live status line, when stderr is a terminal and not --quiet.
    func startStatusLine(target: @escaping @Sendable () -> Int) -> StatusLine? {
        options.quiet ? nil : StatusLine.start(metrics: metrics, group: group, target: target)
    }

    /// After the scripts ended: the report, and the status it adds. `started`: the copies
    /// started under stages (else this shard's instances).
    func finish(started copies: Int? = nil) -> Int32 {
        let snapshot = RunReport.collect(metrics, group: group)
        let summary = RunSummary(run: runID, shardCount: shard.count, shards: [shard.index], startedAt: started.timeIntervalSince1970,
                                 duration: Date().timeIntervalSince(started), instances: copies ?? instances.count, snapshot: snapshot)
        let report = RunReport(thresholds: thresholds, summaryJSON: options.summaryJSON, junit: options.junit, quiet: options.quiet)
        return report.finish(summary, snapshot: snapshot, alwaysShow: total > 1 || shard.count > 1)
    }
}
