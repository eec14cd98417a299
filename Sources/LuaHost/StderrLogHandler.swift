import Logging
import RTJSON

/// A swift-log handler writing the lines `run` writes for scripts (ScriptLogger's
/// timestamp, level names, text and JSON forms, one write(2) per line), for components
/// that log through swift-log: `serve` gives it to the hub.
///
/// Text: `2026-12-06T10:00:00.000Z WARN [hub] message key=value …`
/// JSON: `{"component":"hub","level":"warn","message":…,"time":…, key: value …}`
public struct StderrLogHandler: LogHandler {
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let component: String
    private let format: LogFormat
    private let write: @Sendable (String) -> Void

    /// `write` takes each line; stderr unless given.
    public init(component: String, settings: LogSettings, write: (@Sendable (String) -> Void)? = nil) {
        self.component = component
        self.format = settings.format
        self.logLevel = Self.swiftLogLevel(settings.level)
        self.write = write ?? { ScriptLogger.writeStderr($0) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        write(Self.line(level: Self.level(event.level), component: component, message: "\(event.message)",
                        fields: fields, format: format, time: ScriptLogger.timestamp()))
    }

    /// One line, newline included; fields in key order.
    static func line(level: LogLevel, component: String, message: String, fields: Logger.Metadata,
                     format: LogFormat, time: String) -> String {
        switch format {
        case .text:
            var out = "\(time) \(level.name.uppercased()) [\(component)] \(message)"
            for key in fields.keys.sorted() { out += " \(key)=\(fields[key]!)" }
            return out + "\n"
        case .json:
            var object: [String: JSONValue] = [:]
            for (key, value) in fields { object[key] = .string("\(value)") }
            object["time"] = .string(time)
            object["level"] = .string(level.name)
            object["component"] = .string(component)
            object["message"] = .string(message)
            return ((try? JSONValue.object(object).jsonText(sortedKeys: true)) ?? "{}") + "\n"
        }
    }

    static func level(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace, .debug: return .debug
        case .info, .notice: return .info
        case .warning: return .warn
        case .error, .critical: return .error
        }
    }

    static func swiftLogLevel(_ level: LogLevel) -> Logger.Level {
        switch level {
        case .debug: return .debug
        case .info: return .info
        case .warn: return .warning
        case .error: return .error
        }
    }
}
