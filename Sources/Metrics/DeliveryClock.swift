import NIOConcurrencyHelpers

/// When each message of the run was sent, for the delivery latency: a table from a hash of
/// (event, channel, message text) to the send time, shared by every bot of the process.
/// A receiving bot hashes what it received the same way and looks the time up; nothing is
/// added to the message on the wire.
///
/// Cost: one hash of the message text (8 bytes a step) on each send and each receipt, and one store or load
/// in a fixed table of 2^20 slots (16 MiB once used) under one of 64 stripe locks, so bots on
/// different loops rarely wait on each other. A slot holds the latest send that hashed to it:
/// no growth, no sweeping; a send overwritten before its receipt (another message landing in
/// the same slot, about one in a million per message in flight) is simply not timed, and a
/// receipt more than `horizon` after its send is not either.
///
/// Identical messages (same event, channel and text) sent again before the first arrived
/// are timed from the latest send; a script that wants each one timed exactly puts a
/// counter in its messages.
public final class DeliveryClock: Sendable {
    public static let horizonNanoseconds: UInt64 = 60_000_000_000
    static let stripeCount = 64
    static let slotsPerStripe = 16_384

    /// Made on first use, so a run that sends nothing costs nothing.
    private struct Stripe {
        var keys: [Int] = []
        var times: [UInt64] = []
    }

    private let stripes: [NIOLockedValueBox<Stripe>]

    public init() {
        stripes = (0..<Self.stripeCount).map { _ in NIOLockedValueBox(Stripe()) }
    }

    /// A 64-bit hash of the three, eight bytes at a time (a multiply-xorshift mix; the
    /// same in every process, unlike Hasher). A collision would only misattribute one sample.
    public static func key(event: String, channel: String?, text: [UInt8]) -> Int {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        var e = event
        e.withUTF8 { h = mix(h, UnsafeRawBufferPointer($0)) }
        if var c = channel {
            c.withUTF8 { h = mix(h ^ 0xFF, UnsafeRawBufferPointer($0)) }
        }
        text.withUnsafeBytes { h = mix(h ^ 0xFE, $0) }
        return Int(bitPattern: UInt(h))
    }

    @inline(__always)
    static func mix(_ seed: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = seed ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 31)
    }

    @inline(__always)
    private static func place(_ key: Int) -> (stripe: Int, slot: Int) {
        let k = UInt(bitPattern: key)
        return (Int(k % UInt(stripeCount)), Int((k / UInt(stripeCount)) % UInt(slotsPerStripe)))
    }

    /// Notes a send at `now` (monotonic nanoseconds).
    public func sent(_ key: Int, at now: UInt64) {
        let (stripe, slot) = Self.place(key)
        stripes[stripe].withLockedValue { s in
            if s.keys.isEmpty {
                s.keys = Array(repeating: 0, count: Self.slotsPerStripe)
                s.times = Array(repeating: 0, count: Self.slotsPerStripe)
            }
            s.keys[slot] = key
            s.times[slot] = now
        }
    }

    /// Milliseconds since the send of `key`, or nil when this process did not send it
    /// (within the horizon, and not overwritten since).
    public func delivered(_ key: Int, at now: UInt64) -> Double? {
        let (stripe, slot) = Self.place(key)
        let sentAt: UInt64? = stripes[stripe].withLockedValue { s in
            guard !s.keys.isEmpty, s.keys[slot] == key, s.times[slot] != 0 else { return nil }
            return s.times[slot]
        }
        guard let t = sentAt, now >= t, now - t <= Self.horizonNanoseconds else { return nil }
        return Double(now - t) / 1e6
    }
}
