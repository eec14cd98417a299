#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A bad `schedule(spec, fn)` spec; `message` names the field and the offending text.
public struct CronScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case badSpec
        /// `CRON_TZ=`/`TZ=` named a zone tzdata does not know; `message` is
        /// `unknown time zone 'NAME'`, for the caller to prefix with the function's name.
        case unknownTimeZone
    }
    public var message: String
    public var kind: Kind
    public init(_ message: String, kind: Kind = .badSpec) {
        self.message = message
        self.kind = kind
    }
    public var description: String { message }
}

/// The schedule behind Lua's `schedule(spec, fn)`: a 5-field cron line
/// (`minute hour day-of-month month day-of-week`), an `@every <duration>` interval
/// or one of the `@hourly`-style shorthands. Pure: it only computes fire times.
/// A calendar schedule may name its time zone as cronie and robfig/cron do, with a
/// `CRON_TZ=Area/City ` or `TZ=Area/City ` prefix (IANA names, from Foundation's tzdata);
/// without one it reads the process's local time zone.
public struct CronSchedule: Sendable {
    enum Kind: Sendable, Equatable {
        case every(seconds: Double)
        case calendar(CronFields)
    }

    let kind: Kind
    public let spec: String
    /// The zone named by a `CRON_TZ=`/`TZ=` prefix; nil reads the process's local time zone.
    public let timeZone: TimeZone?

    public init(_ spec: String) throws(CronScheduleError) {
        self.spec = spec
        var trimmed = CronText.trim(spec)
        (timeZone, trimmed) = try CronSchedule.zonePrefix(trimmed)
        if timeZone != nil && trimmed.lowercased().hasPrefix("@every") {
            throw CronScheduleError("cron: a time zone has no effect on '\(trimmed)' (CRON_TZ= is for cron fields and @daily-style shorthands)")
        }
        if trimmed.hasPrefix("@") {
            let words = CronText.words(trimmed)
            let name = words[0].lowercased()
            if name == "@every" {
                guard words.count == 2 else {
                    throw CronScheduleError("cron: '@every' needs one duration such as '10s' or '1m30s', got '\(trimmed)'")
                }
                kind = .every(seconds: try CronText.parseDuration(words[1]))
                return
            }
            guard words.count == 1, let line = CronSchedule.shorthands[name] else {
                throw CronScheduleError("cron: unknown schedule '\(trimmed)' (expected 5 fields, '@every <duration>', "
                    + "@hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)")
            }
            kind = .calendar(try CronFields(line))
        } else {
            kind = .calendar(try CronFields(trimmed))
        }
    }

    /// Splits `CRON_TZ=Europe/Paris 0 9 * * *` (or `TZ=…`) into the zone and the rest.
    private static func zonePrefix(_ text: String) throws(CronScheduleError) -> (TimeZone?, String) {
        guard let prefix = ["CRON_TZ=", "TZ="].first(where: { text.hasPrefix($0) }) else { return (nil, text) }
        let afterPrefix = text.dropFirst(prefix.count)
        let name = String(afterPrefix.prefix(while: { !CronText.isSpace($0) }))
        guard !name.isEmpty else {
            throw CronScheduleError("cron: '\(prefix)' needs a time zone name such as '\(prefix)Europe/Paris'")
        }
        guard let zone = TimeZone(identifier: name) else {
            throw CronScheduleError("unknown time zone '\(name)'", kind: .unknownTimeZone)
        }
        return (zone, CronText.trim(String(afterPrefix.dropFirst(name.count))))
    }

