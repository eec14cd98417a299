/// The machine-readable summary of a run (`--summary-json`), and of merged shards
/// (`rtlua merge`). Field names are stable (docs/metrics.md); trends carry their histogram
/// as buckets, so shards merge exactly.
public struct RunSummary: Codable, Sendable, Equatable {
    public static let formatName = "rtlua-summary"
    public static let currentVersion = 1

    public var format = RunSummary.formatName
    public var version = RunSummary.currentVersion
    /// The run's identity (from the scripts and the shard count): shards of one run share it.
    public var run: String
    /// How many shards the run has, and which of them this summary holds (1-based).
    public var shardCount: Int
    public var shards: [Int]
    /// Wall-clock start (seconds since the epoch) and length in seconds.
    public var startedAt: Double
    public var duration: Double
    /// Script instances started.
    public var instances: Int
    public var checks: [CheckSummary]
    public var metrics: [MetricSummary]
    public var thresholds: [ThresholdResult]
    /// Metrics that hit the series cap (their extra tag sets went to `overflow=true`).
    public var capped: [String]

    public init(run: String, shardCount: Int, shards: [Int], startedAt: Double, duration: Double, instances: Int,
                snapshot: MetricsSnapshot, thresholds: [ThresholdResult] = []) {
        self.run = run
        self.shardCount = shardCount
        self.shards = shards
        self.startedAt = startedAt
        self.duration = duration
        self.instances = instances
        self.thresholds = thresholds
        self.capped = snapshot.capped.sorted()
        self.metrics = snapshot.series.sorted { $0.key < $1.key }.map { MetricSummary($0.key, $0.value, duration: duration) }
        self.checks = snapshot.series.filter { $0.key.name == Builtin.checks }.sorted { $0.key < $1.key }.map {
            CheckSummary(name: $0.key.tags["check"] ?? "", passes: $0.value.passes, fails: $0.value.adds - $0.value.passes)
        }
    }

    /// The series again, as recorded (histograms rebuilt from their buckets).
    public func snapshot() throws(SummaryError) -> MetricsSnapshot {
        var s = MetricsSnapshot()
        for m in metrics {
            let stats = try m.stats()
            if let k = s.kinds[m.name], k != m.kind { throw SummaryError("metric '\(m.name)' is both a \(k) and a \(m.kind)") }
            s.kinds[m.name] = m.kind
            let key = SeriesKey(m.name, m.tags)
            if s.series[key] == nil { s.series[key] = stats } else { s.series[key]!.merge(stats) }
        }
        s.capped = Set(capped)
        return s
    }

    /// Merges shard summaries of one run: they must share format, version, run and shard
    /// count, and hold different shards.
    public static func merge(_ parts: [(file: String, summary: RunSummary)]) throws(SummaryError) -> RunSummary {
        guard let first = parts.first else { throw SummaryError("nothing to merge") }
        var snapshot = MetricsSnapshot()
        var seen: [Int: String] = [:]
        for (file, s) in parts {
            guard s.format == formatName, s.version == currentVersion else {
                throw SummaryError("\(file): a \(s.format) version \(s.version) file; this rtlua reads \(formatName) version \(currentVersion)")
            }
            guard s.run == first.summary.run, s.shardCount == first.summary.shardCount else {
                throw SummaryError("\(file) is from another run than \(first.file) (run \(s.run) of \(s.shardCount) shard(s), not \(first.summary.run) of \(first.summary.shardCount))")
            }
            for shard in s.shards {
                if let other = seen[shard] { throw SummaryError("\(file) and \(other) both hold shard \(shard)/\(s.shardCount)") }
                seen[shard] = file
            }
            do { try snapshot.merge(try s.snapshot()) } catch let e as MetricsRegistry.KindMismatch {
                throw SummaryError("\(file): \(e)")
            } catch let e as SummaryError { throw SummaryError("\(file): \(e.message)") } catch { throw SummaryError("\(file): \(error)") }
        }
        let start = parts.map(\.summary.startedAt).min()!
        let end = parts.map { $0.summary.startedAt + $0.summary.duration }.max()!
        return RunSummary(run: first.summary.run, shardCount: first.summary.shardCount, shards: seen.keys.sorted(),
                          startedAt: start, duration: max(0, end - start), instances: parts.reduce(0) { $0 + $1.summary.instances },
                          snapshot: snapshot)
    }
}

public struct SummaryError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct CheckSummary: Codable, Sendable, Equatable {
    public var name: String
    public var passes: Int
    public var fails: Int
}

