import ArgumentParser
import Dispatch
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
        // On a terminal, libedit; piped, plain lines and no prompts, so the output is only the results.
        let editor = isatty(0) != 0 && isatty(1) != 0 ? LineEditor(historyPath: Self.historyPath()) : nil
        // rtlua's own lines (the hub's, the runner's) print above the edited line too; set
        // before the hub's threads start.
        if let editor { RunnerLog.stderrSink = { editor.emit(2, Array($0.utf8)) } }
        let hub = connection.needsEmbeddedHub ? try startEmbeddedHub() : nil
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let baseURL = connection.baseURL ?? hub?.baseURL ?? ""
        var options = ScriptOptions(path: "repl", realtime: connection.realtimeConfig(baseURL: baseURL), log: connection.log)
        options.cpuLimit = cpuLimit > 0 ? .nanoseconds(Int64(cpuLimit * 1e9)) : nil
        options.memoryLimit = memory.bytes
        if let editor { options.output = editor.scriptOutput }
        let script = LuaScript(options: options, eventLoop: group.next())
        let session = ReplSession(script: script)
        let stopSession: @Sendable () -> Void = {
            editor?.restoreTerminal()
            script.stop()
            _ = try? script.ended.wait()
            hub?.shutdown()
            terminate(0)
        }
        // Piped, the main thread may sit in readLine(): a signal ends the session from here.
        // On a terminal, Ctrl-C drops the edited line or interrupts the chunk that runs.
        let trap: SignalTrap? = editor == nil ? SignalTrap(graceful: stopSession) : nil
        let interrupts = editor.map { editor in
            editor.onInterrupt = { session.interrupt() }
            editor.complete = { word in (try? session.completions(for: word).wait()) ?? [] }
            script.ended.whenComplete { _ in editor.endInput() }
            return InterruptTrap(onInterrupt: { editor.interrupt() }, onTerminate: stopSession, onResize: { editor.resized() })
        }
        var chunk = ""
        reading: while true {
            let line: String
            if let editor {
                switch editor.readLine(prompt: chunk.isEmpty ? "> " : ">> ") {
                case .line(let text): line = text
                case .cancelled:
                    chunk = ""
                    continue
                case .end: break reading
                }
            } else {
                if isatty(0) != 0 { writeError(chunk.isEmpty ? "> " : ">> ") }
                guard let text = readLine() else {
                    // An unfinished chunk at the end of the input: its syntax error is shown.
                    if !chunk.isEmpty { _ = try session.evaluate(chunk, atEnd: true).wait() }
                    break
                }
                line = text
            }
            if chunk.isEmpty && line.trimmingCharacters(in: " \t") == "" { continue }
            chunk = chunk.isEmpty ? line : chunk + "\n" + line
            if try session.evaluate(chunk).wait() == .incomplete { continue }
            chunk = ""
            if try session.hasEnded.wait() { break }
        }
        withExtendedLifetime(interrupts) {}
        script.stop()
        let end = try script.ended.wait()
        editor?.close()
        hub?.shutdown()
        try? group.syncShutdownGracefully()
        terminate(trap?.received == true ? 0 : end.status)
    }

    /// env RTLUA_HISTORY, else ~/.rtlua_history; none when there is no home.
    static func historyPath() -> String? {
        if let path = getenv("RTLUA_HISTORY").map({ String(cString: $0) }), !path.isEmpty { return path }
        guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else { return nil }
        return home + "/.rtlua_history"
    }
}

/// On a terminal: SIGINT (Ctrl-C while a chunk runs) interrupts, SIGTERM ends the session,
/// SIGWINCH tells the line editor the new width.
final class InterruptTrap: @unchecked Sendable {  // sources only touched at init
    private let queue = DispatchQueue(label: "rtlua.repl.signals")
    private var sources: [DispatchSourceSignal] = []

    init(onInterrupt: @escaping @Sendable () -> Void, onTerminate: @escaping @Sendable () -> Void, onResize: @escaping @Sendable () -> Void) {
        for (sig, action) in [(SIGINT, onInterrupt), (SIGTERM, onTerminate), (SIGWINCH, onResize)] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler(handler: action)
            source.resume()
            sources.append(source)
        }
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
