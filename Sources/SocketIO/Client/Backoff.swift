/// Reconnection delays (PROTOCOL.md §6): the first is `min`, each next one doubles, capped
/// at `max`, and each is spread by ±`factor` with an injected random source so tests can
/// pin it. A value type with no clock: the client asks it for the next delay and resets it
/// after a successful connect.
struct Backoff {
    let min: Int64
    let max: Int64
    let factor: Double
    /// Returns a number in [0, 1); 0 gives the smallest delay, values near 1 the largest.
    private let random: () -> Double
    /// Delays handed out since the last reset.
    private(set) var attempts = 0

    init(min: Int64, max: Int64, factor: Double, random: @escaping () -> Double = { Double.random(in: 0..<1) }) {
        self.min = Swift.max(0, min)
        self.max = Swift.max(self.min, max)
        self.factor = Swift.min(Swift.max(0, factor), 1)
        self.random = random
    }

    /// The next delay in milliseconds.
    mutating func next() -> Int64 {
        // Past 2^40 the cap has long won; clamping the exponent keeps the arithmetic finite.
        let doubled = Double(min) * Double(1 << Swift.min(attempts, 40))
        attempts += 1
        let base = Swift.min(doubled, Double(max))
        let r = Swift.min(Swift.max(random(), 0), 1)
        let spread = base * factor * (2 * r - 1)
        return Swift.max(0, Int64((base + spread).rounded()))
    }

    mutating func reset() {
        attempts = 0
    }
}