public struct ThresholdResult: Codable, Sendable, Equatable {
    public var expression: String
    public var ok: Bool
    /// The measured value (nil when there was nothing to measure, e.g. a trend without samples).
    public var value: Double?
    public var message: String

    public init(expression: String, ok: Bool, value: Double?, message: String) {
        self.expression = expression
        self.ok = ok
        self.value = value
        self.message = message
    }
}

/// One series in the summary. Which fields are present depends on `kind`:
/// counter: count (the sum), adds, rate (per second); rate: count (total), passes, fails,
/// rate; gauge: count (sets), value, at, min, max; trend: count, sum, min, avg, max, p50, p90,
/// p95, p99 and histogram.
public struct MetricSummary: Codable, Sendable, Equatable {
    public var name: String
    public var kind: MetricKind
    public var tags: Tags
    public var count: Double
    public var adds: Int?
    public var rate: Double?
    public var passes: Int?
    public var fails: Int?
    public var value: Double?
    /// gauge: when `value` was set (seconds since the epoch).
    public var at: Double?
    public var sum: Double?
    public var min: Double?
    public var avg: Double?
    public var max: Double?
    public var p50: Double?
    public var p90: Double?
    public var p95: Double?
    public var p99: Double?
    public var histogram: HistogramData?

    /// A trend's buckets: `[value, count]` pairs, values scaled by `scale` (so a bucket
    /// value of 1500 with scale 1000 is 1.5).
    public struct HistogramData: Codable, Sendable, Equatable {
        public var scale: Double
        public var digits: Int
        public var buckets: [[UInt64]]
    }

    init(_ key: SeriesKey, _ s: SeriesStats, duration: Double) {
        name = key.name
        kind = s.kind
        tags = key.tags
        count = 0
        switch s.kind {
        case .counter:
            count = s.sum
            adds = s.adds
            rate = duration > 0 ? s.sum / duration : nil
        case .rate:
            count = Double(s.adds)
            passes = s.passes
            fails = s.adds - s.passes
            rate = s.adds > 0 ? Double(s.passes) / Double(s.adds) : nil
        case .gauge:
            count = Double(s.adds)
            value = s.last
            at = s.adds > 0 ? s.lastAt : nil
            min = s.adds > 0 ? s.low : nil
            max = s.adds > 0 ? s.high : nil
        case .trend:
            let t = s.trend!
            count = Double(t.count)
            sum = t.sum
            if t.count > 0 {
                min = t.min
                max = t.max
                avg = t.mean
                p50 = t.percentile(50)
                p90 = t.percentile(90)
                p95 = t.percentile(95)
                p99 = t.percentile(99)
            }
            histogram = HistogramData(scale: TrendHistogram.scale, digits: TrendHistogram.digits,
                                      buckets: t.buckets.map { [$0.value, $0.count] })
        }
    }

    /// The series as recorded, checking what a file could get wrong.
    func stats() throws(SummaryError) -> SeriesStats {
        var s = SeriesStats(kind: kind)
        let what = SeriesKey(name, tags).text
        func whole(_ x: Double?) throws(SummaryError) -> Int {
            guard let x, x >= 0, x < 1e18, x == x.rounded() else { throw SummaryError("\(what): a count must be a whole number ≥ 0") }
            return Int(x)
        }
        switch kind {
        case .counter:
            s.sum = count
            s.adds = try whole(Double(adds ?? 0))
        case .rate:
            s.adds = try whole(count)
            s.passes = try whole(Double(passes ?? -1))
            guard s.passes <= s.adds else { throw SummaryError("\(what): more passes than values") }
        case .gauge:
            s.adds = try whole(count)
            s.last = value ?? 0
            s.lastAt = at ?? 0
            s.low = min ?? .infinity
            s.high = max ?? -.infinity
        case .trend:
            guard let h = histogram, h.scale == TrendHistogram.scale, h.digits == TrendHistogram.digits else {
                throw SummaryError("\(what): a trend needs its histogram (scale \(TrendHistogram.scale), digits \(TrendHistogram.digits))")
            }
            var buckets: [TrendHistogram.Bucket] = []
            for pair in h.buckets {
                guard pair.count == 2 else { throw SummaryError("\(what): a histogram bucket is a [value, count] pair") }
                buckets.append(.init(value: pair[0], count: pair[1]))
            }
            let n = try whole(count)
            guard TrendHistogram.total(buckets) == UInt64(n) else { throw SummaryError("\(what): the buckets hold \(TrendHistogram.total(buckets)) samples, not count \(n)") }
            s.trend = TrendHistogram(buckets: buckets, count: n, sum: sum ?? 0, min: min ?? .infinity, max: max ?? -.infinity)
        }
        return s
    }
}
