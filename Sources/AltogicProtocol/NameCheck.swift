/// The one validator of §3's names, for both sides: the client refuses a bad name with
/// `Problem.message(argument:)` before sending; the hub drops the packet.
public enum NameCheck {
    public enum Problem: Equatable, Sendable {
        case empty
        /// One of `ProtocolNames.reservedEventNames`.
        case reservedName(String)
        /// Starts with `prefix`, one of `ProtocolNames.reservedEventPrefixes`.
        case reservedPrefix(prefix: String, name: String)
        /// A channel over `ProtocolNames.maxChannelBytes` bytes.
        case tooLong(bytes: Int)

        /// The client's error text, naming the argument, e.g. "eventName must not be a
        /// reserved name ('connect')". Scripts see these texts: they are part of the API.
        public func message(argument: String) -> String {
            switch self {
            case .empty: return "\(argument) must not be empty"
            case .reservedName(let name): return "\(argument) must not be a reserved name ('\(name)')"
            case .reservedPrefix(let prefix, let name): return "\(argument) must not start with '\(prefix)' ('\(name)')"
            case .tooLong(let bytes): return "\(argument) must be at most \(ProtocolNames.maxChannelBytes) bytes (got \(bytes))"
            }
        }
    }

    /// Whether `name` is reserved (§3): a reserved name or one with a reserved prefix. The
    /// empty name is not reserved (it is refused as empty).
    @inlinable
    public static func isReservedEventName(_ name: String) -> Bool {
        // Every reserved name and prefix starts with one of these letters; most event names
        // are cleared by their first byte, without hashing.
        switch name.utf8.first {
        case UInt8(ascii: "c"), UInt8(ascii: "d"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "u"):
            return ProtocolNames.reservedEventNames.contains(name) || name.hasPrefix("channel:") || name.hasPrefix("user:")
        default:
            return false
        }
    }

    /// What is wrong with `name` as an `eventName` of §3, or nil.
    public static func eventNameProblem(_ name: String) -> Problem? {
        if name.isEmpty { return .empty }
        guard isReservedEventName(name) else { return nil }
        if ProtocolNames.reservedEventNames.contains(name) { return .reservedName(name) }
        let prefix = ProtocolNames.reservedEventPrefixes.first { name.hasPrefix($0) }!
        return .reservedPrefix(prefix: prefix, name: name)
    }

    /// What is wrong with `channel` as a channel of §3, or nil.
    public static func channelProblem(_ channel: String) -> Problem? {
        if channel.isEmpty { return .empty }
        let bytes = channel.utf8.count
        return bytes > ProtocolNames.maxChannelBytes ? .tooLong(bytes: bytes) : nil
    }

    @inlinable
    public static func isValidChannel(_ channel: String) -> Bool {
        !channel.isEmpty && channel.utf8.count <= ProtocolNames.maxChannelBytes
    }
}