    static let shorthands: [String: String] = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]

    /// For `@every`: the interval in seconds; nil for calendar schedules.
    public var interval: Double? {
        if case .every(let seconds) = kind { return seconds }
        return nil
    }

    /// The first fire time strictly after `after` (epoch seconds), in the schedule's own time
    /// zone if it names one, else in the process's local time zone (what crontab users
    /// expect, DST included). `@every` schedules fire `interval` seconds after `after`: pass
    /// the previous scheduled time, not "now", to avoid drift.
    public func nextFire(after: Double) -> Double? {
        nextFire(after: after, in: timeZone.map { .named($0) } ?? .local)
    }

    /// Same, with calendar fields read in a fixed UTC offset (0 = UTC) instead.
    public func nextFire(after: Double, timeZoneOffsetSeconds: Int) -> Double? {
        nextFire(after: after, in: .fixed(timeZoneOffsetSeconds))
    }

    func nextFire(after: Double, in zone: CronZone) -> Double? {
        switch kind {
        case .every(let seconds):
            return after.isFinite ? after + seconds : nil
        case .calendar(let fields):
            return fields.nextFire(after: after, in: zone)
        }
    }
}

/// Where a schedule reads its wall-clock minutes: all a zone must tell is its UTC offset
/// at an instant.
enum CronZone {
    case local
    case fixed(Int)
    case named(TimeZone)

    /// Seconds east of UTC at epoch second `t`.
    func offset(at t: Int) -> Int {
        switch self {
        case .fixed(let seconds):
            return seconds
        case .named(let zone):
            return zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t)))
        case .local:
            var seconds = time_t(t)
            var local = tm()
            guard localtime_r(&seconds, &local) != nil else { return 0 }
            return Int(local.tm_gmtoff)
        }
    }
}

/// A parsed 5-field cron line: one bit per allowed value.
struct CronFields: Sendable, Equatable {
    var minutes: UInt64 = 0      // bits 0...59
    var hours: UInt64 = 0        // bits 0...23
    var daysOfMonth: UInt64 = 0  // bits 1...31
    var months: UInt64 = 0       // bits 1...12
    var daysOfWeek: UInt64 = 0   // bits 0...6, 0 = Sunday
    // Vixie cron's rule: a day field written starting with '*' (also '*/2') does not restrict;
    // when both day fields restrict, a day matching either one fires.
    var domStar = false
    var dowStar = false

    private struct Spec {
        let name: String
        let low: Int
        let high: Int
        let names: [String]   // names[i] is value low + i... for months; for days 0 = sun
    }

    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    private static let specs = [
        Spec(name: "minute", low: 0, high: 59, names: []),
        Spec(name: "hour", low: 0, high: 23, names: []),
        Spec(name: "day-of-month", low: 1, high: 31, names: []),
        Spec(name: "month", low: 1, high: 12, names: monthNames),
        Spec(name: "day-of-week", low: 0, high: 7, names: dayNames),
    ]

    init(_ line: String) throws(CronScheduleError) {
        let fields = CronText.words(line)
        guard fields.count == 5 else {
            throw CronScheduleError("cron: expected 5 fields (minute hour day-of-month month day-of-week) "
                + "or an @ shorthand, got \(fields.count) in '\(line)'")
        }
        var bits: [UInt64] = []
        for (spec, text) in zip(CronFields.specs, fields) {
            bits.append(try CronFields.parseField(text, spec))
        }
        minutes = bits[0]
        hours = bits[1]
        daysOfMonth = bits[2]
        months = bits[3]
        daysOfWeek = (bits[4] | (bits[4] >> 7)) & 0x7F   // 7 is Sunday too
        domStar = fields[2].hasPrefix("*")
        dowStar = fields[4].hasPrefix("*")
        if dowStar && !domStar {
            try checkSomeDayExists(fields)
        }
    }

    /// "0 0 30 2 *" can never fire: say so now rather than never run.
    private func checkSomeDayExists(_ fields: [String]) throws(CronScheduleError) {
        for month in 1...12 where months & (1 << month) != 0 {
            let longest = month == 2 ? 29 : CivilMinute.daysIn(month: month, year: 2001)
            if daysOfMonth & (UInt64(1 << (longest + 1)) - 2) != 0 { return }
        }
        throw CronScheduleError("cron: day-of-month '\(fields[2])' never occurs in month '\(fields[3])'")
    }

