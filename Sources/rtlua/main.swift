import ArgumentParser
import LuaHost
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `rtlua run a.lua b.lua -- x y`: what follows the first `--` is the scripts' `args`,
/// split off before parsing (ArgumentParser takes only one positional array).
enum CommandLineSplit {
    private static let all = Array(CommandLine.arguments.dropFirst())
    static let beforeTerminator: [String] = all.firstIndex(of: "--").map { Array(all[..<$0]) } ?? all
    static let afterTerminator: [String] = all.firstIndex(of: "--").map { Array(all[($0 + 1)...]) } ?? []
}

// libcurl and NIO write to sockets the peer may have closed: that is an error value, never a signal.
signal(SIGPIPE, SIG_IGN)

// Exit status 2 for bad command-line use (LUA_API.md), not ArgumentParser's 64.
var command: ParsableCommand
do {
    command = try RTLua.parseAsRoot(CommandLineSplit.beforeTerminator)
} catch {
    let code = RTLua.exitCode(for: error)
    if code == .success {
        print(RTLua.fullMessage(for: error))
        exit(0)
    }
    writeError(RTLua.fullMessage(for: error))
    exit(2)
}
do {
    try command.run()
} catch {
    // `rtlua run --help` parses into a help command that "fails" with a clean exit.
    switch RTLua.exitCode(for: error) {
    case .success:
        print(RTLua.fullMessage(for: error))
        exit(0)
    case .validationFailure:
        writeError(RTLua.fullMessage(for: error))
        exit(2)
    default:
        RunnerLog.log(.error, "\(error)")  // JSON under --log-format json, like rtlua's other lines
        exit(1)
    }
}
