import AltogicProtocol
import RTJSON

/// The argument rules of PROTOCOL.md §3, checked before anything is sent. The name rules
/// are AltogicProtocol's `NameCheck` (the hub's too); messages name the argument, e.g.
/// "eventName must not be a reserved name ('connect')".
public enum ArgumentCheck {
    static func eventName(_ name: String, argument: String = "eventName") throws(RealtimeError) {
        if let problem = NameCheck.eventNameProblem(name) { throw .invalidArgument(problem.message(argument: argument)) }
    }

    public static func channel(_ channel: String, argument: String = "channel") throws(RealtimeError) {
        if let problem = NameCheck.channelProblem(channel) { throw .invalidArgument(problem.message(argument: argument)) }
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
