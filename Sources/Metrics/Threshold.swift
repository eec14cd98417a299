/// A pass/fail rule over a run's metrics: `METRIC[{TAG=VALUE,…}].STAT OP NUMBER[UNIT]`,
/// e.g. `delivery{event=chat}.p99<50ms`, `checks.rate>0.99`, `errors.count==0`.
/// A unit (`us`, `ms`, `s`, `m`) makes the number milliseconds, the unit of the built-in
/// trends.
public struct Threshold: Sendable, Equatable {
    public enum Op: String, Sendable, CaseIterable { case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "==", ne = "!=" }

    public var expression: String
    public var metric: String
    public var tags: Tags
    public var stat: String
    public var op: Op
    public var bound: Double

    /// The statistics each kind offers.
    public static let stats: [MetricKind: [String]] = [
        .counter: ["count", "rate"],
        .rate: ["rate", "count", "passes", "fails"],
        .gauge: ["value", "min", "max"],
        .trend: ["count", "sum", "min", "avg", "max", "med", "pN (p50, p99.9, …)"],
    ]

    /// A parse error: what is wrong and where (a character offset into the expression).
    public struct ParseError: Error, CustomStringConvertible {
        public var expression: String
        public var offset: Int
        public var message: String
        /// `bad threshold 'x': message`, then the expression with a caret under the bad part.
        public var description: String {
            "bad threshold '\(expression)': \(message)\n  \(expression)\n  \(String(repeating: " ", count: offset))^"
        }
    }

    public init(parsing text: String) throws(ParseError) {
        var p = Scanner(Array(text.unicodeScalars))
        func fail(_ message: String, at offset: Int? = nil) -> ParseError {
            ParseError(expression: text, offset: offset ?? p.i, message: message)
        }
        p.skipSpaces()
        metric = p.identifier()
        guard !metric.isEmpty else { throw fail("a metric name expected (letters, digits, _)") }
        tags = [:]
        p.skipSpaces()
        if p.eat("{") {
            repeat {
                p.skipSpaces()
                let keyAt = p.i
                let key = p.identifier()
                guard !key.isEmpty else { throw fail("a tag name expected") }
                p.skipSpaces()
                guard p.eat("=") else { throw fail("'=' expected after tag '\(key)'") }
                p.skipSpaces()
                let value = p.tagValue()
                guard !value.isEmpty else { throw fail("a value expected for tag '\(key)'") }
                guard tags[key] == nil else { throw fail("tag '\(key)' given twice", at: keyAt) }
                tags[key] = value
                p.skipSpaces()
            } while p.eat(",")
            guard p.eat("}") else { throw fail("'}' or ',' expected") }
        }
        guard p.eat(".") else { throw fail("'.' and a statistic expected after '\(metric)' (count, rate, p99, …)") }
        let statAt = p.i
        stat = p.stat()
        guard Self.isStat(stat) else { throw fail(stat.isEmpty ? "a statistic expected (count, rate, p99, …)" : "unknown statistic '\(stat)'", at: statAt) }
        p.skipSpaces()
        guard let op = p.op() else { throw fail("a comparison expected (<, <=, >, >=, ==, !=)") }
        self.op = op
        p.skipSpaces()
        let numberAt = p.i
        guard let number = p.number() else { throw fail("a number expected") }
        let unitAt = p.i
        let unit = p.letters()
        switch unit {
        case "": bound = number
        case "us", "µs": bound = number / 1000
        case "ms": bound = number
        case "s": bound = number * 1000
        case "m": bound = number * 60_000
        default: throw fail("unknown unit '\(unit)' (us, ms, s, m)", at: unitAt)
        }
        guard bound.isFinite else { throw fail("the number is out of range", at: numberAt) }
        p.skipSpaces()
        guard p.atEnd else { throw fail("unexpected '\(String(p.rest))' after the number") }
        expression = text.trimmingSpaces
    }

    static func isStat(_ s: String) -> Bool {
        if ["count", "rate", "passes", "fails", "value", "min", "max", "avg", "sum", "med"].contains(s) { return true }
        guard s.first == "p", let n = Double(s.dropFirst()), n >= 0, n <= 100 else { return false }
        return true
    }

    /// Whether `stat` exists for `kind`.
    public static func applies(_ stat: String, to kind: MetricKind) -> Bool {
        switch kind {
        case .counter: return ["count", "rate"].contains(stat)
        case .rate: return ["rate", "count", "passes", "fails"].contains(stat)
        case .gauge: return ["value", "min", "max"].contains(stat)
        case .trend: return ["count", "sum", "min", "avg", "max", "med"].contains(stat) || stat.first == "p"
        }
    }

    /// The error for a metric the run does not know, or a statistic its kind lacks
    /// (nil when the threshold can be evaluated against metrics of these kinds).
    public func problem(kinds: [String: MetricKind]) -> String? {
        guard let kind = kinds[metric] else {
            let known = kinds.keys.sorted().joined(separator: ", ")
            return "bad threshold '\(expression)': unknown metric '\(metric)' (known: \(known))"
        }
        guard Self.applies(stat, to: kind) else {
            return "bad threshold '\(expression)': '\(metric)' is a \(kind), which has no '\(stat)' (it has \(Self.stats[kind]!.joined(separator: ", ")))"
        }
        return nil
    }

