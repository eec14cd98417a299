import Foundation
import XCTest

@testable import Metrics

final class MetricsRegistryTests: XCTestCase {
    /// A deterministic spread of latencies (a long tail), as milliseconds with µs resolution.
    func samples(_ n: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Double(state >> 11) / Double(1 << 53)
            return (1 / (1 - u * 0.999) * 1000).rounded() / 1000  // 1 ms … 1 s
        }
    }

    /// The sample at HDR's rank for `p`: the ⌈p·n⌉-th smallest (rounded as HDR rounds).
    func rawPercentile(_ sorted: [Double], _ p: Double) -> Double {
        let rank = max(1, Int(p / 100 * Double(sorted.count) + 0.5))
        return sorted[min(rank, sorted.count) - 1]
    }

    func testShardsMergeExactlyAndPercentilesMatchRawSamples() throws {
        let parts = [samples(5000, seed: 1), samples(3000, seed: 2), samples(7, seed: 3)]
        var summaries: [(file: String, summary: RunSummary)] = []
        for (i, values) in parts.enumerated() {
            let r = MetricsRegistry()
            for v in values { try r.add("delivery", .trend, v, tags: ["event": "chat"]) }
            let s = RunSummary(run: "r1", shardCount: 3, shards: [i + 1], startedAt: 100, duration: 10, instances: 1, snapshot: r.snapshot())
            // Through JSON, as `rtlua merge` reads them.
            let data = try JSONEncoder().encode(s)
            summaries.append(("s\(i).json", try JSONDecoder().decode(RunSummary.self, from: data)))
        }
        let merged = try RunSummary.merge(summaries)
        let m = try XCTUnwrap(merged.metrics.first { $0.name == "delivery" })
        let all = parts.flatMap { $0 }.sorted()
        XCTAssertEqual(m.count, Double(all.count))
        XCTAssertEqual(m.min, all.first)
        XCTAssertEqual(m.max, all.last)
        XCTAssertEqual(m.avg!, all.reduce(0, +) / Double(all.count), accuracy: 1e-9)
        // One histogram fed every raw sample gives the very same percentiles as the merge.
        var single = TrendHistogram()
        for v in all { single.record(v) }
        for (p, got) in [(50.0, m.p50), (90, m.p90), (95, m.p95), (99, m.p99)] {
            XCTAssertEqual(got, single.percentile(p), "p\(p)")
            // And both lie within HDR's 3 significant digits of the raw sample at that rank.
            let raw = rawPercentile(all, p)
            XCTAssertEqual(got!, raw, accuracy: raw * 0.001 + 0.001, "p\(p)")
        }
        XCTAssertEqual(merged.instances, 3)
        XCTAssertEqual(merged.shards, [1, 2, 3])
    }

    func testMergeRefusesOtherRunsVersionsAndRepeatedShards() throws {
        let s1 = RunSummary(run: "a", shardCount: 2, shards: [1], startedAt: 0, duration: 1, instances: 1, snapshot: MetricsSnapshot())
        var s2 = s1
        s2.shards = [2]
        XCTAssertNoThrow(try RunSummary.merge([("1", s1), ("2", s2)]))
        var other = s2
        other.run = "b"
        XCTAssertThrowsError(try RunSummary.merge([("1", s1), ("2", other)])) { XCTAssert("\($0)".contains("another run")) }
        var newer = s2
        newer.version = 99
        XCTAssertThrowsError(try RunSummary.merge([("1", s1), ("2", newer)])) { XCTAssert("\($0)".contains("version 99")) }
        XCTAssertThrowsError(try RunSummary.merge([("1", s1), ("1b", s1)])) { XCTAssert("\($0)".contains("both hold shard 1")) }
    }

    func testSummaryJSONRoundTripKeepsEveryKind() throws {
        let r = MetricsRegistry()
        try r.add("sent", .counter, 3, tags: ["event": "a"])
        try r.add("sent", .counter, 4, tags: ["event": "a"])
        try r.add("checks", .rate, 1, tags: ["check": "ok"])
        try r.add("checks", .rate, 0, tags: ["check": "ok"])
        try r.add("queue", .gauge, 5)
        try r.add("queue", .gauge, 2)
        try r.add("lat", .trend, 1.5)
        let s = RunSummary(run: "x", shardCount: 1, shards: [1], startedAt: 1, duration: 2, instances: 1, snapshot: r.snapshot())
        let back = try JSONDecoder().decode(RunSummary.self, from: try JSONEncoder().encode(s))
        XCTAssertEqual(back, s)
        XCTAssertEqual(back.checks, [CheckSummary(name: "ok", passes: 1, fails: 1)])
        let sent = try XCTUnwrap(back.metrics.first { $0.name == "sent" })
        XCTAssertEqual(sent.count, 7)
        XCTAssertEqual(sent.rate, 3.5)
        let queue = try XCTUnwrap(back.metrics.first { $0.name == "queue" })
        XCTAssertEqual([queue.value, queue.min, queue.max], [2, 2, 5])
        // Rebuilt series summarize to the same figures.
        let again = RunSummary(run: "x", shardCount: 1, shards: [1], startedAt: 1, duration: 2, instances: 1, snapshot: try back.snapshot())
        XCTAssertEqual(again, s)
    }

    func testSeriesCapSendsFurtherTagSetsToOverflowAndSaysSoOnce() throws {
        let told = Told()
        let r = MetricsRegistry(seriesCap: 3) { told.add($0) }
        for i in 0..<10 { try r.add("hits", .counter, 1, tags: ["user": "\(i)"]) }
        let s = r.snapshot()
        XCTAssertEqual(s.series.count, 4)
        XCTAssertEqual(s.series[SeriesKey("hits", MetricsRegistry.overflowTags)]?.sum, 7)
        XCTAssertEqual(told.names, ["hits"])
        XCTAssertEqual(s.capped, ["hits"])
        // The built-in per-event series too, whatever the number of event names.
        for i in 0..<10 { r.cells(event: "e\(i)").sent.add(1) }
        let sent = r.snapshot().series.filter { $0.key.name == Builtin.messagesSent }
        XCTAssertEqual(sent.count, 4)
        XCTAssertEqual(sent[SeriesKey(Builtin.messagesSent, MetricsRegistry.overflowTags)]?.sum, 7)
        XCTAssertEqual(told.names, ["hits", Builtin.messagesSent])
    }

    func testAGaugeMergesToTheValueSetLastWhicheverRegistryHadIt() throws {
        let early = MetricsRegistry(), late = MetricsRegistry()
        try early.add("queue", .gauge, 7)
        try early.add("queue", .gauge, 1)
        usleep(2000)
        try late.add("queue", .gauge, 4)
        for (a, b) in [(early, late), (late, early)] {
            var s = a.snapshot()
            try s.merge(b.snapshot())
            let q = try XCTUnwrap(s.series[SeriesKey("queue")])
            XCTAssertEqual([q.last, q.low, q.high], [4, 1, 7])
            XCTAssertEqual(q.adds, 3)
        }
    }

    func testAMetricKeepsItsKind() throws {
        let r = MetricsRegistry()
        try r.add("x", .counter, 1)
        XCTAssertThrowsError(try r.add("x", .trend, 1)) { XCTAssertEqual("\($0)", "metric 'x' is a counter, not a trend") }
    }

    func testDeliveryClockTimesAReceiptFromItsSend() {
        let clock = DeliveryClock()
        let key = DeliveryClock.key(event: "chat", channel: "room", text: Array("{\"n\":1}".utf8))
        XCTAssertNil(clock.delivered(key, at: 5_000_000))
        clock.sent(key, at: 1_000_000)
        XCTAssertEqual(clock.delivered(key, at: 4_500_000), 3.5)
        let other = DeliveryClock.key(event: "chat", channel: "other", text: Array("{\"n\":1}".utf8))
        XCTAssertNil(clock.delivered(other, at: 4_500_000), "another channel is another message")
        XCTAssertNil(clock.delivered(key, at: 1_000_000 + DeliveryClock.horizonNanoseconds + 1), "past the horizon")
    }

    /// Bots on several loops share the table without a lock: a receipt never pairs one
    /// send's key with another send's time, even while other threads write the same slots.
    func testDeliveryClockKeepsEachSendsTimeUnderConcurrentWriters() {
        let clock = DeliveryClock()
        // Keys that share slots (equal low 20 bits), each always sent at a time derived from it.
        let keys = (1...8).map { $0 << 40 | 12_345 }
        @Sendable func time(_ key: Int) -> UInt64 { UInt64(key >> 40) * 1_000_000 }
        let mismatches = Tally()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var bad = 0
            for i in 0..<50_000 {
                let key = keys[(i + worker) % keys.count]
                if worker % 2 == 0 {
                    clock.sent(key, at: time(key))
                } else if let ms = clock.delivered(key, at: time(key) + 2_000_000), ms != 2 {
                    bad += 1
                }
            }
            mismatches.add(bad)
        }
        XCTAssertEqual(mismatches.total, 0)
    }
}

final class Told: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.withLock { list.append(s) } }
    var names: [String] { lock.withLock { list } }
}

/// A count several threads add to.
private final class Tally: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.withLock { count += n } }
    var total: Int { lock.withLock { count } }
}
