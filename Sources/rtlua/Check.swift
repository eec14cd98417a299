import ArgumentParser
import LuaHost
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check scripts for syntax errors without running them (prints file:line: message)."
    )

    @Argument(help: "The scripts to check.")
    var scripts: [String] = []

    func validate() throws {
        guard !scripts.isEmpty else { throw ValidationError("at least one SCRIPT.lua is required") }
    }

    func run() throws {
        var failed = false
        for path in scripts {
            if let error = LuaSyntaxCheck.check(path: path) {
                writeError(error)
                failed = true
            } else {
                print("\(path): ok")
            }
        }
        terminate(failed ? 1 : 0)
    }
}
