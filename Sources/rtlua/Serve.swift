import ArgumentParser
import Dispatch
import Hub
import Logging
import LuaHost
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the realtime hub on its own until SIGINT/SIGTERM.")

    @Option(name: .customLong("host"), help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .customLong("port"), help: "Port to listen on (0: any free port).")
    var port: Int = 8080

    @Option(name: .customLong("key"), help: "A client key the hub accepts (repeatable; none: any).")
    var keys: [String] = []

    @Option(name: .customLong("master-key"),
            help: "Authorises the admin user-event call (env RTLUA_MASTER_KEY; none: the call is off).")
    var masterKey: String?

    @Option(name: .customLong("ping-interval"), help: "Engine.IO ping interval in milliseconds.")
    var pingInterval: Int64 = 25000

    @Option(name: .customLong("ping-timeout"), help: "Milliseconds a client has to answer a ping.")
    var pingTimeout: Int64 = 20000

    @Option(name: .customLong("max-payload"), help: "Largest packet a client may send, in bytes.")
    var maxPayload: Int = 1_000_000

    // MARK: connection layer (TCP/HTTP)

    @Option(name: .customLong("max-connections"),
            help: "Open connections at most (also kept 64 under the open-files limit, whose soft value is raised to the hard one).")
    var maxConnections: Int = 10_000

    @Option(name: .customLong("header-timeout"), help: "Milliseconds a client has to send a request's headers.")
    var headerTimeout: Int64 = 10_000

    @Option(name: .customLong("idle-timeout"),
            help: "Milliseconds an HTTP connection may idle between requests, stall a body, or leave a response unread.")
    var idleTimeout: Int64 = 30_000

    @Option(name: .customLong("log-level"), help: "debug, info, warn or error.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: String = "text"

    func validate() throws {
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard headerTimeout > 0, idleTimeout > 0 else {
            throw ValidationError("--header-timeout and --idle-timeout must be positive")
        }
        guard LogLevel(name: logLevel) != nil else {
            throw ValidationError("--log-level must be one of debug, info, warn, error (got '\(logLevel)')")
        }
        guard LogFormat(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json (got '\(logFormat)')")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard pingInterval > 0, pingTimeout > 0 else {
            throw ValidationError("--ping-interval and --ping-timeout must be positive")
        }
        guard maxPayload > 0 else { throw ValidationError("--max-payload must be positive") }
        if let masterKey, masterKey.isEmpty { throw ValidationError("--master-key must not be empty") }
    }

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var config = HubConfig()
        config.host = host
        config.port = port
        config.clientKeys = keys
        config.masterKey = masterKey ?? getenv("RTLUA_MASTER_KEY").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        config.pingInterval = pingInterval
        config.pingTimeout = pingTimeout
        config.maxPayload = maxPayload
        // Connection layer: the cap, the HTTP deadlines and where refusals are reported.
        raiseDescriptorLimit()
        config.maxConnections = maxConnections
        config.headerTimeout = headerTimeout
        config.idleTimeout = idleTimeout
        let settings = LogSettings(level: LogLevel(name: logLevel) ?? .info, format: LogFormat(rawValue: logFormat) ?? .text)
        config.logger = Logger(label: "rtlua.hub", factory: { _ in StderrLogHandler(component: "hub", settings: settings) })
        let hub = try Hub.start(config: config, group: group).wait()
        writeError("rtlua: hub listening at \(hub.baseURL)")
        let stopped = DispatchSemaphore(value: 0)
        let trap = SignalTrap { stopped.signal() }
        stopped.wait()
        _ = trap
        try? hub.shutdown().wait()
        try? group.syncShutdownGracefully()
        terminate(0)
    }
}

/// Raises the open-files soft limit to the hard one: the hub's connection cap stays under
/// the soft limit, and a default soft limit of 1024 would cap a hub that may hold 10,000.
private func raiseDescriptorLimit() {
    var limit = rlimit()
    #if os(Linux)
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    let wanted = limit.rlim_max
    limit.rlim_cur = wanted
    if setrlimit(resource, &limit) != 0 {
        // Darwin refuses more than OPEN_MAX for an unlimited hard limit; take what is allowed.
        limit.rlim_cur = min(wanted, 10_240 + 64)
        _ = setrlimit(resource, &limit)
    }
}
