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

    @Option(name: .customLong("instances"), help: "Run N isolated copies of each script.")
    var instances: Int = 1

    @Flag(name: .customLong("watch"), help: "Reload a script when its file changes.")
    var watch = false

    @Option(name: .customLong("cpu-limit"), help: ArgumentHelp("CPU seconds one callback (or the main chunk) may use before it is ended; 0: no limit.", valueName: "SECONDS"))
    var cpuLimit: Double = Double(ScriptOptions.defaultCPULimit.nanoseconds) / 1e9

    @Argument(help: "The scripts to run.")
    var scripts: [String] = []

    /// Arguments after `--` (the scripts' `args`).
    var scriptArgs: [String] { CommandLineSplit.afterTerminator }

    func validate() throws {
        guard !scripts.isEmpty else { throw ValidationError("at least one SCRIPT.lua is required") }
        guard (1...10_000).contains(instances) else { throw ValidationError("--instances must be between 1 and 10000") }
        guard cpuLimit.isFinite, cpuLimit >= 0, cpuLimit < 1e9 else { throw ValidationError("--cpu-limit must be a number of seconds, 0 or more") }
    }

    func run() throws {
        let hub = connection.baseURL == nil ? try startEmbeddedHub() : nil
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let baseURL = connection.baseURL ?? hub?.baseURL ?? ""
        let config = connection.realtimeConfig(baseURL: baseURL)
        let log = connection.log
        let args = scriptArgs
        let cpuLimit: TimeAmount? = cpuLimit > 0 ? .nanoseconds(Int64(cpuLimit * 1e9)) : nil
        let runner = ScriptRunner(group: group, paths: scripts, instances: instances, watch: watch) { path, n in
            var options = ScriptOptions(path: path, instance: n, args: args, realtime: config, log: log)
            options.cpuLimit = cpuLimit
            return options
        }
        let trap = SignalTrap { runner.stop() }
        // A stop ends the scripts as `.stopped` (status 0); one that had failed before keeps its status.
        let status = try withExtendedLifetime(trap) { try runner.run().wait() }
        hub?.shutdown()
        try? group.syncShutdownGracefully()
        terminate(status)
    }
}
