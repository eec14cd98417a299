#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import XCTest
@testable import LuaHost

/// Expected times come from the C library's timegm/gmtime_r, not from the code under test.
final class CronScheduleTests: XCTestCase {

    // MARK: helpers

    /// "2024-02-29 13:05" or "2024-02-29 13:05:30", read as UTC.
    private func utc(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).compactMap { Int($0) }
        guard parts.count == 5 || parts.count == 6 else {
            XCTFail("bad test time '\(text)'", file: file, line: line)
            return 0
        }
        var t = tm()
        t.tm_year = Int32(parts[0] - 1900)
        t.tm_mon = Int32(parts[1] - 1)
        t.tm_mday = Int32(parts[2])
        t.tm_hour = Int32(parts[3])
        t.tm_min = Int32(parts[4])
        t.tm_sec = Int32(parts.count == 6 ? parts[5] : 0)
        return Double(timegm(&t))
    }

    private func show(_ epoch: Double?) -> String {
        guard let epoch else { return "nil" }
        var t = time_t(epoch.rounded(.down))
        var g = tm()
        gmtime_r(&t, &g)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(g.tm_year + 1900)-\(two(g.tm_mon + 1))-\(two(g.tm_mday)) \(two(g.tm_hour)):\(two(g.tm_min)):\(two(g.tm_sec))"
    }

    private func schedule(_ spec: String, file: StaticString = #filePath, line: UInt = #line) -> CronSchedule? {
        do {
            return try CronSchedule(spec)
        } catch {
            XCTFail("'\(spec)' rejected: \(error)", file: file, line: line)
            return nil
        }
    }

    private func values(_ bits: UInt64) -> [Int] { (0..<64).filter { bits & (1 << UInt64($0)) != 0 } }

    private func withTZ(_ zone: String, _ body: () throws -> Void) rethrows {
        let old = getenv("TZ").map { String(cString: $0) }
        setenv("TZ", zone, 1)
        tzset()
        defer {
            if let old { setenv("TZ", old, 1) } else { unsetenv("TZ") }
            tzset()
        }
        try body()
    }

    // MARK: next fire, UTC

    func testNextFireTable() {
        let cases: [(spec: String, after: String, next: String, line: UInt)] = [
            // strictly after, whole minutes
            ("* * * * *", "2024-01-01 00:00", "2024-01-01 00:01", #line),
            ("* * * * *", "2024-01-01 00:00:30", "2024-01-01 00:01", #line),
            ("*/5 * * * *", "2024-01-01 00:00", "2024-01-01 00:05", #line),
            ("*/5 * * * *", "2024-01-01 00:03:59", "2024-01-01 00:05", #line),
            ("*/5 * * * *", "2024-01-01 00:55", "2024-01-01 01:00", #line),
            // steps
            ("1-10/2 * * * *", "2024-01-01 00:01", "2024-01-01 00:03", #line),
            ("1-10/2 * * * *", "2024-01-01 00:09", "2024-01-01 01:01", #line),
            ("5/15 * * * *", "2024-01-01 00:50", "2024-01-01 01:05", #line),
            ("5/15 * * * *", "2024-01-01 00:05", "2024-01-01 00:20", #line),
            ("0 */6 * * *", "2024-01-01 19:00", "2024-01-02 00:00", #line),
            ("*/40 * * * *", "2024-01-01 00:00", "2024-01-01 00:40", #line),
            ("*/40 * * * *", "2024-01-01 00:40", "2024-01-01 01:00", #line),
            ("0 0 */10 * *", "2024-01-11 00:00", "2024-01-21 00:00", #line),
            ("0 0 */10 * *", "2024-01-31 00:00", "2024-02-01 00:00", #line),
            // lists
            ("0,30 8,17 * * *", "2024-01-01 08:30", "2024-01-01 17:00", #line),
            ("0,30 8,17 * * *", "2024-01-01 17:30", "2024-01-02 08:00", #line),
            ("15,45 * * * *", "2024-01-01 10:15", "2024-01-01 10:45", #line),
            // month ends
            ("0 0 1 * *", "2024-01-31 12:00", "2024-02-01 00:00", #line),
            ("0 0 31 * *", "2024-04-15 00:00", "2024-05-31 00:00", #line),
            ("0 0 31 * *", "2024-05-31 00:00", "2024-07-31 00:00", #line),
            ("0 0 30 * *", "2023-01-30 00:00", "2023-03-30 00:00", #line),
            ("0 0 30 * *", "2024-01-30 00:00", "2024-03-30 00:00", #line),
            ("59 23 * * *", "2024-02-28 23:59", "2024-02-29 23:59", #line),
            ("59 23 * * *", "2023-02-28 23:59", "2023-03-01 23:59", #line),
            ("0 0 28-31 * *", "2024-02-29 00:00", "2024-03-28 00:00", #line),
            // Feb 29
            ("0 12 29 2 *", "2023-03-01 00:00", "2024-02-29 12:00", #line),
            ("0 12 29 2 *", "2024-02-29 12:00", "2028-02-29 12:00", #line),
            ("0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00", #line),  // 2100 is no leap year
            ("0 0 29 2 *", "1999-01-01 00:00", "2000-02-29 00:00", #line),  // 2000 is
            // year end
            ("59 23 31 12 *", "2024-12-31 23:59", "2025-12-31 23:59", #line),
            ("0 0 1 1 *", "2024-12-31 23:59:59", "2025-01-01 00:00", #line),
            ("30 * * * *", "2024-12-31 23:45", "2025-01-01 00:30", #line),
            ("* * * * *", "2024-12-31 23:59", "2025-01-01 00:00", #line),
            ("0 0 * 12 *", "2024-12-31 00:00", "2025-12-01 00:00", #line),
            // day of week, 0 and 7 are Sunday (2024-01-01 is a Monday)
            ("0 9 * * mon", "2024-01-03 00:00", "2024-01-08 09:00", #line),
            ("0 0 * * 0", "2024-01-01 00:00", "2024-01-07 00:00", #line),
            ("0 0 * * 7", "2024-01-01 00:00", "2024-01-07 00:00", #line),
            ("0 0 * * sun", "2024-01-01 00:00", "2024-01-07 00:00", #line),
            ("0 0 * * 1-5", "2024-01-05 00:00", "2024-01-08 00:00", #line),
            ("0 0 * * mon-fri", "2024-01-05 12:00", "2024-01-08 00:00", #line),
            ("0 0 * * 5-7", "2024-01-07 00:00", "2024-01-12 00:00", #line),
            ("0 0 * * fri-sun", "2024-01-05 00:00", "2024-01-06 00:00", #line),
            ("0 0 * * fri-sun", "2024-01-07 00:00", "2024-01-12 00:00", #line),
            ("0 0 * * SAT", "2024-01-01 00:00", "2024-01-06 00:00", #line),
            ("0 0 * * Wed,sat", "2024-01-03 00:00", "2024-01-06 00:00", #line),
            // OR rule: both day fields restricted, either matches (2024-10-13 is a Sunday)
            ("0 0 13 * fri", "2024-10-05 00:00", "2024-10-11 00:00", #line),
            ("0 0 13 * fri", "2024-10-11 00:00", "2024-10-13 00:00", #line),
            ("0 0 13 * fri", "2024-10-13 00:00", "2024-10-18 00:00", #line),
            ("0 0 1,15 * mon", "2024-01-01 00:00", "2024-01-08 00:00", #line),
            ("0 0 1,15 * mon", "2024-01-08 00:00", "2024-01-15 00:00", #line),
            ("0 0 1,15 * mon", "2024-01-29 00:00", "2024-02-01 00:00", #line),
            // a day field written with '*' restricts nothing for the OR rule: then both must match
            ("0 0 */2 * fri", "2024-10-01 00:00", "2024-10-11 00:00", #line),
            ("0 0 * * fri", "2024-10-01 00:00", "2024-10-04 00:00", #line),
            ("0 0 13 * *", "2024-10-01 00:00", "2024-10-13 00:00", #line),
            // months by name and number
            ("0 0 1 jun-aug *", "2024-08-31 00:00", "2025-06-01 00:00", #line),
            ("0 0 1 JAN,jul *", "2024-01-01 00:00", "2024-07-01 00:00", #line),
            ("0 0 1 2 *", "2024-02-01 00:00", "2025-02-01 00:00", #line),
            ("0 0 * feb *", "2024-02-29 00:00", "2025-02-01 00:00", #line),
            // whitespace between fields is free
            ("  0\t0  1 1   *  ", "2024-05-05 00:00", "2025-01-01 00:00", #line),
            // before 1970
            ("* * * * *", "1969-12-31 23:58:30", "1969-12-31 23:59", #line),
            ("0 0 1 1 *", "1969-06-01 00:00", "1970-01-01 00:00", #line),
        ]
        for c in cases {
            guard let s = schedule(c.spec, line: c.line) else { continue }
            let got = s.nextFire(after: utc(c.after, line: c.line), timeZoneOffsetSeconds: 0)
            XCTAssertEqual(show(got), show(utc(c.next, line: c.line)), "'\(c.spec)' after \(c.after)", line: c.line)
        }
    }

    func testShorthands() {
        // 2024-01-03 is a Wednesday.
        let cases: [(spec: String, after: String, next: String, line: UInt)] = [
            ("@hourly", "2024-01-03 10:15", "2024-01-03 11:00", #line),
            ("@hourly", "2024-01-03 11:00", "2024-01-03 12:00", #line),
            ("@daily", "2024-01-03 10:15", "2024-01-04 00:00", #line),
            ("@midnight", "2024-01-03 10:15", "2024-01-04 00:00", #line),
            ("@weekly", "2024-01-03 10:15", "2024-01-07 00:00", #line),
            ("@monthly", "2024-01-03 10:15", "2024-02-01 00:00", #line),
            ("@monthly", "2024-12-03 10:15", "2025-01-01 00:00", #line),
            ("@yearly", "2024-01-03 10:15", "2025-01-01 00:00", #line),
            ("@annually", "2024-01-03 10:15", "2025-01-01 00:00", #line),
            ("@DAILY", "2024-01-03 10:15", "2024-01-04 00:00", #line),
            ("  @daily\t", "2024-01-03 10:15", "2024-01-04 00:00", #line),
        ]
        for c in cases {
            guard let s = schedule(c.spec, line: c.line) else { continue }
            XCTAssertNil(s.interval, line: c.line)
            let got = s.nextFire(after: utc(c.after), timeZoneOffsetSeconds: 0)
            XCTAssertEqual(show(got), show(utc(c.next)), "'\(c.spec)' after \(c.after)", line: c.line)
        }
    }

    func testEvery() {
        let cases: [(spec: String, seconds: Double, line: UInt)] = [
            ("@every 10s", 10, #line),
            ("@every 1m30s", 90, #line),
            ("@every 500ms", 0.5, #line),
            ("@every 2h", 7200, #line),
            ("@every 1.5s", 1.5, #line),
            ("@every 1h30m", 5400, #line),
            ("@every 1h2m3s4ms", 3723.004, #line),
            ("@every 90m", 5400, #line),
            ("@every 1ms", 0.001, #line),
            ("@every 8784h", 8784 * 3600, #line),
            ("@EVERY   5s", 5, #line),
        ]
        for c in cases {
            guard let s = schedule(c.spec, line: c.line) else { continue }
            XCTAssertEqual(s.interval ?? -1, c.seconds, accuracy: 1e-9, c.spec, line: c.line)
            XCTAssertEqual(s.nextFire(after: 1000.25) ?? -1, 1000.25 + c.seconds, accuracy: 1e-6, c.spec, line: c.line)
            XCTAssertEqual(s.nextFire(after: 1000.25, timeZoneOffsetSeconds: 3600) ?? -1, 1000.25 + c.seconds,
                           accuracy: 1e-6, c.spec, line: c.line)
        }
    }

    func testTimeZoneOffset() {
        guard let nine = schedule("0 9 * * *"), let midnight = schedule("0 0 * * *") else { return }
        // UTC+1: 09:00 local is 08:00 UTC.
        XCTAssertEqual(show(nine.nextFire(after: utc("2024-01-01 00:00"), timeZoneOffsetSeconds: 3600)),
                       show(utc("2024-01-01 08:00")))
        // UTC-5 at 00:00 UTC is 19:00 the day before; next local midnight is 05:00 UTC.
        XCTAssertEqual(show(midnight.nextFire(after: utc("2024-01-01 00:00"), timeZoneOffsetSeconds: -18000)),
                       show(utc("2024-01-01 05:00")))
        // UTC+5:30, across the local year end.
        guard let newYear = schedule("0 0 1 1 *") else { return }
        XCTAssertEqual(show(newYear.nextFire(after: utc("2024-12-31 12:00"), timeZoneOffsetSeconds: 19800)),
                       show(utc("2024-12-31 18:30")))
    }

    /// Repeated calls walk the whole sequence: counts prove nothing is skipped or doubled.
    func testSequences() {
        let cases: [(spec: String, from: String, to: String, count: Int, line: UInt)] = [
            ("*/5 * * * *", "2024-01-01 00:00", "2024-01-02 00:00", 288, #line),
            ("0 0 29 2 *", "2000-01-01 00:00", "2400-01-01 00:00", 97, #line),
            ("0 0 31 * *", "2023-01-01 00:00", "2024-01-01 00:00", 7, #line),
            ("0 0 * * 0", "2024-01-01 00:00", "2025-01-01 00:00", 52, #line),
            ("0 0 13 * fri", "2024-01-01 00:00", "2025-01-01 00:00", 12 + 52 - 2, #line),  // Fri 13th: Sep, Dec
            ("@hourly", "2024-02-01 00:00", "2024-03-01 00:00", 29 * 24, #line),
            ("@monthly", "1999-12-31 00:00", "2100-12-31 00:00", 1212, #line),
        ]
        for c in cases {
            guard let s = schedule(c.spec, line: c.line) else { continue }
            let end = utc(c.to)
            var t = utc(c.from)
            var count = 0
            while let next = s.nextFire(after: t, timeZoneOffsetSeconds: 0), next <= end, count <= c.count {
                XCTAssertGreaterThan(next, t, line: c.line)
                XCTAssertEqual(next.truncatingRemainder(dividingBy: 60), 0, line: c.line)
                t = next
                count += 1
            }
            XCTAssertEqual(count, c.count, c.spec, line: c.line)
        }
    }

    /// The search agrees with a plain minute-by-minute scan for many field combinations.
    func testAgreesWithBruteForce() throws {
        let minutes = ["*", "0", "*/7", "5-10,45"]
        let hours = ["*", "3", "22-23", "*/5"]
        let doms = ["*", "1", "15-16", "31", "*/10"]
        let monthsList = ["*", "2", "nov-dec"]
        let dows = ["*", "0", "sat,wed", "1-5", "*/3"]
        let starts = [utc("2024-02-27 22:58"), utc("2023-12-31 23:59:59")]
        var checked = 0
        for mi in minutes { for h in hours { for d in doms { for mo in monthsList { for w in dows {
            let spec = "\(mi) \(h) \(d) \(mo) \(w)"
            guard let s = try? CronSchedule(spec), case .calendar(let f) = s.kind else { continue }
            for start in starts {
                let got = s.nextFire(after: start, timeZoneOffsetSeconds: 0)
                XCTAssertEqual(show(got), show(bruteForce(f, after: start)), "'\(spec)' after \(show(start))")
                checked += 1
            }
        } } } } }
        XCTAssertGreaterThan(checked, 1500)
    }

    /// Day by day, then minute by minute, with gmtime_r doing the calendar.
    private func bruteForce(_ f: CronFields, after: Double) -> Double? {
        func has(_ bits: UInt64, _ v: Int32) -> Bool { bits & (1 << UInt64(v)) != 0 }
        let firstMinute = (after / 60).rounded(.down) * 60 + 60
        var day = (firstMinute / 86400).rounded(.down) * 86400
        for _ in 0..<(366 * 30) {
            var t = time_t(day)
            var g = tm()
            gmtime_r(&t, &g)
            let dom = has(f.daysOfMonth, g.tm_mday), dow = has(f.daysOfWeek, g.tm_wday)
            let dayOK = f.domStar || f.dowStar ? dom && dow : dom || dow
            if has(f.months, g.tm_mon + 1) && dayOK {
                for m in 0..<1440 {
                    let when = day + Double(m * 60)
                    if when >= firstMinute && has(f.hours, Int32(m / 60)) && has(f.minutes, Int32(m % 60)) { return when }
                }
            }
            day += 86400
        }
        return nil
    }

    // MARK: local time

    func testLocalTimeMatchesFixedOffsetOutsideDST() {
        withTZ("EST5EDT,M3.2.0,M11.1.0") {
            for spec in ["30 9 * * *", "*/5 * * * *", "0 0 1 * *", "@daily"] {
                guard let s = schedule(spec) else { continue }
                let after = utc("2024-01-15 12:34:56")
                XCTAssertEqual(show(s.nextFire(after: after)), show(s.nextFire(after: after, timeZoneOffsetSeconds: -18000)), spec)
            }
            guard let s = schedule("30 9 * * *") else { return }
            XCTAssertEqual(show(s.nextFire(after: utc("2024-07-01 00:00"))), show(utc("2024-07-01 13:30")))  // EDT = UTC-4
        }
    }

    func testLocalTimeSpringForwardGap() {
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        withTZ("EST5EDT,M3.2.0,M11.1.0") {
            guard let s = schedule("30 2 * * *") else { return }
            let first = s.nextFire(after: utc("2024-03-10 05:00"))   // 00:00 EST
            XCTAssertEqual(show(first), show(utc("2024-03-10 07:00")))  // the skipped 02:30 fires at the changeover, 03:00 EDT
            XCTAssertEqual(show(first.flatMap { s.nextFire(after: $0) }), show(utc("2024-03-11 06:30")))

            guard let q = schedule("*/30 * * * *") else { return }
            var t = utc("2024-03-10 06:00")  // 01:00 EST
            var fires: [String] = []
            for _ in 0..<4 {
                guard let next = q.nextFire(after: t) else { break }
                fires.append(show(next))
                t = next
            }
            // 01:30 EST, then wall-clock 02:00 lands on 03:00 EDT, then 03:30 and 04:00 EDT
            XCTAssertEqual(fires, ["2024-03-10 06:30:00", "2024-03-10 07:00:00", "2024-03-10 07:30:00", "2024-03-10 08:00:00"])
        }
    }

    func testLocalTimeFallBackRepeatsNothing() {
        // 2024-11-03: 02:00 EDT goes back to 01:00 EST (06:00 UTC); 01:xx happens twice.
        withTZ("EST5EDT,M3.2.0,M11.1.0") {
            guard let s = schedule("*/30 * * * *") else { return }
            var t = utc("2024-11-03 04:00")  // 00:00 EDT
            var fires: [String] = []
            for _ in 0..<4 {
                guard let next = s.nextFire(after: t) else { break }
                fires.append(show(next))
                t = next
            }
            XCTAssertEqual(fires, ["2024-11-03 04:30:00", "2024-11-03 05:00:00", "2024-11-03 05:30:00", "2024-11-03 07:00:00"])

            // Asked from inside the repeated hour, it fires in that hour.
            XCTAssertEqual(show(s.nextFire(after: utc("2024-11-03 06:10"))), show(utc("2024-11-03 06:30")))
            guard let daily = schedule("30 1 * * *") else { return }
            XCTAssertEqual(show(daily.nextFire(after: utc("2024-11-03 04:00"))), show(utc("2024-11-03 05:30")))
            XCTAssertEqual(show(daily.nextFire(after: utc("2024-11-03 05:30"))), show(utc("2024-11-04 06:30")))
        }
    }

    // MARK: a time zone named by the schedule (CRON_TZ= / TZ=)

    /// Fire times from `from`, `count` of them, shown in UTC.
    private func fires(_ s: CronSchedule, from: String, count: Int) -> [String] {
        var t = utc(from)
        var out: [String] = []
        for _ in 0..<count {
            guard let next = s.nextFire(after: t) else { break }
            out.append(show(next))
            t = next
        }
        return out
    }

    /// The process's own zone must not matter: the same answers under UTC and Tokyo.
    private let processZones = ["UTC", "Asia/Tokyo"]

    func testNamedZoneEuropeParisAcrossBothDSTChanges() {
        // 2027-03-28 02:00 CET → 03:00 CEST (01:00 UTC); 2027-10-31 03:00 CEST → 02:00 CET (01:00 UTC).
        for processZone in processZones { withTZ(processZone) {
            guard let nine = schedule("CRON_TZ=Europe/Paris 0 9 * * *"),
                  let gap = schedule("CRON_TZ=Europe/Paris 30 2 * * *"),
                  let halfHours = schedule("CRON_TZ=Europe/Paris */30 * * * *") else { return }
            XCTAssertEqual(nine.timeZone?.identifier, "Europe/Paris")
            XCTAssertEqual(fires(nine, from: "2027-03-26 12:00", count: 3),
                           ["2027-03-27 08:00:00", "2027-03-28 07:00:00", "2027-03-29 07:00:00"], processZone)
            // The skipped 02:30 runs once, at the changeover; the next day at 02:30 CEST.
            XCTAssertEqual(fires(gap, from: "2027-03-27 02:00", count: 2),
                           ["2027-03-28 01:00:00", "2027-03-29 00:30:00"], processZone)
            // 01:30 CET, then every skipped minute at once at 03:00 CEST, then 03:30 CEST.
            XCTAssertEqual(fires(halfHours, from: "2027-03-28 00:00", count: 3),
                           ["2027-03-28 00:30:00", "2027-03-28 01:00:00", "2027-03-28 01:30:00"], processZone)
            // 02:30 happens twice on 31 October: it runs at the first (CEST), not again.
            XCTAssertEqual(fires(gap, from: "2027-10-30 12:00", count: 2),
                           ["2027-10-31 00:30:00", "2027-11-01 01:30:00"], processZone)
            XCTAssertEqual(fires(nine, from: "2027-10-30 12:00", count: 2),
                           ["2027-10-31 08:00:00", "2027-11-01 08:00:00"], processZone)
        } }
    }

    func testNamedZoneNewYorkWeekdaysAcrossTheMarchSwitch() {
        // 2027-03-14 02:00 EST → 03:00 EDT (07:00 UTC); 2027-11-07 02:00 EDT → 01:00 EST (06:00 UTC).
        for processZone in processZones { withTZ(processZone) {
            guard let weekdays = schedule("CRON_TZ=America/New_York 0 9 * * 1-5"),
                  let halfHours = schedule("CRON_TZ=America/New_York */30 * * * *") else { return }
            XCTAssertEqual(fires(weekdays, from: "2027-03-07 00:00", count: 10), [
                "2027-03-08 14:00:00", "2027-03-09 14:00:00", "2027-03-10 14:00:00", "2027-03-11 14:00:00",
                "2027-03-12 14:00:00", "2027-03-15 13:00:00", "2027-03-16 13:00:00", "2027-03-17 13:00:00",
                "2027-03-18 13:00:00", "2027-03-19 13:00:00",
            ], processZone)
            XCTAssertEqual(fires(halfHours, from: "2027-03-14 06:00", count: 4),
                           ["2027-03-14 06:30:00", "2027-03-14 07:00:00", "2027-03-14 07:30:00", "2027-03-14 08:00:00"],
                           processZone)
            // The repeated 01:xx hour runs once, in EDT.
            XCTAssertEqual(fires(halfHours, from: "2027-11-07 04:00", count: 4),
                           ["2027-11-07 04:30:00", "2027-11-07 05:00:00", "2027-11-07 05:30:00", "2027-11-07 07:00:00"],
                           processZone)
        } }
    }

    func testNamedZoneWithAHalfHourGap() {
        // Lord Howe Island: 2027-10-03 02:00 (+10:30) → 02:30 (+11:00), at 15:30 UTC.
        withTZ("UTC") {
            guard let s = schedule("CRON_TZ=Australia/Lord_Howe */15 * * * *") else { return }
            XCTAssertEqual(fires(s, from: "2027-10-02 15:00", count: 3),
                           ["2027-10-02 15:15:00", "2027-10-02 15:30:00", "2027-10-02 15:45:00"])
        }
    }

    func testTZPrefixIsTheSameAsCRONTZ() {
        withTZ("UTC") {
            guard let a = schedule("TZ=America/New_York 0 9 * * 1-5"),
                  let b = schedule("CRON_TZ=America/New_York 0 9 * * 1-5"),
                  let daily = schedule("  TZ=Asia/Kolkata\t@daily") else { return }
            XCTAssertEqual(a.timeZone?.identifier, "America/New_York")
            XCTAssertEqual(fires(a, from: "2027-03-07 00:00", count: 10), fires(b, from: "2027-03-07 00:00", count: 10))
            XCTAssertEqual(fires(daily, from: "2027-01-01 12:00", count: 1), ["2027-01-01 18:30:00"])  // UTC+5:30
            XCTAssertNil(schedule("0 9 * * 1-5")?.timeZone)
        }
    }

    func testUnknownOrMisplacedTimeZone() {
        let cases: [(spec: String, message: String, kind: CronScheduleError.Kind, line: UInt)] = [
            ("CRON_TZ=Mars/Base 0 9 * * *", "unknown time zone 'Mars/Base'", .unknownTimeZone, #line),
            ("TZ=Mars/Base 0 9 * * *", "unknown time zone 'Mars/Base'", .unknownTimeZone, #line),
            ("CRON_TZ= 0 9 * * *", "cron: 'CRON_TZ=' needs a time zone name such as 'CRON_TZ=Europe/Paris'", .badSpec, #line),
            ("CRON_TZ=Europe/Paris @every 10s",
             "cron: a time zone has no effect on '@every 10s' (CRON_TZ= is for cron fields and @daily-style shorthands)", .badSpec, #line),
            ("CRON_TZ=Europe/Paris 0 9 * *",
             "cron: expected 5 fields (minute hour day-of-month month day-of-week) or an @ shorthand, got 4 in '0 9 * *'", .badSpec, #line),
            ("CRON_TZ=Europe/Paris", "cron: expected 5 fields (minute hour day-of-month month day-of-week) or an @ shorthand, got 0 in ''",
             .badSpec, #line),
        ]
        for c in cases {
            do {
                let s = try CronSchedule(c.spec)
                XCTFail("'\(c.spec)' accepted as \(s.kind)", line: c.line)
            } catch {
                XCTAssertEqual(error.message, c.message, line: c.line)
                XCTAssertEqual(error.kind, c.kind, line: c.line)
            }
        }
    }

    func testNonFiniteInstantGivesNil() {
        guard let s = schedule("* * * * *"), let e = schedule("@every 1s") else { return }
        for bad in [Double.nan, .infinity, -.infinity] {
            XCTAssertNil(s.nextFire(after: bad))
            XCTAssertNil(s.nextFire(after: bad, timeZoneOffsetSeconds: 0))
            XCTAssertNil(e.nextFire(after: bad))
        }
    }

    // MARK: parsing

    func testFieldParsing() throws {
        let cases: [(spec: String, field: KeyPath<CronFields, UInt64>, values: [Int], line: UInt)] = [
            ("1-10/2 * * * *", \.minutes, [1, 3, 5, 7, 9], #line),
            ("*/15 * * * *", \.minutes, [0, 15, 30, 45], #line),
            ("50/5 * * * *", \.minutes, [50, 55], #line),
            ("59,0,7 * * * *", \.minutes, [0, 7, 59], #line),
            ("1-3,2-4 * * * *", \.minutes, [1, 2, 3, 4], #line),
            ("10-10 * * * *", \.minutes, [10], #line),
            ("* 0-23/8 * * *", \.hours, [0, 8, 16], #line),
            ("* * 1,31 * *", \.daysOfMonth, [1, 31], #line),
            ("* * * jan-mar,Dec *", \.months, [1, 2, 3, 12], #line),
            ("* * * 1-12/4 *", \.months, [1, 5, 9], #line),
            ("* * * */6 *", \.months, [1, 7], #line),
            ("* * * * 7", \.daysOfWeek, [0], #line),
            ("* * * * 0,7", \.daysOfWeek, [0], #line),
            ("* * * * 1-7", \.daysOfWeek, [0, 1, 2, 3, 4, 5, 6], #line),
            ("* * * * */2", \.daysOfWeek, [0, 2, 4, 6], #line),
            ("* * * * sun,TUE,thu", \.daysOfWeek, [0, 2, 4], #line),
            ("* * * * sat-sun", \.daysOfWeek, [0, 6], #line),
            ("* * * * mon-3", \.daysOfWeek, [1, 2, 3], #line),
        ]
        for c in cases {
            guard let s = schedule(c.spec, line: c.line), case .calendar(let f) = s.kind else {
                XCTFail("not a calendar schedule", line: c.line)
                continue
            }
            XCTAssertEqual(values(f[keyPath: c.field]), c.values, c.spec, line: c.line)
        }
        guard case .calendar(let f) = try CronSchedule("0 0 */2 * 5").kind,
              case .calendar(let g) = try CronSchedule("0 0 2 * 5").kind else { return XCTFail() }
        XCTAssertTrue(f.domStar)
        XCTAssertFalse(f.dowStar)
        XCTAssertFalse(g.domStar || g.dowStar)
    }

    func testErrors() {
        let cases: [(spec: String, message: String, line: UInt)] = [
            ("61 * * * *", "cron: bad minute field '61': 61 is out of range 0-59", #line),
            ("1,61 * * * *", "cron: bad minute field '1,61': 61 is out of range 0-59", #line),
            ("* 24 * * *", "cron: bad hour field '24': 24 is out of range 0-23", #line),
            ("* * 0 * *", "cron: bad day-of-month field '0': 0 is out of range 1-31", #line),
            ("* * 32 * *", "cron: bad day-of-month field '32': 32 is out of range 1-31", #line),
            ("* * * 0 *", "cron: bad month field '0': 0 is out of range 1-12", #line),
            ("* * * 13 *", "cron: bad month field '13': 13 is out of range 1-12", #line),
            ("* * * * 8", "cron: bad day-of-week field '8': 8 is out of range 0-7", #line),
            ("* * * foo *", "cron: bad month field 'foo': 'foo' is not a number 1-12 or a name like 'jan'", #line),
            ("* * * * funday", "cron: bad day-of-week field 'funday': 'funday' is not a number 0-7 or a name like 'mon'", #line),
            ("* * * * monday", "cron: bad day-of-week field 'monday': 'monday' is not a number 0-7 or a name like 'mon'", #line),
            ("a * * * *", "cron: bad minute field 'a': 'a' is not a number 0-59", #line),
            ("* * mon * *", "cron: bad day-of-month field 'mon': 'mon' is not a number 1-31", #line),
            ("-1 * * * *", "cron: bad minute field '-1': '' is not a number 0-59", #line),
            ("+1 * * * *", "cron: bad minute field '+1': '+1' is not a number 0-59", #line),
            ("1.5 * * * *", "cron: bad minute field '1.5': '1.5' is not a number 0-59", #line),
            ("99999999999 * * * *", "cron: bad minute field '99999999999': '99999999999' is not a number 0-59", #line),
            ("*/0 * * * *", "cron: bad minute field '*/0': step '0' must be a positive number", #line),
            ("*/x * * * *", "cron: bad minute field '*/x': step 'x' must be a positive number", #line),
            ("*/ * * * *", "cron: bad minute field '*/': step '' must be a positive number", #line),
            ("1/2/3 * * * *", "cron: bad minute field '1/2/3': more than one '/' in '1/2/3'", #line),
            ("1-2-3 * * * *", "cron: bad minute field '1-2-3': '1-2-3' is not a value or a range a-b", #line),
            ("10-5 * * * *", "cron: bad minute field '10-5': range '10-5' goes backwards", #line),
            ("* * * dec-jan *", "cron: bad month field 'dec-jan': range 'dec-jan' goes backwards", #line),
            ("1,,2 * * * *", "cron: bad minute field '1,,2': empty list item", #line),
            ("1, * * * *", "cron: bad minute field '1,': empty list item", #line),
            ("* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week) or an @ shorthand, got 4 in '* * * *'", #line),
            ("* * * * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week) or an @ shorthand, got 6 in '* * * * * *'", #line),
            ("", "cron: expected 5 fields (minute hour day-of-month month day-of-week) or an @ shorthand, got 0 in ''", #line),
            ("0 0 30 2 *", "cron: day-of-month '30' never occurs in month '2'", #line),
            ("0 0 31 4,6,9,11 *", "cron: day-of-month '31' never occurs in month '4,6,9,11'", #line),
            ("0 0 30,31 feb *", "cron: day-of-month '30,31' never occurs in month 'feb'", #line),
            ("@every", "cron: '@every' needs one duration such as '10s' or '1m30s', got '@every'", #line),
            ("@every 1m 30s", "cron: '@every' needs one duration such as '10s' or '1m30s', got '@every 1m 30s'", #line),
            ("@every 0s", "cron: bad @every duration '0s': must be at least 1ms", #line),
            ("@every 0.0001s", "cron: bad @every duration '0.0001s': must be at least 1ms", #line),
            ("@every 8785h", "cron: bad @every duration '8785h': must be at most 8784h (366 days)", #line),
            ("@every 10", "cron: bad @every duration '10': missing unit after '10' (use ms, s, m or h)", #line),
            ("@every 10x", "cron: bad @every duration '10x': unknown unit at 'x' (use ms, s, m or h)", #line),
            ("@every 10S", "cron: bad @every duration '10S': unknown unit at 'S' (use ms, s, m or h)", #line),
            ("@every 1d", "cron: bad @every duration '1d': unknown unit at 'd' (use ms, s, m or h)", #line),
            ("@every s", "cron: bad @every duration 's': expected a number at 's'", #line),
            ("@every -5s", "cron: bad @every duration '-5s': expected a number at '-5s'", #line),
            ("@every 1..5s", "cron: bad @every duration '1..5s': expected a number at '1..5s'", #line),
            ("@every 1m30", "cron: bad @every duration '1m30': missing unit after '30' (use ms, s, m or h)", #line),
            ("@reboot", "cron: unknown schedule '@reboot' (expected 5 fields, '@every <duration>', @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)", #line),
            ("@daily extra", "cron: unknown schedule '@daily extra' (expected 5 fields, '@every <duration>', @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)", #line),
            ("@", "cron: unknown schedule '@' (expected 5 fields, '@every <duration>', @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)", #line),
        ]
        for c in cases {
            do {
                let s = try CronSchedule(c.spec)
                XCTFail("'\(c.spec)' accepted as \(s.kind)", line: c.line)
            } catch {
                XCTAssertEqual(error.message, c.message, line: c.line)
                XCTAssertEqual(error.description, c.message, line: c.line)
            }
        }
    }

    /// A date restricted by both day fields never needs the month to contain the date.
    func testImpossibleDateIsFineWhenWeekdayAlsoMatches() {
        guard let s = schedule("0 0 30 2 mon") else { return }
        XCTAssertEqual(show(s.nextFire(after: utc("2024-01-31 00:00"), timeZoneOffsetSeconds: 0)), show(utc("2024-02-05 00:00")))
    }
}