    private static func parseField(_ text: String, _ spec: Spec) throws(CronScheduleError) -> UInt64 {
        func bad(_ why: String) -> CronScheduleError {
            CronScheduleError("cron: bad \(spec.name) field '\(text)': \(why)")
        }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw bad("empty list item") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw bad("more than one '/' in '\(item)'") }
            var step = 1
            if parts.count == 2 {
                guard let s = CronText.number(parts[1]), s > 0 else { throw bad("step '\(parts[1])' must be a positive number") }
                step = s
            }
            var low: Int, high: Int
            if parts[0] == "*" {
                low = spec.low
                high = spec.high
            } else {
                let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw bad("'\(parts[0])' is not a value or a range a-b") }
                low = try value(bounds[0], spec, bad)
                // "5/15" means "5-max/15", as in most cron implementations.
                high = bounds.count == 2 ? try value(bounds[1], spec, bad) : (parts.count == 2 ? spec.high : low)
                if spec.name == "day-of-week" && high == 0 && low > 0 { high = 7 }   // "fri-sun"
                guard low <= high else { throw bad("range '\(parts[0])' goes backwards") }
            }
            for v in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(v) }
        }
        return bits
    }

    private static func value(_ text: Substring, _ spec: Spec, _ bad: (String) -> CronScheduleError)
        throws(CronScheduleError) -> Int
    {
        if let n = CronText.number(text) {
            guard n >= spec.low && n <= spec.high else { throw bad("\(text) is out of range \(spec.low)-\(spec.high)") }
            return n
        }
        if let i = spec.names.firstIndex(of: text.lowercased()) {
            return spec.name == "month" ? i + 1 : i
        }
        if spec.names.isEmpty {
            throw bad("'\(text)' is not a number \(spec.low)-\(spec.high)")
        }
        let example = spec.name == "month" ? "jan" : "mon"
        throw bad("'\(text)' is not a number \(spec.low)-\(spec.high) or a name like '\(example)'")
    }

    func dayMatches(_ c: CivilMinute) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(c.day)) != 0
        let dow = daysOfWeek & (1 << UInt64(c.weekday)) != 0
        return domStar || dowStar ? dom && dow : dom || dow
    }

    /// The first wall-clock minute at or after `start` that matches; nil if none within 50 years
    /// (only specs like "0 0 29 2 */3", which need a rare weekday/date coincidence, come close).
    func firstMatch(from start: CivilMinute) -> CivilMinute? {
        var c = start
        let lastYear = start.year + 50
        while c.year <= lastYear {
            if months & (1 << UInt64(c.month)) == 0 {
                c = c.startOfNextMonth()
            } else if !dayMatches(c) {
                c = c.startOfNextDay()
            } else if let h = CronFields.next(hours, from: c.hour) {
                if h != c.hour {
                    c.hour = h
                    c.minute = 0
                }
                if let m = CronFields.next(minutes, from: c.minute) {
                    c.minute = m
                    return c
                }
                c = c.adding(minutes: 60 - c.minute)
            } else {
                c = c.startOfNextDay()
            }
        }
        return nil
    }

    /// The lowest set bit at or above `from`, if any.
    static func next(_ bits: UInt64, from: Int) -> Int? {
        let rest = bits >> UInt64(from)
        return rest == 0 ? nil : from + rest.trailingZeroBitCount
    }

    /// Matching in a time zone: find the next matching wall-clock minute, then the instant
    /// that shows it. Across DST changes this follows cronie's rules for fixed times:
    /// a minute repeated when clocks go back fires once (its first instance after `after`);
    /// a minute skipped when they go forward fires right after the gap, at the changeover
    /// (02:30 → 03:00), and several skipped minutes fire there once together.
    func nextFire(after: Double, in zone: CronZone) -> Double? {
        guard after.isFinite, abs(after) < 1e13 else { return nil }
        let now = Int(after.rounded(.down))
        let wallSeconds = now + zone.offset(at: now)
        let wallMinute = wallSeconds >= 0 ? wallSeconds / 60 : (wallSeconds - 59) / 60
        var start = CivilMinute(epochMinute: wallMinute).adding(minutes: 1)
        for _ in 0..<1000 {
            guard let match = firstMatch(from: start) else { return nil }
            if let fire = CronFields.place(match, in: zone, after: after) { return fire }
            start = match.adding(minutes: 1)
        }
        return nil
    }

    /// The instant after `after` when `zone` shows wall-clock minute `m`, or the end of the
    /// DST gap that skips it. Offsets a day either side cover every reading of `m`: zones
    /// never change offset twice within two days.
    static func place(_ m: CivilMinute, in zone: CronZone, after: Double) -> Double? {
        let wall = m.epochMinute * 60
        let before = zone.offset(at: wall - 86400), later = zone.offset(at: wall + 86400)
        let readings = Set([before, later]).map { wall - $0 }.filter { zone.offset(at: $0) == wall - $0 }
        if !readings.isEmpty {
            return readings.filter { Double($0) > after }.min().map { Double($0) }
        }
        // In a gap: `wall - later` still shows the old offset, `wall - before` the new one;
        // bisect for the changeover.
        var low = wall - later, high = wall - before
        guard low < high else { return nil }
        let newOffset = zone.offset(at: high)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if zone.offset(at: mid) == newOffset { high = mid } else { low = mid }
        }
        return Double(high) > after ? Double(high) : nil
    }
}

