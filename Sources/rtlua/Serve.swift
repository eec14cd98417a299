import ArgumentParser
import Dispatch
import Hub
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
