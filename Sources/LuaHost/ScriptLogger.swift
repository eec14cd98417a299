#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RTJSON

public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warn, error

    public init?(name: String) {
        switch name.lowercased() {
        case "debug", "trace": self = .debug
        case "info", "notice": self = .info
        case "warn", "warning": self = .warn
        case "error", "critical": self = .error
        default: return nil
        }
    }

    public var name: String { ["debug", "info", "warn", "error"][rawValue] }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

public enum LogFormat: String, Sendable {
    case text, json
}

public struct LogSettings: Sendable {
    public var level: LogLevel
    public var format: LogFormat
    public init(level: LogLevel = .info, format: LogFormat = .text) {
        self.level = level
        self.format = format
    }
}

/// Writes a script's log lines and error reports to stderr, each line in one write(2) so
/// lines of scripts on different threads never interleave.
struct ScriptLogger: Sendable {
    var script: String
    var instance: Int
    var settings: LogSettings
    var output: ScriptOutput

    func log(_ level: LogLevel, _ message: String) {
        guard level >= settings.level else { return }
        emit(level, message)
    }

    /// A load or runtime error (`file:line: message`, then the traceback): always shown, on
    /// a line of its own with the time and `[script#instance]` like every other log line.
    func scriptError(_ text: String) {
        emit(.error, text)
    }

    private func emit(_ level: LogLevel, _ message: String) {
        switch settings.format {
        case .text:
            let tag = level.name.uppercased()
            output.stderr("\(Self.timestamp()) \(tag) [\(script)#\(instance)] \(message)\n")
        case .json:
            let v: JSONValue = .object([
                "time": .string(Self.timestamp()), "level": .string(level.name),
                "script": .string(script), "instance": .integer(Int64(instance)), "message": .string(message),
            ])
            output.stderr(((try? v.jsonText(sortedKeys: true)) ?? "{}") + "\n")
        }
    }

    static func writeStderr(_ text: String) {
        if let sink = RunnerLog.stderrSink { return sink(text) }
        var text = text
        text.withUTF8 { buf in
            var offset = 0
            while offset < buf.count {
                let n = write(2, buf.baseAddress! + offset, buf.count - offset)
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    static func writeStdout(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buf in
            var offset = 0
            while offset < buf.count {
                let n = write(1, buf.baseAddress! + offset, buf.count - offset)
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    /// UTC, ISO 8601 with milliseconds.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}

/// rtlua's own lines (the embedded hub, signals, reloads), as opposed to a script's: in text
/// `rtlua: message`, in JSON an object like a script's line with `"source": "rtlua"` in place
/// of script and instance. One write(2) per line.
public enum RunnerLog {
    /// Set once by the command, before any script or hub starts.
    nonisolated(unsafe) public static var settings = LogSettings()

    /// Where rtlua's own stderr lines go instead of fd 2 (these, the hub's log lines): the
    /// REPL's line editor, which prints them above the line being edited. Set once by the
    /// command before any hub or script starts, like `settings`.
    nonisolated(unsafe) public static var stderrSink: (@Sendable (String) -> Void)?

    public static func log(_ level: LogLevel, _ message: String) {
        guard level >= settings.level else { return }
        switch settings.format {
        case .text:
            ScriptLogger.writeStderr("rtlua: \(message)\n")
        case .json:
            let v: JSONValue = .object([
                "time": .string(ScriptLogger.timestamp()), "level": .string(level.name),
                "source": "rtlua", "message": .string(message),
            ])
            ScriptLogger.writeStderr(((try? v.jsonText(sortedKeys: true)) ?? "{}") + "\n")
        }
    }

    public static var debugEnabled: Bool { settings.level <= .debug }
}
