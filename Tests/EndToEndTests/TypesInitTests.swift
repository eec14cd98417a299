import Foundation
import XCTest

/// `rtlua types` and `rtlua init`, run as real processes.
final class TypesInitTests: XCTestCase {
    private func json(_ url: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try XCTUnwrap(object as? [String: Any], "\(url.lastPathComponent) is a JSON object")
    }

    private func run(_ arguments: [String], in dir: URL, timeout: Double = 60) throws -> Finished {
        let p = try RTLuaProcess(arguments, directory: dir)
        p.closeStdin()
        let status = p.waitForExit(timeout: timeout)
        return Finished(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    func testTypesWritesTheAddonAndALuarcAndIsIdempotent() throws {
        let dir = try scriptDirectory([:])
        let first = try run(["types"], in: dir)
        XCTAssertEqual(first.status, 0, first.stderr)

        let library = try String(contentsOf: dir.appendingPathComponent("types/library/rtlua.lua"), encoding: .utf8)
        XCTAssertTrue(library.hasPrefix("---@meta"))
        for definition in ["function RealtimeManager:getMembers(channel) end", "function timer.every(seconds, fn) end",
                           "---@alias rtlua.UserEvent", "---| \"user:pwdchange\"", "---@class rtlua.EventData", "---@async"] {
            XCTAssertTrue(library.contains(definition), definition)
        }

        let config = try json(dir.appendingPathComponent("types/config.json"))
        XCTAssertEqual(config["name"] as? String, "rtlua")
        XCTAssertNotNil(config["words"] as? [String])
        let settings = try XCTUnwrap(config["settings"] as? [String: Any])
        XCTAssertEqual(settings["Lua.runtime.version"] as? String, "Lua 5.4")
        let globals = try XCTUnwrap(settings["Lua.diagnostics.globals"] as? [String])
        XCTAssertTrue(globals.contains("realtime") && globals.contains("schedule"), "\(globals)")

        let luarc = try json(dir.appendingPathComponent(".luarc.json"))
        XCTAssertEqual(luarc["runtime.version"] as? String, "Lua 5.4")
        XCTAssertEqual(luarc["workspace.library"] as? [String], ["types/library"])

        // Again, and into a second folder: the first run's files are unchanged, and the
        // .luarc.json lists both libraries.
        let snapshot = try Data(contentsOf: dir.appendingPathComponent("types/library/rtlua.lua"))
        let luarcBefore = try Data(contentsOf: dir.appendingPathComponent(".luarc.json"))
        XCTAssertEqual(try run(["types"], in: dir).status, 0)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("types/library/rtlua.lua")), snapshot)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(".luarc.json")), luarcBefore)
        let other = try run(["types", "editor/lua/"], in: dir)
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("editor/lua/library/rtlua.lua").path))
        XCTAssertEqual(try json(dir.appendingPathComponent(".luarc.json"))["workspace.library"] as? [String],
                       ["types/library", "editor/lua/library"])
    }

    func testTypesIntoAPathThatCannotBeAFolderExits2() throws {
        let dir = try scriptDirectory(["blocker": "a file, not a folder\n"])
        let result = try run(["types", "blocker"], in: dir)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("rtlua types: cannot write blocker/library/rtlua.lua: blocker is a file, not a folder"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".luarc.json").path))
    }

    func testTypesRefusesToReplaceALuarcThatIsNotJSON() throws {
        let dir = try scriptDirectory([".luarc.json": "{ \"runtime.version\": \"Lua 5.4\", oops }\n"])
        let result = try run(["types"], in: dir)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains(".luarc.json is not valid JSON"), result.stderr)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent(".luarc.json"), encoding: .utf8),
                       "{ \"runtime.version\": \"Lua 5.4\", oops }\n")
    }

    func testInitMakesABotFolderWhoseBotRunsAndAnswersAPing() throws {
        let dir = try scriptDirectory([:])
        let made = try run(["init", "demo"], in: dir)
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertTrue(made.stdout.contains("next: cd demo && rtlua run bot.lua"), made.stdout)
        let demo = dir.appendingPathComponent("demo")
        for file in ["bot.lua", "bot_test.lua", ".luarc.json", "types/library/rtlua.lua", "types/config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: demo.appendingPathComponent(file).path), file)
            XCTAssertTrue(made.stdout.contains(file), "lists \(file)")
        }
        XCTAssertEqual(try json(demo.appendingPathComponent(".luarc.json"))["workspace.library"] as? [String], ["types/library"])
        let test = try String(contentsOf: demo.appendingPathComponent("bot_test.lua"), encoding: .utf8)
        for name in ["test(", "spawn(", "client{", "expect("] { XCTAssertTrue(test.contains(name), name) }
        // The files compile (rtlua check).
        let checked = try run(["check", "bot.lua", "bot_test.lua"], in: demo)
        XCTAssertEqual(checked.status, 0, checked.stderr)

        // `rtlua run bot.lua` as the user runs it: connects to the embedded hub and listens.
        let bot = try RTLuaProcess(["run", "bot.lua"], directory: demo)
        bot.closeStdin()
        let listening = bot.waitFor { $0.stderr.contains("listening for pings in lobby") && $0.stderr.contains("connected as ") }
        bot.signal(SIGINT)
        XCTAssertTrue(listening, bot.stderr)
        XCTAssertEqual(bot.waitForExit(), 0, bot.stderr)

        // And it answers: a peer in the same run pings until the pong comes; the bot ends
        // after one ping (its second argument).
        try """
        realtime:on("pong", function(d) print("pong to " .. tostring(d.message.to)) exit(0) end)
        realtime:join("lobby")
        timer.every(0.2, function() realtime:send("lobby", "ping", {from = "tester"}) end)
        """.write(to: demo.appendingPathComponent("peer.lua"), atomically: true, encoding: .utf8)
        let both = try run(["run", "bot.lua", "peer.lua", "--", "lobby", "1"], in: demo)
        XCTAssertEqual(both.status, 0, both.stderr)
        XCTAssertEqual(both.lines, ["pong to tester"], both.stderr)
        XCTAssertTrue(both.stderr.contains("answered a ping from tester"), both.stderr)

        // The test it ships passes under `rtlua test`.
        let tested = try run(["test"], in: demo)
        XCTAssertEqual(tested.status, 0, tested.stdout + tested.stderr)
        XCTAssertTrue(tested.stdout.contains("1 passed, 0 failed"), tested.stdout)
    }

    func testInitRefusesAFolderThatIsNotEmpty() throws {
        let dir = try scriptDirectory([:])
        let taken = dir.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: taken, withIntermediateDirectories: true)
        try "keep me\n".write(to: taken.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let result = try run(["init", "taken"], in: dir)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("rtlua init: taken exists and is not empty"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: taken.path), ["notes.txt"])

        // An empty folder is fine.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(try run(["init", "empty"], in: dir).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("empty/bot.lua").path))
    }

    /// The event-data shapes the generated types describe are the ones a script receives.
    func testTheDocumentedShapesAreWhatAScriptReceives() throws {
        let dir = try scriptDirectory(["shapes.lua": """
        local function keys(t)
          local k = {}
          for name in pairs(t) do k[#k + 1] = name end
          table.sort(k)
          return table.concat(k, ",")
        end
        realtime:onJoin(function(d)
          print("rtlua.PresenceData " .. keys(d))
          print("rtlua.Member " .. keys(d.message))
        end)
        realtime:on("hello", function(d)
          print("rtlua.EventData " .. keys(d))
          local members = assert(realtime:getMembers("room"))
          print("rtlua.Member " .. keys(members[1]))
          exit(0)
        end)
        realtime:updateProfile({name = "shapes"})
        realtime:join("room")
        realtime:send("room", "hello", {n = 1})
        """])
        XCTAssertEqual(try run(["types"], in: dir).status, 0)
        let library = try String(contentsOf: dir.appendingPathComponent("types/library/rtlua.lua"), encoding: .utf8)
        let result = try run(["run", "shapes.lua"], in: dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 4, result.stdout)
        for line in result.lines {
            let parts = line.split(separator: " ").map(String.init)
            XCTAssertEqual(parts.count, 2, line)
            XCTAssertEqual(documentedFields(of: parts[0], in: library), parts[1], "the fields of \(parts[0])")
        }
    }

    /// The `---@field` names of class `name` in the generated library, sorted, joined by commas.
    private func documentedFields(of name: String, in library: String) -> String {
        guard let start = library.range(of: "---@class \(name)\n") else { return "(no class \(name))" }
        return library[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { $0.hasPrefix("---@field ") }
            .map { String($0.split(separator: " ")[1]) }
            .sorted().joined(separator: ",")
    }
}
