import ArgumentParser

struct RTLua: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtlua",
        abstract: "Runs Lua 5.4 scripts connected to a realtime pub/sub hub.",
        subcommands: [Run.self, Serve.self, Repl.self, Check.self, Test.self, Merge.self, Types.self, Init.self]
    )
}
