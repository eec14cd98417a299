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

    @OptionGroup var memory: MemoryLimitOption

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let hub: Hub? = connection.baseURL == nil ? try startEmbeddedHub(group: group) : nil
        let baseURL = connection.baseURL ?? hub?.baseURL ?? ""
        var options = ScriptOptions(path: "repl", realtime: connection.realtimeConfig(baseURL: baseURL), log: connection.log)
        options.memoryLimit = memory.bytes
        let script = LuaScript(options: options, eventLoop: group.next())
        script.becomeREPL()
        // The main thread may sit in readLine(): a signal ends the session from here.
        let trap = SignalTrap {
            script.stop()
            _ = try? script.ended.wait()
            if let hub { _ = try? hub.shutdown().wait() }
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
        if let hub { try? hub.shutdown().wait() }
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
