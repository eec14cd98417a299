import RTJSON

/// The argument rules of PROTOCOL.md §3, checked before anything is sent. Messages name
/// the argument, e.g. "eventName must not be a reserved name ('connect')".
public enum ArgumentCheck {
    static let reservedEventNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]
    static let reservedPrefixes = ["channel:", "user:"]
    static let maxChannelBytes = 256

    static func eventName(_ name: String, argument: String = "eventName") throws(RealtimeError) {
        if name.isEmpty {
            throw .invalidArgument("\(argument) must not be empty")
        }
        if reservedEventNames.contains(name) {
            throw .invalidArgument("\(argument) must not be a reserved name ('\(name)')")
        }
        if let prefix = reservedPrefixes.first(where: { name.hasPrefix($0) }) {
            throw .invalidArgument("\(argument) must not start with '\(prefix)' ('\(name)')")
        }
    }

    public static func channel(_ channel: String, argument: String = "channel") throws(RealtimeError) {
        if channel.isEmpty {
            throw .invalidArgument("\(argument) must not be empty")
        }
        let bytes = channel.utf8.count
        if bytes > maxChannelBytes {
            throw .invalidArgument("\(argument) must be at most \(maxChannelBytes) bytes (got \(bytes))")
        }
    }

    /// JSON has no NaN or infinity; refuse them now rather than when a buffered emit is flushed.
    static func encodable(_ value: JSONValue, argument: String) throws(RealtimeError) {
        if let path = nonFinitePath(value, at: argument) {
            throw .invalidArgument("\(path) must be a finite number (JSON has no NaN or infinity)")
        }
    }

    /// The path is built only for the culprit: this runs on every send.
    private static func nonFinitePath(_ value: JSONValue, at path: String) -> String? {
        switch value {
        case .double(let d): return d.isFinite ? nil : path
        case .array(let items):
            for (i, item) in items.enumerated() where !allFinite(item) {
                return nonFinitePath(item, at: "\(path)[\(i + 1)]")
            }
            return nil
        case .object(let fields):
            for (key, item) in fields where !allFinite(item) {
                return nonFinitePath(item, at: "\(path).\(key)")
            }
            return nil
        default: return nil
        }
    }

    private static func allFinite(_ value: JSONValue) -> Bool {
        switch value {
        case .double(let d): return d.isFinite
        case .array(let items): return items.allSatisfy(allFinite)
        case .object(let fields): return fields.values.allSatisfy(allFinite)
        default: return true
        }
    }
}
