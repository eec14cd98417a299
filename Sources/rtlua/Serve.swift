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

    @OptionGroup(title: "Per-connection limits (0 turns a limit off where noted)")
    var limits: HubLimitOptions

    @OptionGroup(title: "Connection limits (TCP and HTTP)")
    var connectionLimits: HubConnectionOptions

    @OptionGroup var logging: LogOptions

    func validate() throws {
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
        Hub.raiseDescriptorLimit()  // the connection cap stays under the soft limit
        connectionLimits.apply(to: &config)
        limits.apply(to: &config)
        let settings = logging.settings
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

/// `serve`'s per-connection limits (HubConfig, docs/limits.md "Hub: sockets").
struct HubLimitOptions: ParsableArguments {
    @Option(name: .customLong("outbound-limit"),
            help: "Bytes that may wait unsent to one client before it is cut off (0: max(16 MiB, 4 × max-payload)).")
    var outboundLimit: Int = 0

    @Option(name: .customLong("connect-timeout"), help: "Milliseconds a WebSocket may stay open without a Socket.IO CONNECT.")
    var connectTimeout: Int64 = 45000

    @Option(name: .customLong("max-connect-attempts"), help: "Refused CONNECTs (wrong key) before the connection is closed (0: no limit).")
    var maxConnectAttempts: Int = 3

    @Option(name: .customLong("packet-rate"), help: "Packets per second one connection may send; more are dropped (0: no limit).")
    var packetRate: Int = 200_000

    @Option(name: .customLong("packet-burst"), help: "Packets one connection may send at once (the rate limit's bucket).")
    var packetBurst: Int = 200_000

    @Option(name: .customLong("max-channels"), help: "Channels one socket may be in at once (0: no limit).")
    var maxChannels: Int = 100

    @Option(name: .customLong("max-member-data"), help: "Bytes of JSON a socket's member data may take (0: no limit).")
    var maxMemberData: Int = 16 * 1024

    @Option(name: .customLong("max-binary-bytes"),
            help: "Bytes the attachments of one binary packet may take together (0: max-payload).")
    var maxBinaryBytes: Int = 0

    @Option(name: .customLong("binary-timeout"), help: "Milliseconds a binary packet may wait for its attachments.")
    var binaryTimeout: Int64 = 10_000

    func validate() throws {
        for (value, option) in [(outboundLimit, "outbound-limit"), (maxConnectAttempts, "max-connect-attempts"),
                                (packetRate, "packet-rate"), (maxChannels, "max-channels"),
                                (maxMemberData, "max-member-data"), (maxBinaryBytes, "max-binary-bytes")] where value < 0 {
            throw ValidationError("--\(option) must not be negative")
        }
        guard connectTimeout > 0, binaryTimeout > 0 else {
            throw ValidationError("--connect-timeout and --binary-timeout must be positive")
        }
        guard packetRate <= 1_000_000_000, packetRate == 0 || (1...1_000_000_000).contains(packetBurst) else {
            throw ValidationError("--packet-rate must be at most 1000000000 and --packet-burst between 1 and 1000000000")
        }
        var config = HubConfig()
        apply(to: &config)
        if let problem = config.limitsValidationError() { throw ValidationError(problem) }  // anything missed above
    }

    func apply(to config: inout HubConfig) {
        config.outboundBufferLimit = outboundLimit
        config.connectTimeout = connectTimeout
        config.maxConnectAttempts = maxConnectAttempts
        config.packetRate = packetRate
        config.packetBurst = packetBurst
        config.maxChannelsPerSocket = maxChannels
        config.maxMemberDataBytes = maxMemberData
        config.maxBinaryPacketBytes = maxBinaryBytes
        config.binaryPacketTimeout = binaryTimeout
    }
}

/// `serve`'s connection limits (HubConfig, docs/limits.md "Hub: connections and HTTP").
struct HubConnectionOptions: ParsableArguments {
    @Option(name: .customLong("max-connections"),
            help: "Open connections at most (also kept 64 under the open-files limit, whose soft value is raised to the hard one).")
    var maxConnections: Int = 10_000

    @Option(name: .customLong("header-timeout"), help: "Milliseconds a client has to send a request's headers.")
    var headerTimeout: Int64 = 10_000

    @Option(name: .customLong("idle-timeout"),
            help: "Milliseconds an HTTP connection may idle between requests, stall a body, or leave a response unread.")
    var idleTimeout: Int64 = 30_000

    func validate() throws {
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard headerTimeout > 0, idleTimeout > 0 else {
            throw ValidationError("--header-timeout and --idle-timeout must be positive")
        }
    }

    func apply(to config: inout HubConfig) {
        config.maxConnections = maxConnections
        config.headerTimeout = headerTimeout
        config.idleTimeout = idleTimeout
    }
}
