import Clocks

/// What a metric measures (k6's four kinds).
public enum MetricKind: String, Codable, Sendable, CaseIterable {
    /// Adds values up (messages sent, bytes): `count` is the sum, `rate` the sum per second.
    case counter
    /// The share of non-zero values (checks): `rate` = passes / total.
    case rate
    /// A distribution (durations): count, min, avg, max and percentiles.
    case trend
    /// The last value set, with the lowest and highest seen.
    case gauge
}

/// A metric's tags: a small map of strings (`event = "chat"`).
public typealias Tags = [String: String]

/// One series (a metric with one set of tags): what has been recorded into it. A value
/// type that merges exactly, whether from two event loops or two shards.
public struct SeriesStats: Sendable {
    public let kind: MetricKind
    /// counter: the number of adds; rate: the total; gauge: the number of sets.
    public internal(set) var adds = 0
    /// counter: the sum of the values.
    public internal(set) var sum = 0.0
    /// rate: how many values were non-zero.
    public internal(set) var passes = 0
    /// gauge: the last value, and the lowest and highest ever set.
    public internal(set) var last = 0.0
    /// gauge: when `last` was set (seconds since the epoch), so merges keep the latest.
    public internal(set) var lastAt = 0.0
    public internal(set) var low = Double.infinity
    public internal(set) var high = -Double.infinity
    /// trend: the distribution.
    public internal(set) var trend: TrendHistogram?

    public init(kind: MetricKind) {
        self.kind = kind
        if kind == .trend { trend = TrendHistogram() }
    }

    public mutating func add(_ value: Double) {
        switch kind {
        case .counter:
            adds += 1
            sum += value
        case .rate:
            adds += 1
            if value != 0 { passes += 1 }
        case .trend:
            trend!.record(value)
        case .gauge:
            adds += 1
            last = value
            lastAt = RealClock.wallTime()
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
    }

    /// Adds `other` (same kind) in. A gauge keeps the value set last, wherever it was set.
    public mutating func merge(_ other: SeriesStats) {
        precondition(kind == other.kind, "merging a \(other.kind) into a \(kind)")
        switch kind {
        case .counter:
            adds += other.adds
            sum += other.sum
        case .rate:
            adds += other.adds
            passes += other.passes
        case .trend:
            trend!.merge(other.trend!)
        case .gauge:
            adds += other.adds
            if other.adds > 0, other.lastAt >= lastAt || adds == other.adds {
                last = other.last
                lastAt = other.lastAt
            }
            low = Swift.min(low, other.low)
            high = Swift.max(high, other.high)
        }
    }

    /// Samples recorded (for a trend) or values added.
    public var samples: Int { kind == .trend ? trend!.count : adds }
}

/// A metric name with its tags, the key of one series.
public struct SeriesKey: Hashable, Sendable, Comparable {
    public var name: String
    public var tags: Tags

    public init(_ name: String, _ tags: Tags = [:]) {
        self.name = name
        self.tags = tags
    }

    /// `name{a=1,b=2}` with the tags sorted, or `name` without tags.
    public var text: String {
        guard !tags.isEmpty else { return name }
        return name + "{" + tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }

    public static func < (a: SeriesKey, b: SeriesKey) -> Bool { a.text < b.text }
}
