import ArgumentParser
import LuaHost

/// `--memory-limit SIZE` of `run` and `repl` (docs/limits.md, "Memory budget").
struct MemoryLimitOption: ParsableArguments {
    @Option(name: .customLong("memory-limit"),
            help: "Most memory each script VM (each instance) may hold, e.g. 64MB, 512KiB, or bytes; 0: no limit (default 256MiB).")
    var memoryLimit: String?

    func validate() throws {
        guard let memoryLimit else { return }
        guard MemoryBudget.parseSize(memoryLimit) != nil else {
            throw ValidationError("--memory-limit must be a size such as 64MB, 512KiB, 1GiB or a number of bytes, 0 for no limit (got '\(memoryLimit)')")
        }
    }

    /// The limit in bytes (0: none).
    var bytes: Int { memoryLimit.flatMap(MemoryBudget.parseSize) ?? MemoryBudget.defaultLimit }
}