/// A proleptic Gregorian date and wall-clock minute, without a time zone.
struct CivilMinute: Sendable, Equatable, CustomStringConvertible {
    var year: Int
    var month: Int   // 1...12
    var day: Int     // 1...31
    var hour: Int
    var minute: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        (self.year, self.month, self.day, self.hour, self.minute) = (year, month, day, hour, minute)
    }

    init(epochMinute: Int) {
        let days = epochMinute >= 0 ? epochMinute / 1440 : (epochMinute - 1439) / 1440
        let inDay = epochMinute - days * 1440
        (year, month, day) = CivilMinute.civil(fromDays: days)
        hour = inDay / 60
        minute = inDay % 60
    }

    var epochMinute: Int {
        CivilMinute.days(year: year, month: month, day: day) * 1440 + hour * 60 + minute
    }

    /// 0 = Sunday; 1970-01-01 was a Thursday.
    var weekday: Int {
        let d = CivilMinute.days(year: year, month: month, day: day) + 4
        return ((d % 7) + 7) % 7
    }

    func adding(minutes n: Int) -> CivilMinute { CivilMinute(epochMinute: epochMinute + n) }

    func startOfNextDay() -> CivilMinute {
        CivilMinute(epochMinute: (CivilMinute.days(year: year, month: month, day: day) + 1) * 1440)
    }

    func startOfNextMonth() -> CivilMinute {
        month == 12 ? CivilMinute(year: year + 1, month: 1, day: 1, hour: 0, minute: 0)
            : CivilMinute(year: year, month: month + 1, day: 1, hour: 0, minute: 0)
    }

    var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute))"
    }

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// Small text helpers for the spec parser.
enum CronText {
    static func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    static func trim(_ s: String) -> String {
        String(s.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    /// Plain ASCII digits only (no sign, no spaces), at most 9 of them.
    static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    static func words(_ s: String) -> [String] {
        s.split(whereSeparator: isSpace).map(String.init)
    }

    /// "10s", "1m30s", "500ms", "2h", "1.5s": a positive sum of number+unit terms.
    static func parseDuration(_ text: String) throws(CronScheduleError) -> Double {
        func bad(_ why: String) -> CronScheduleError {
            CronScheduleError("cron: bad @every duration '\(text)': \(why)")
        }
        let total: Double
        switch DurationText.seconds(Substring(text), days: false, maxDigits: 12) {
        case .success(let seconds): total = seconds
        case .failure(.empty): throw bad("empty")
        case .failure(.noNumber(let rest)): throw bad("expected a number at '\(rest)'")
        case .failure(.noUnit(let number)): throw bad("missing unit after '\(number)' (use ms, s, m or h)")
        case .failure(.unknownUnit(let rest)): throw bad("unknown unit at '\(rest)' (use ms, s, m or h)")
        }
        guard total >= 0.001 else { throw bad("must be at least 1ms") }
        guard total <= 8784 * 3600 else { throw bad("must be at most 8784h (366 days)") }
        return total
    }
}

