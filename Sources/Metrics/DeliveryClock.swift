import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When each message of the run was sent, for the delivery latency: a table from a hash of
/// (event, channel, message text) to the send time, shared by every bot of the process.
/// A receiving bot hashes what it received the same way and looks the time up; nothing is
/// added to the message on the wire.
///
/// Cost: one hash of the message text (8 bytes a step) on each send and each receipt, and one
/// atomic store or load of a (key, time) pair in a fixed table of 2^20 slots: no lock, so bots
/// on different loops never wait on each other. The table's 16 MiB are zero pages until
/// used (calloc), and nothing is looked up before the first send, so a run that sends
/// nothing costs nothing. A slot holds the latest send
/// that hashed to it: no growth, no sweeping; a send overwritten before its receipt (another
/// message landing in the same slot, about one in a million per message in flight) is simply
/// not timed, and a receipt more than `horizon` after its send is not either.
///
/// Identical messages (same event, channel and text) sent again before the first arrived
/// are timed from the latest send; a script that wants each one timed exactly puts a
/// counter in its messages.
public final class DeliveryClock: @unchecked Sendable {  // the slots are atomics
    public static let horizonNanoseconds: UInt64 = 60_000_000_000
    static let slotCount = 1 << 20

    /// (key, send time) pairs, read and written whole (a 16-byte atomic), so a receipt never
    /// pairs one send's key with another's time.
    private let slots: UnsafeMutablePointer<Atomic<WordPair>>
    /// Whether anything was sent: until then a receipt looks nothing up, so a process that
    /// only receives never touches (and makes resident) the table's pages.
    private let used = Atomic<Bool>(false)

    public init() {
        guard let memory = calloc(Self.slotCount, MemoryLayout<Atomic<WordPair>>.stride) else {
            fatalError("out of memory for the delivery table")
        }
        slots = memory.bindMemory(to: Atomic<WordPair>.self, capacity: Self.slotCount)
    }

    deinit { free(slots) }

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
        if i < bytes.count, bytes.count >= 8 {
            // The last 8 bytes in one load (overlapping what the loop took; the length is in
            // the seed), rather than byte by byte.
            tail = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        } else {
            var shift: UInt64 = 0
            while i < bytes.count {
                tail |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
        }
        h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 31)
    }

    @inline(__always)
    private static func slot(_ key: Int) -> Int { Int(UInt(bitPattern: key) & UInt(slotCount - 1)) }

    /// Notes a send at `now` (monotonic nanoseconds).
    @inline(__always)
    public func sent(_ key: Int, at now: UInt64) {
        if !used.load(ordering: .relaxed) { used.store(true, ordering: .relaxed) }
        slots[Self.slot(key)].store(WordPair(first: UInt(bitPattern: key), second: UInt(now)), ordering: .relaxed)
    }

    /// Milliseconds since the send of `key`, or nil when this process did not send it
    /// (within the horizon, and not overwritten since).
    @inline(__always)
    public func delivered(_ key: Int, at now: UInt64) -> Double? {
        guard used.load(ordering: .relaxed) else { return nil }
        let s = slots[Self.slot(key)].load(ordering: .relaxed)
        let t = UInt64(s.second)
        guard s.first == UInt(bitPattern: key), t != 0, now >= t, now - t <= Self.horizonNanoseconds else { return nil }
        return Double(now - t) / 1e6
    }
}
