import ArgumentParser
import Foundation
import LuaHost

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a bot folder NAME: bot.lua, its test bot_test.lua, .luarc.json and the LuaLS types.",
        discussion: "Refuses a NAME that exists and is not an empty folder."
    )

    @Argument(help: ArgumentHelp("The folder to create.", valueName: "NAME"))
    var name: String

    func validate() throws {
        guard !name.isEmpty else { throw ValidationError("NAME must not be empty") }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: name)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { fail("\(name) exists and is not a folder") }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? ["?"]
            guard entries.isEmpty else { fail("\(name) exists and is not empty; choose a new name or empty it") }
        }
        var created: [String] = []
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (file, text) in [("bot.lua", BotTemplate.bot), ("bot_test.lua", BotTemplate.test)] {
                try text.write(to: folder.appendingPathComponent(file), atomically: true, encoding: .utf8)
                created.append(file)
            }
        } catch {
            fail("cannot create \(name): \(TypesInstaller.reason(error))")
        }
        do {
            // Paths in the .luarc.json are relative to the folder, so it can be moved or committed.
            let dir = TypesInstaller.defaultDirectory
            let written = try TypesInstaller.install(addon: folder.appendingPathComponent(dir), luarcFolder: folder,
                                                     libraryPath: dir + "/library")
            let prefix = folder.standardizedFileURL.path + "/"
            created += written.map { String($0.standardizedFileURL.path.dropFirst(prefix.count)) }
        } catch {
            fail("\(error)")
        }
        print("created \(name)/ with:")
        for file in created { print("  \(file)") }
        print("")
        print("next: cd \(name) && rtlua run bot.lua")
    }

    private func fail(_ message: String) -> Never {
        writeError("rtlua init: \(message)")
        terminate(2)
    }
}

/// The files `rtlua init` writes: a small bot and its test (the `rtlua test` API).
enum BotTemplate {
    static let bot = """
    -- A small bot: it joins a channel, answers every "ping" with a "pong", and logs who
    -- comes and goes.
    --
    --   rtlua run bot.lua                  against an embedded hub, no set-up
    --   rtlua run bot.lua -- room          in channel "room" instead of "lobby"
    --   rtlua run bot.lua -- lobby 1       exit after answering one ping
    --   rtlua run --url https://YOURAPP.c1-na.altogic.com --key CLIENT-KEY bot.lua
    --
    -- Try it from another terminal: rtlua repl --url … then
    --   realtime:join("lobby"); realtime:on("pong", function(d) print(d.message.to) end)
    --   realtime:send("lobby", "ping", {from = "me"})

    local channel = args[1] or "lobby"
    local pingsLeft = tonumber(args[2])   -- nil: answer pings forever

    realtime:onConnect(function()
      log.info("connected as %s", realtime:getSocketId())
    end)

    realtime:onJoin(function(data)
      log.info("%s joined %s", data.message.id, data.channel)
    end)

    realtime:onLeave(function(data)
      log.info("%s left %s", data.message.id, data.channel)
    end)

    realtime:on("ping", function(data)
      local from = type(data.message) == "table" and data.message.from or nil
      realtime:send(data.channel or channel, "pong", {to = from, at = now()})
      log.info("answered a ping from %s", from or "someone")
      if pingsLeft then
        pingsLeft = pingsLeft - 1
        if pingsLeft <= 0 then exit(0) end
      end
    end)

    realtime:updateProfile({name = "bot", instance = instance})
    realtime:join(channel)
    log.info("listening for pings in %s", channel)

    """

    static let test = """
    -- Tests for bot.lua. Run them with: rtlua test

    test("the bot answers a ping with a pong", function()
      -- Play a user in the lobby; with echo on, our own join says we are in.
      local user = client{echoMessages = true}
      user:join("lobby")
      user:waitFor("channel:join", {channel = "lobby", timeout = 5})

      -- Start the bot; its join (with its profile) says it listens. Then ping it.
      spawn("bot.lua", {args = {"lobby"}})
      local joined, err = user:waitFor("channel:join", {channel = "lobby", timeout = 5})
      expect(err):toBeNil()
      expect(joined.message.data.name):toBe("bot")

      user:send("lobby", "ping", {from = "tester"})
      local pong, perr = user:waitFor("pong", {channel = "lobby", timeout = 5})
      expect(perr):toBeNil()
      expect(pong.message.to):toBe("tester")
    end)

    """
}
