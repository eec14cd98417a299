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

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
    }

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var config = HubConfig()
        config.host = host
        config.port = port
        config.clientKeys = keys
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
