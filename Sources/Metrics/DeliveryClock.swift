import NIOConcurrencyHelpers

/// When each message of the run was sent, for the delivery latency: a table from a hash of
/// (event, channel, message text) to the send time, shared by every bot of the process.
/// A receiving bot hashes what it received the same way and looks the time up; nothing is
/// added to the message on the wire.
///
/// Cost: one hash of the message text on each send and each receipt, and one lock taken
/// on one of 64 stripes (so bots on different loops rarely wait on each other). Entries
/// older than `horizon` are dropped, and a stripe holds at most `stripeCap` entries, so
/// the table stays bounded however long the run.
///
/// Identical messages (same event, channel and text) sent again before the first arrived
/// are timed from the latest send; a script that wants each one timed exactly puts a
/// counter in its messages.
public final class DeliveryClock: Sendable {
    public static let horizonNanoseconds: UInt64 = 60_000_000_000
    static let stripeCount = 64
    static let stripeCap = 16_384

    private struct Stripe {
        var sent: [Int: UInt64] = [:]
        var oldest: UInt64 = .max
    }

    private let stripes: [NIOLockedValueBox<Stripe>]

    public init() {
        stripes = (0..<Self.stripeCount).map { _ in NIOLockedValueBox(Stripe()) }
    }

    public static func key(event: String, channel: String?, text: [UInt8]) -> Int {
        var h = Hasher()
        h.combine(event)
        h.combine(channel)
        text.withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }

    private func stripe(_ key: Int) -> NIOLockedValueBox<Stripe> { stripes[Int(UInt(bitPattern: key) % UInt(Self.stripeCount))] }

    /// Notes a send at `now` (monotonic nanoseconds).
    public func sent(_ key: Int, at now: UInt64) {
        stripe(key).withLockedValue { s in
            if s.sent.count >= Self.stripeCap || (s.oldest != .max && now &- s.oldest > 2 * Self.horizonNanoseconds) {
                let cutoff = now &- Self.horizonNanoseconds
                s.sent = s.sent.filter { $0.value >= cutoff && now >= $0.value }
                if s.sent.count >= Self.stripeCap { s.sent.removeAll(keepingCapacity: true) }
                s.oldest = s.sent.values.min() ?? .max
            }
            s.sent[key] = now
            s.oldest = min(s.oldest, now)
        }
    }

    /// Milliseconds since the send of `key`, or nil when this process did not send it
    /// (within the horizon).
    public func delivered(_ key: Int, at now: UInt64) -> Double? {
        guard let t = stripe(key).withLockedValue({ $0.sent[key] }), now >= t, now - t <= Self.horizonNanoseconds else { return nil }
        return Double(now - t) / 1e6
    }
}
