/// The time texts of a test's `clock`: durations ("90m", "1h30m", "2d", "500ms", or a number
/// of seconds) and UTC instants ("2026-12-31T23:59:00Z", with an optional "+01:00" offset).
enum TestTime {
    /// 2026-01-01T00:00:00Z: where every test's virtual clock starts (a fixed instant, so a
    /// test that reads the date sees the same one on every run).
    static let start = Double(CivilMinute.days(year: 2026, month: 1, day: 1) * 86400)

    static func duration(_ text: String) -> Double? {
        try? DurationText.seconds(Substring(text.filter { $0 != " " }), days: true).get()
    }

    /// Epoch seconds of an ISO 8601 instant: date, `T`, time to the second (fraction allowed),
    /// then `Z` or `±HH:MM`.
    static func instant(_ text: String) -> Double? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for c in b[from..<(from + count)] {
                guard c >= 48, c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 32, b[13] == 58, b[16] == 58,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), d >= 1, d <= CivilMinute.daysIn(month: mo, year: y), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90, i == b.count - 1 {
            offset = 0
        } else if b[i] == 43 || b[i] == 45, i + 6 == b.count, b[i + 3] == 58, let oh = num(i + 1, 2), let om = num(i + 4, 2) {
            offset = (oh * 60 + om) * 60 * (b[i] == 45 ? -1 : 1)
        } else {
            return nil
        }
        let days = CivilMinute.days(year: y, month: mo, day: d)
        return Double(days * 86400 + h * 3600 + mi * 60 + s - offset) + fraction
    }
}
