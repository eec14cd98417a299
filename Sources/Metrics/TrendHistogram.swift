import Histogram

/// The distribution of a trend: an HDR histogram (3 significant digits, so any percentile is
/// within 0.1 % of the true sample) over values scaled to integers, plus the exact count,
/// sum, min and max. Values are what the script gives (built-in durations are milliseconds);
/// they are kept with a resolution of 1/`scale` (1 µs for milliseconds).
public struct TrendHistogram: Sendable {
    public static let scale = 1000.0
    public static let digits = 3

    var histogram = TrendHistogram.sized(for: 1 << 16)
    public private(set) var count = 0
    public private(set) var sum = 0.0
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity

    public init() {}

    /// Records a value ≥ 0 (a caller checks the sign; a negative one is recorded as 0).
    public mutating func record(_ value: Double) {
        let v = value.isFinite && value > 0 ? value : 0
        let u = Self.units(v)
        if u > histogram.highestTrackableValue { grow(to: u) }
        _ = histogram.record(u)
        count += 1
        sum += v
        if v < min { min = v }
        if v > max { max = v }
    }

    /// A histogram covering 0...`highest` (and growing past it, as a fallback).
    static func sized(for highest: UInt64) -> Histogram<UInt64> {
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Swift.max(highest, 4096), numberOfSignificantValueDigits: .three)
        h.autoResize = true
        return h
    }

    /// Makes room for `units`: a new, larger histogram with the counts added in. The
    /// library's own auto-resize appends the new buckets one by one, unspecialized, which
    /// measured ~20 M instructions for one value of a few seconds.
    mutating func grow(to units: UInt64) {
        var bigger = Self.sized(for: Swift.max(units, histogram.highestTrackableValue) &* 4)
        bigger.add(histogram)
        histogram = bigger
    }

    static func units(_ value: Double) -> UInt64 {
        let scaled = (value * scale).rounded()
        return scaled >= Double(UInt64.max / 4) ? UInt64.max / 4 : UInt64(scaled)
    }

    /// The value at `percentile` (0...100), in the caller's unit; nil without samples.
    /// HDR's rule: the highest value equivalent to the sample at rank ⌈p·n⌉ (rounded).
    public func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        // The exact max stays the answer for the top: HDR's bucket top may lie above it.
        if p >= 100 { return max }
        return Swift.min(Double(histogram.valueAtPercentile(p)) / Self.scale, max)
    }

    public var mean: Double? { count > 0 ? sum / Double(count) : nil }

    /// Adds every sample of `other` (bucket by bucket: exact, nothing averaged).
    public mutating func merge(_ other: TrendHistogram) {
        guard other.count > 0 else { return }
        if other.histogram.highestTrackableValue > histogram.highestTrackableValue { grow(to: other.histogram.highestTrackableValue) }
        for bucket in other.buckets { _ = histogram.record(bucket.value, count: bucket.count) }
        count += other.count
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The recorded buckets, lowest first: each bucket's highest equivalent value (in scaled
    /// units) and its count. Recording these again rebuilds the same histogram.
    public var buckets: [Bucket] {
        histogram.recordedValues().map { Bucket(value: $0.value, count: UInt64($0.count)) }
    }

    public struct Bucket: Sendable, Equatable {
        public var value: UInt64
        public var count: UInt64
        public init(value: UInt64, count: UInt64) {
            self.value = value
            self.count = count
        }
    }

    /// Rebuilds a histogram from its serialized parts (a summary file's).
    public init(buckets: [Bucket], count: Int, sum: Double, min: Double, max: Double) {
        if let top = buckets.last?.value, top > histogram.highestTrackableValue { grow(to: top) }
        for b in buckets { _ = histogram.record(b.value, count: b.count) }
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }

    /// The number of samples the buckets hold (a file's `count` must agree).
    public static func total(_ buckets: [Bucket]) -> UInt64 { buckets.reduce(0) { $0 &+ $1.count } }
}
