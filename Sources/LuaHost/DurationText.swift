/// Durations written as number-and-unit terms ("1h30m", "500ms", "1.5s"): the one reader
/// under `@every` schedules, `options.duration` and the stages, and a test's `clock.advance`.
/// Each caller says whether days ("2d") count and how long a number may be, and words its
/// own errors from the `Problem`.
enum DurationText {
    enum Problem: Error, Equatable {
        case empty
        /// No number (or one that is not one) where `rest` begins.
        case noNumber(rest: Substring)
        /// The text ends after `number`.
        case noUnit(number: Substring)
        /// `rest` begins with no known unit.
        case unknownUnit(rest: Substring)
    }

    private static let units: [(String, Double)] = [("ms", 0.001), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]

    /// The sum of the terms, in seconds.
    static func seconds(_ text: Substring, days: Bool, maxDigits: Int = .max) -> Result<Double, Problem> {
        var rest = text
        guard !rest.isEmpty else { return .failure(.empty) }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            guard !number.isEmpty, number.count <= maxDigits, let value = Double(number) else { return .failure(.noNumber(rest: rest)) }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { (days || $0.0 != "d") && rest.hasPrefix($0.0) }) else {
                return .failure(rest.isEmpty ? .noUnit(number: number) : .unknownUnit(rest: rest))
            }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return .success(total)
    }
}
