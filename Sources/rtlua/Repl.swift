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

struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read Lua lines from stdin and run them in one script (expressions print their values)."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("cpu-limit"), help: ArgumentHelp("CPU seconds one line (or callback) may use before it is ended; 0: no limit.", valueName: "SECONDS"))
    var cpuLimit: Double = Double(ScriptOptions.defaultCPULimit.nanoseconds) / 1e9

    func validate() throws {
        guard cpuLimit.isFinite, cpuLimit >= 0, cpuLimit < 1e9 else { throw ValidationError("--cpu-limit must be a number of seconds, 0 or more") }
    }

    @OptionGroup var memory: MemoryLimitOption

    func run() throws {
        RunnerLog.settings = connection.log
        let hub = connection.needsEmbeddedHub ? try startEmbeddedHub() : nil
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let baseURL = connection.baseURL ?? hub?.baseURL ?? ""
        var options = ScriptOptions(path: "repl", realtime: connection.realtimeConfig(baseURL: baseURL), log: connection.log)
        options.cpuLimit = cpuLimit > 0 ? .nanoseconds(Int64(cpuLimit * 1e9)) : nil
        options.memoryLimit = memory.bytes
        let script = LuaScript(options: options, eventLoop: group.next())
        script.becomeREPL()
        // The main thread may sit in readLine(): a signal ends the session from here.
        let trap = SignalTrap {
            script.stop()
            _ = try? script.ended.wait()
            hub?.shutdown()
            terminate(0)
        }
        let interactive = isatty(0) != 0
        while true {
            if interactive { writeError("> ") }
            guard let line = readLine() else { break }
            if line.trimmingCharacters(in: " \t") == "" { continue }
            try script.evaluate(line).wait()
            if try script.eventLoop.submit({ script.isEnded }).wait() { break }
        }
        script.stop()
        let end = try script.ended.wait()
        hub?.shutdown()
        try? group.syncShutdownGracefully()
        terminate(trap.received ? 0 : end.status)
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