    /// Evaluates over the series of `snapshot` whose name is the metric and whose tags
    /// include the threshold's (all of them merged). A missing value fails.
    public func evaluate(_ snapshot: MetricsSnapshot, duration: Double) -> ThresholdResult {
        let kind = snapshot.kinds[metric] ?? Builtin.kinds[metric] ?? .counter
        var merged = SeriesStats(kind: kind)
        for (key, s) in snapshot.series where key.name == metric && s.kind == kind && tags.allSatisfy({ key.tags[$0.key] == $0.value }) {
            merged.merge(s)
        }
        let value = Self.value(stat, merged, duration: duration)
        guard let value else {
            return ThresholdResult(expression: expression, ok: false, value: nil, message: "\(expression): no value (\(merged.samples) samples)")
        }
        let ok: Bool
        switch op {
        case .lt: ok = value < bound
        case .le: ok = value <= bound
        case .gt: ok = value > bound
        case .ge: ok = value >= bound
        case .eq: ok = value == bound
        case .ne: ok = value != bound
        }
        return ThresholdResult(expression: expression, ok: ok, value: value,
                               message: "\(expression): measured \(metric)\(tags.isEmpty ? "" : SeriesKey("", tags).text).\(stat) = \(SummaryText.number(value))")
    }

    static func value(_ stat: String, _ s: SeriesStats, duration: Double) -> Double? {
        switch (s.kind, stat) {
        case (.counter, "count"): return s.sum
        case (.counter, "rate"): return duration > 0 ? s.sum / duration : nil
        case (.rate, "rate"): return s.adds > 0 ? Double(s.passes) / Double(s.adds) : nil
        case (.rate, "count"): return Double(s.adds)
        case (.rate, "passes"): return Double(s.passes)
        case (.rate, "fails"): return Double(s.adds - s.passes)
        case (.gauge, "value"): return s.adds > 0 ? s.last : nil
        case (.gauge, "min"): return s.adds > 0 ? s.low : nil
        case (.gauge, "max"): return s.adds > 0 ? s.high : nil
        case (.trend, "count"): return Double(s.trend!.count)
        case (.trend, "sum"): return s.trend!.sum
        case (.trend, "min"): return s.trend!.count > 0 ? s.trend!.min : nil
        case (.trend, "max"): return s.trend!.count > 0 ? s.trend!.max : nil
        case (.trend, "avg"): return s.trend!.mean
        case (.trend, "med"): return s.trend!.percentile(50)
        case (.trend, _) where stat.first == "p": return Double(stat.dropFirst()).flatMap { s.trend!.percentile($0) }
        default: return nil
        }
    }
}

/// A tiny cursor over the expression's characters.
private struct Scanner {
    let s: [Unicode.Scalar]
    var i = 0
    init(_ s: [Unicode.Scalar]) { self.s = s }

    var atEnd: Bool { i >= s.count }
    var rest: String.UnicodeScalarView { var v = String.UnicodeScalarView(); v.append(contentsOf: s[min(i, s.count)...]); return v }

    mutating func skipSpaces() { while i < s.count, s[i] == " " { i += 1 } }

    mutating func eat(_ c: Unicode.Scalar) -> Bool {
        guard i < s.count, s[i] == c else { return false }
        i += 1
        return true
    }

    mutating func take(while ok: (Unicode.Scalar) -> Bool) -> String {
        var out = String.UnicodeScalarView()
        while i < s.count, ok(s[i]) {
            out.append(s[i])
            i += 1
        }
        return String(out)
    }

    mutating func identifier() -> String {
        guard i < s.count, s[i].properties.isAlphabetic && s[i].isASCII || s[i] == "_" else { return "" }
        return take { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_") }
    }

    mutating func tagValue() -> String { take { $0 != "," && $0 != "}" && $0 != " " } }

    mutating func letters() -> String { take { $0.properties.isAlphabetic } }

    /// `count`, `rate`, or `p` followed by a number (`p99`, `p99.9`).
    mutating func stat() -> String {
        let word = take { $0.isASCII && $0.properties.isAlphabetic }
        guard word == "p" else { return word }
        return word + take { $0.isASCII && ($0.properties.numericType != nil || $0 == ".") }
    }

    mutating func op() -> Threshold.Op? {
        for op in [Threshold.Op.le, .ge, .eq, .ne, .lt, .gt] {
            let chars = Array(op.rawValue.unicodeScalars)
            if i + chars.count <= s.count, Array(s[i..<i + chars.count]) == chars {
                i += chars.count
                return op
            }
        }
        return nil
    }

    mutating func number() -> Double? {
        let start = i
        var text = take { $0 == "-" || $0 == "+" }
        text += take { $0.isASCII && ($0.properties.numericType != nil || $0 == ".") }
        // An exponent (1e3), but not the start of a unit.
        if i + 1 < s.count, s[i] == "e" || s[i] == "E", s[i + 1].properties.numericType != nil || s[i + 1] == "-" {
            i += 1
            text += "e" + take { $0 == "-" || $0 == "+" } + take { $0.isASCII && $0.properties.numericType != nil }
        }
        guard let n = Double(text), n.isFinite else {
            i = start
            return nil
        }
        return n
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
