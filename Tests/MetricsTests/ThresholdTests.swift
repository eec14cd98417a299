import XCTest

@testable import Metrics

final class ThresholdTests: XCTestCase {
    func testParsesTheDocumentedForms() throws {
        let t = try Threshold(parsing: "delivery{event=chat}.p99<50ms")
        XCTAssertEqual(t.metric, "delivery")
        XCTAssertEqual(t.tags, ["event": "chat"])
        XCTAssertEqual(t.stat, "p99")
        XCTAssertEqual(t.op, .lt)
        XCTAssertEqual(t.bound, 50)
        XCTAssertEqual(try Threshold(parsing: "checks.rate>0.99").bound, 0.99)
        XCTAssertEqual(try Threshold(parsing: "errors.count==0").op, .eq)
        XCTAssertEqual(try Threshold(parsing: "connect.p95<2s").bound, 2000)
        XCTAssertEqual(try Threshold(parsing: "reconnects.count < 5").op, .lt)
        XCTAssertEqual(try Threshold(parsing: "delivery.p99.9<=250us").stat, "p99.9")
        XCTAssertEqual(try Threshold(parsing: "delivery.p99.9<=250us").bound, 0.25)
        XCTAssertEqual(try Threshold(parsing: "x{a=1, b=two}.count!=3").tags, ["a": "1", "b": "two"])
    }

    func testBadExpressionsPointAtTheBadPart() {
        let cases: [(String, String, Int)] = [
            ("", "a metric name expected", 0),
            ("delivery", "'.' and a statistic expected", 8),
            ("delivery.p99", "a comparison expected", 12),
            ("delivery.p99<", "a number expected", 13),
            ("delivery.p99<50parsecs", "unknown unit 'parsecs'", 15),
            ("delivery.median<5", "unknown statistic 'median'", 9),
            ("delivery.p101<5", "unknown statistic 'p101'", 9),
            ("delivery{event}.p99<5", "'=' expected after tag 'event'", 14),
            ("delivery{event=chat.p99<5", "'}' or ',' expected", 25),
            ("errors.count==0 and more", "unexpected 'and more'", 16),
        ]
        for (text, message, offset) in cases {
            XCTAssertThrowsError(try Threshold(parsing: text), text) { error in
                let e = error as! Threshold.ParseError
                XCTAssert(e.message.contains(message), "\(text): \(e.message)")
                XCTAssertEqual(e.offset, offset, text)
                XCTAssert(e.description.hasSuffix(String(repeating: " ", count: offset) + "^"), e.description)
            }
        }
    }

    func testUnknownMetricsAndStatisticsOfTheWrongKindAreNamed() throws {
        XCTAssertNil(try Threshold(parsing: "delivery.p99<5").problem(kinds: Builtin.kinds))
        XCTAssert(try Threshold(parsing: "delivry.p99<5").problem(kinds: Builtin.kinds)!.contains("unknown metric 'delivry'"))
        XCTAssert(try Threshold(parsing: "errors.p99<5").problem(kinds: Builtin.kinds)!.contains("'errors' is a counter, which has no 'p99'"))
    }

    func testEvaluatesOverMatchingSeries() throws {
        let r = MetricsRegistry()
        for v in [10.0, 20, 30, 40] { try r.add("delivery", .trend, v, tags: ["event": "chat"]) }
        try r.add("delivery", .trend, 500, tags: ["event": "other"])
        try r.add("checks", .rate, 1, tags: ["check": "a"])
        try r.add("checks", .rate, 0, tags: ["check": "b"])
        let s = r.snapshot()
        let chat = try Threshold(parsing: "delivery{event=chat}.max<50ms").evaluate(s, duration: 1)
        XCTAssertTrue(chat.ok)
        XCTAssertEqual(chat.value, 40)
        let all = try Threshold(parsing: "delivery.max<50ms").evaluate(s, duration: 1)
        XCTAssertFalse(all.ok)
        XCTAssertEqual(all.value, 500)
        XCTAssert(all.message.contains("= 500"), all.message)
        XCTAssertEqual(try Threshold(parsing: "checks.rate>0.99").evaluate(s, duration: 1).value, 0.5)
        XCTAssertTrue(try Threshold(parsing: "errors.count==0").evaluate(s, duration: 1).ok, "no errors recorded is 0 errors")
        let none = try Threshold(parsing: "connect.p95<200ms").evaluate(s, duration: 1)
        XCTAssertFalse(none.ok, "a trend without samples has no p95")
        XCTAssertNil(none.value)
    }
}
