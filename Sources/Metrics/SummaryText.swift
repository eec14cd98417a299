/// The end-of-run summary as text for stderr, and as JUnit XML for CI systems.
public enum SummaryText {
    /// Checks ✓/✗ with counts, each series' figures, thresholds ✓/✗.
    public static func render(_ s: RunSummary) -> String {
        var out = "── summary: \(s.instances) instance(s), \(number(s.duration))s"
        if s.shardCount > 1 { out += ", shard(s) \(s.shards.map(String.init).joined(separator: ",")) of \(s.shardCount)" }
        out += " ──\n"
        if !s.checks.isEmpty {
            out += "checks\n"
            for c in s.checks {
                out += "  \(c.fails == 0 ? "✓" : "✗") \(c.name): \(c.passes) passed, \(c.fails) failed\n"
            }
        }
        let shown = s.metrics.filter { $0.name != Builtin.checks }
        if !shown.isEmpty {
            out += "metrics\n"
            let width = shown.map { SeriesKey($0.name, $0.tags).text.count }.max() ?? 0
            for m in shown {
                let key = SeriesKey(m.name, m.tags).text
                out += "  " + key + String(repeating: " ", count: max(1, width - key.count + 1)) + figures(m) + "\n"
            }
        }
        if !s.capped.isEmpty {
            out += "  (series cap reached for \(s.capped.joined(separator: ", ")): further tag sets are counted under overflow=true)\n"
        }
        if !s.thresholds.isEmpty {
            out += "thresholds\n"
            for t in s.thresholds { out += "  \(t.ok ? "✓" : "✗") \(t.message)\n" }
        }
        return out
    }

    static func figures(_ m: MetricSummary) -> String {
        switch m.kind {
        case .counter:
            return "count=\(number(m.count))" + (m.rate.map { " rate=\(number($0))/s" } ?? "")
        case .rate:
            return "rate=\(m.rate.map { number($0 * 100) + "%" } ?? "-") passes=\(m.passes ?? 0) fails=\(m.fails ?? 0)"
        case .gauge:
            return "value=\(m.value.map(number) ?? "-") min=\(m.min.map(number) ?? "-") max=\(m.max.map(number) ?? "-")"
        case .trend:
            guard m.count > 0 else { return "count=0" }
            let parts: [(String, Double?)] = [("min", m.min), ("avg", m.avg), ("p50", m.p50), ("p90", m.p90),
                                               ("p95", m.p95), ("p99", m.p99), ("max", m.max)]
            return "count=\(number(m.count)) " + parts.map { "\($0.0)=\($0.1.map(number) ?? "-")" }.joined(separator: " ")
        }
    }

    /// Up to 3 decimals, trailing zeros dropped.
    public static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        var text = String(Double((x * 1000).rounded() / 1000))
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// JUnit XML: one test suite, a test case per check and per threshold.
    public static func junit(_ s: RunSummary) -> String {
        var cases: [String] = []
        var failures = 0
        for c in s.checks {
            var tc = "    <testcase classname=\"checks\" name=\"\(xml(c.name))\">"
            if c.fails > 0 {
                failures += 1
                tc += "<failure message=\"\(xml("\(c.fails) of \(c.passes + c.fails) failed"))\"/>"
            }
            cases.append(tc + "</testcase>")
        }
        for t in s.thresholds {
            var tc = "    <testcase classname=\"thresholds\" name=\"\(xml(t.expression))\">"
            if !t.ok {
                failures += 1
                tc += "<failure message=\"\(xml(t.message))\"/>"
            }
            cases.append(tc + "</testcase>")
        }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites tests="\(cases.count)" failures="\(failures)">
          <testsuite name="rtlua" tests="\(cases.count)" failures="\(failures)" time="\(number(s.duration))">
        \(cases.joined(separator: "\n"))
          </testsuite>
        </testsuites>

        """
    }

    static func xml(_ s: String) -> String { XMLText.escape(s) }
}
