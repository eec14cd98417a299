import ArgumentParser
import Hub
import LuaHost
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scripts until they end (exit status: the largest of theirs).",
        usage: "rtlua run [OPTIONS] SCRIPT.lua [SCRIPT2.lua …] [-- SCRIPT-ARGS…]"
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var memory: MemoryLimitOption

    @Option(name: .customLong("instances"), help: "Run N isolated copies of each script.")
    var instances: Int = 1

    @Flag(name: .customLong("watch"), help: "Reload a script when its file changes.")
    var watch = false

    @Argument(help: "The scripts to run.")
    var scripts: [String] = []

    /// Arguments after `--` (the scripts' `args`).
    var scriptArgs: [String] { CommandLineSplit.afterTerminator }

    func validate() throws {
        guard !scripts.isEmpty else { throw ValidationError("at least one SCRIPT.lua is required") }
        guard (1...10_000).contains(instances) else { throw ValidationError("--instances must be between 1 and 10000") }
    }

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let hub: Hub? = connection.baseURL == nil ? try startEmbeddedHub(group: group) : nil
        let baseURL = connection.baseURL ?? hub?.baseURL ?? ""
        let config = connection.realtimeConfig(baseURL: baseURL)
        let log = connection.log
        let args = scriptArgs
        let memoryLimit = memory.bytes
        let runner = ScriptRunner(group: group, paths: scripts, instances: instances, watch: watch) { path, n in
            var options = ScriptOptions(path: path, instance: n, args: args, realtime: config, log: log)
            options.memoryLimit = memoryLimit
            return options
        }
        let trap = SignalTrap { runner.stop() }
        let status = try runner.run().wait()
        if let hub { try? hub.shutdown().wait() }
        try? group.syncShutdownGracefully()
        terminate(trap.received ? 0 : status)
    }
}
