import ArgumentParser
import Foundation
import LuaHost
import Realtime

/// The options `run` and `repl` share: where to connect, how, and how to log.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: "The app's base URL (env RTLUA_URL). Without it, an embedded hub is started.")
    var url: String?

    @Option(name: .customLong("realtime-url"), help: "The realtime endpoint itself, overriding the derivation from --url. Alone, no embedded hub is started and getMembers asks its host over http(s).")
    var realtimeURL: String?

    @Option(name: .customLong("key"), help: "Client key (env RTLUA_CLIENT_KEY).")
    var key: String?

    @Option(name: .customLong("session"), help: "Session token (env RTLUA_SESSION).")
    var session: String?

    @Flag(name: .customLong("no-echo"), help: "echoMessages = false.")
    var noEcho = false

    @Flag(name: .customLong("no-buffer"), help: "bufferMessages = false.")
    var noBuffer = false

    @Flag(name: .customLong("no-auto-join"), help: "autoJoinChannels = false.")
    var noAutoJoin = false

    @Option(name: .customLong("reconnection-delay"), help: "Reconnection delay in milliseconds.")
    var reconnectionDelay: Int64?

    @Option(name: .customLong("timeout"), help: "Connection timeout in milliseconds.")
    var timeout: Int64?

    @OptionGroup var logging: LogOptions

    func validate() throws {
        if let reconnectionDelay, reconnectionDelay < 0 { throw ValidationError("--reconnection-delay must not be negative") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
        // A malformed URL is a usage error now, not a script error at its first realtime call.
        if let url, !url.isEmpty {
            try Self.checkURL(url, option: "--url")
        } else if let env = environment["RTLUA_URL"], !env.isEmpty {
            try Self.checkURL(env, option: "RTLUA_URL")
        }
        if let realtimeURL {
            guard !realtimeURL.isEmpty else { throw ValidationError("--realtime-url must not be empty") }
            try Self.checkURL(realtimeURL, option: "--realtime-url")
        }
    }

    private static func checkURL(_ url: String, option: String) throws {
        do {
            try RealtimeEndpoint.check(url: url, argument: option)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// No --url, RTLUA_URL or --realtime-url: `run` and `repl` start an embedded hub.
    /// With --realtime-url alone, scripts connect there and getMembers asks the same host
    /// over http(s) (`RealtimeConfig.membersBaseURL`).
    var needsEmbeddedHub: Bool { baseURL == nil && (realtimeURL ?? "").isEmpty }

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// --url, else RTLUA_URL; nil means "start an embedded hub".
    var baseURL: String? {
        if let url, !url.isEmpty { return url }
        if let env = environment["RTLUA_URL"], !env.isEmpty { return env }
        return nil
    }

    var log: LogSettings { logging.settings }

    func realtimeConfig(baseURL: String) -> RealtimeConfig {
        var options = RealtimeOptions()
        options.echoMessages = !noEcho
        options.bufferMessages = !noBuffer
        options.autoJoinChannels = !noAutoJoin
        if let reconnectionDelay { options.reconnectionDelay = reconnectionDelay }
        if let timeout { options.timeout = timeout }
        return RealtimeConfig(baseURL: baseURL, realtimeURL: realtimeURL,
                              clientKey: key ?? environment["RTLUA_CLIENT_KEY"],
                              session: session ?? environment["RTLUA_SESSION"], options: options)
    }
}

/// --log-level and --log-format, for `run`, `repl` and `serve` alike.
struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "debug, info, warn or error.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: String = "text"

    func validate() throws {
        guard LogLevel(name: logLevel) != nil else {
            throw ValidationError("--log-level must be one of debug, info, warn, error (got '\(logLevel)')")
        }
        guard LogFormat(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json (got '\(logFormat)')")
        }
    }

    var settings: LogSettings {
        LogSettings(level: LogLevel(name: logLevel) ?? .info, format: LogFormat(rawValue: logFormat) ?? .text)
    }
}
