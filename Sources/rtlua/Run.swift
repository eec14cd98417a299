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

    @OptionGroup var report: RunMetricsOptions

    @Option(name: .customLong("instances"), help: "Run N isolated copies of each script (default: options.instances, else 1).")
    var instances: Int?

    @Flag(name: .customLong("watch"), help: "Reload a script when its file changes.")
    var watch = false

    @Option(name: .customLong("restart"),
            help: "Start a script instance again: no, on-failure (after an error or a non-zero exit) or always (after any end); back-off from 100ms doubling to 30s, given up after 5 failures within 60s.")
    var restart: String = "no"

    @Option(name: .customLong("cpu-limit"), help: ArgumentHelp("CPU seconds one callback (or the main chunk) may use before it is ended; 0: no limit.", valueName: "SECONDS"))
    var cpuLimit: Double = Double(ScriptOptions.defaultCPULimit.nanoseconds) / 1e9

    @Argument(help: "The scripts to run.")
    var scripts: [String] = []

    /// Arguments after `--` (the scripts' `args`).
    var scriptArgs: [String] { CommandLineSplit.afterTerminator }

    func validate() throws {
        guard !scripts.isEmpty else { throw ValidationError("at least one SCRIPT.lua is required") }
        guard (1...100_000).contains(instances ?? 1) else { throw ValidationError("--instances must be between 1 and 100000") }
        guard RestartPolicy(rawValue: restart) != nil else {
            throw ValidationError("--restart must be one of no, on-failure, always (got '\(restart)')")
        }
        guard cpuLimit.isFinite, cpuLimit >= 0, cpuLimit < 1e9 else { throw ValidationError("--cpu-limit must be a number of seconds, 0 or more") }
    }

    func run() throws {
        RunnerLog.settings = connection.log
        let hub = connection.needsEmbeddedHub ? try startEmbeddedHub() : nil
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let baseURL = connection.baseURL ?? hub?.baseURL ?? ""
        let config = connection.realtimeConfig(baseURL: baseURL)
        let log = connection.log
        let args = scriptArgs
        let cpuLimit: TimeAmount? = cpuLimit > 0 ? .nanoseconds(Int64(cpuLimit * 1e9)) : nil
        let memoryLimit = memory.bytes
        // The scripts' options with the command line over them, and the checks and metrics
        // (RunPlan.swift, RunReport.swift): this shard's instances, numbered across shards.
        let plan = try RunPlan(report, scripts: scripts, args: args, instances: instances)
        if plan.instances > 1 { Hub.raiseDescriptorLimit() }  // a fleet needs a descriptor per bot
        let metricsRun = try MetricsRun(report, plan: plan, scripts: scripts, group: group)
        let supervision = Supervision(policy: RestartPolicy(rawValue: restart) ?? .no)
        let makeOptions: @Sendable (String, Int) -> ScriptOptions = { path, number in
            var options = ScriptOptions(path: path, instance: number, args: args, realtime: config, log: log)
            options.cpuLimit = cpuLimit
            options.memoryLimit = memoryLimit
            options.metrics = metricsRun.metrics
            return options
        }
        let runner = ScriptRunner(group: group, paths: scripts, instances: metricsRun.instances.count, watch: watch,
                                  supervision: supervision) { path, n in makeOptions(path, metricsRun.instances.lowerBound - 1 + n) }
        let stages = plan.stages.isEmpty ? nil : StageRunner(loop: group.next(), stages: plan.stages, shard: metricsRun.shard) { number in
            ScriptRunner(group: group, paths: self.scripts, watch: self.watch, supervision: supervision) { path, _ in makeOptions(path, number) }
        }
        let trap = SignalTrap { if let stages { stages.stop() } else { runner.stop() } }
        if let duration = plan.duration, stages == nil {
            group.next().scheduleTask(in: .nanoseconds(Int64(duration * 1e9))) { runner.stop() }
        }
        let live = metricsRun.startStatusLine { [stages, metricsRun] in stages?.currentTarget ?? metricsRun.instances.count * scripts.count }
        // Stopped scripts count 0; one that had failed or exited with a code before the
        // signal still shows in the status.
        var status: Int32 = try withExtendedLifetime(trap) {
            if let stages { return try stages.run().wait() }
            return metricsRun.instances.isEmpty ? 0 : try runner.run().wait()
        }
        live?.stop()
        status = max(status, metricsRun.finish(started: stages?.started))
        hub?.shutdown()
        try? group.syncShutdownGracefully()
        terminate(status)
    }
}
