import Foundation
import XCTest

/// `rtlua run --watch`: a changed file is reloaded in the running script's connections. The
/// socket, its channels and `state` stay, a peer sees no leave or join, the old version's
/// handlers and timers are gone; a broken save keeps the old version serving; every instance
/// reloads; a deleted file is logged.
final class ReloadTests: XCTestCase {
    func save(_ text: String, _ name: String, in dir: URL) throws {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Fields of the tab-separated stdout lines starting with `tag`.
    func fields(_ p: RTLuaProcess, _ tag: String) -> [[String]] {
        p.lines.map { $0.components(separatedBy: "\t") }.filter { $0.first == tag }
    }

    func testAReloadKeepsTheSocketItsChannelsAndStateWhileAPeerSeesNoLeaveOrJoin() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        // The peer: another rtlua process in the room, printing what it sees of the room and
        // sending one "cmd" to it once the new version speaks.
        let watcher = """
        local sent = false
        realtime:onJoin(function(d) if d.channel == "room" then print("join", d.message.id) end end)
        realtime:onLeave(function(d) if d.channel == "room" then print("leave", d.message.id) end end)
        realtime:on("hello", function(d)
          local m = d.message
          print("hello", m.v, m.sid, m.count, m.other)
          if m.v == 2 and not sent then
            sent = true
            realtime:send("room", "cmd", {})
          end
        end)
        realtime:join("room")
        """
        let v1 = """
        state.count = (state.count or 0) + 1
        state.handler = function() end
        state.nested = {list = json.array({}), null = json.null, self = state}
        realtime:on("cmd", function() print("v1 got cmd") end)
        realtime:join("room")
        local other = realtime.connect{}
        timer.every(0.1, function()
          if realtime:isConnected() and other:isConnected() then
            realtime:send("room", "hello", {v = 1, sid = realtime:getSocketId(), count = state.count, other = other:getSocketId()})
          end
        end)
        """
        // No join: the connection's membership is state and stays.
        let v2 = """
        state.count = state.count + 1
        function on_reload(old)
          print("on_reload", old.count, state.count)
        end
        print("carried", type(state.handler), getmetatable(state.nested.list) ~= nil,
              state.nested.null == json.null, state.nested.self == state)
        realtime:on("cmd", function() print("v2 got cmd") end)
        local other = realtime.connect{}  -- the same options: v1's second connection
        timer.every(0.1, function()
          realtime:send("room", "hello", {v = 2, sid = realtime:getSocketId(), count = state.count, other = other:getSocketId()})
        end)
        """
        let dir = try scriptDirectory(["watcher.lua": watcher, "bot.lua": v1])
        let w = try RTLuaProcess(["run", "--url", hub.url, "watcher.lua"], directory: dir)
        defer { w.signal(SIGKILL); _ = w.waitForExit(timeout: 10) }
        XCTAssertTrue(w.waitFor { $0.lines.contains { $0.hasPrefix("join\t") } }, w.stdout + w.stderr)
        let bot = try RTLuaProcess(["run", "--url", hub.url, "--watch", "bot.lua"], directory: dir)
        defer { bot.signal(SIGKILL); _ = bot.waitForExit(timeout: 10) }
        XCTAssertTrue(w.waitFor { self.fields($0, "hello").count >= 3 }, w.stdout + w.stderr)

        try save(v2, "bot.lua", in: dir)
        XCTAssertTrue(bot.waitFor { $0.stdout.contains("v2 got cmd") }, bot.stdout + bot.stderr)
        XCTAssertTrue(w.waitFor { self.fields($0, "hello").filter { $0[1] == "2" }.count >= 3 }, w.stdout + w.stderr)
        bot.signal(SIGINT)
        XCTAssertEqual(bot.waitForExit(timeout: 30), 0, bot.stderr)

        let hellos = fields(w, "hello")
        let sid = hellos.first?[2] ?? "?"
        XCTAssertFalse(sid.isEmpty)
        XCTAssertEqual(Set(hellos.map { $0[2] }), [sid], "one socket id before and after the reload: \(w.stdout)")
        let other = hellos.first?[4] ?? "?"
        XCTAssertNotEqual(other, sid)
        XCTAssertEqual(Set(hellos.map { $0[4] }), [other], "realtime.connect's connection was taken over too: \(w.stdout)")
        // The old version's timer is gone once the new one speaks; each saw its own count.
        let firstV2 = hellos.firstIndex { $0[1] == "2" } ?? hellos.count
        XCTAssertTrue(hellos[..<firstV2].allSatisfy { $0[1] == "1" && $0[3] == "1" }, w.stdout)
        XCTAssertTrue(hellos[firstV2...].allSatisfy { $0[1] == "2" && $0[3] == "2" }, w.stdout)
        // The peer saw the bot join once (before the reload) and leave only when it ended.
        XCTAssertTrue(w.waitFor { $0.lines.contains("leave\t\(sid)") }, w.stdout)
        let seen = w.lines
        XCTAssertEqual(seen.filter { $0 == "join\t\(sid)" }.count, 1, w.stdout)
        XCTAssertEqual(seen.filter { $0 == "leave\t\(sid)" }.count, 1, w.stdout)
        XCTAssertGreaterThan(seen.firstIndex(of: "leave\t\(sid)") ?? 0, seen.lastIndex { $0.hasPrefix("hello\t") } ?? .max, w.stdout)
        let out = bot.lines
        XCTAssertTrue(out.contains("on_reload\t1\t2"), bot.stdout)
        XCTAssertTrue(out.contains("carried\tnil\ttrue\ttrue\ttrue"), bot.stdout)
        XCTAssertFalse(bot.stdout.contains("v1 got cmd"), "the old version's handler was removed: \(bot.stdout)")
        XCTAssertTrue(bot.stderr.contains("INFO [bot.lua#1] reloaded bot.lua (v2) in "), bot.stderr)
        XCTAssertTrue(bot.stderr.contains("WARN [bot.lua#1] state of v1 not carried over: state.handler (function)"), bot.stderr)
    }

    func testABrokenSaveKeepsTheOldVersionServingAndTheNextGoodSaveReloads() throws {
        let v1 = """
        state.n = 0
        realtime:join("r")
        timer.every(0.05, function()
          state.n = state.n + 1
          print("tick", "v1", realtime:getSocketId(), state.n)
        end)
        """
        let dir = try scriptDirectory(["bot.lua": v1])
        let p = try RTLuaProcess(["run", "--watch", "bot.lua"], directory: dir)
        defer { p.signal(SIGKILL); _ = p.waitForExit(timeout: 10) }
        func ticks() -> [[String]] { fields(p, "tick").filter { $0.count == 4 && $0[2] != "nil" } }
        XCTAssertTrue(p.waitFor { _ in ticks().count >= 3 }, p.stdout + p.stderr)

        try save("print('syntax v')\nif then\n", "bot.lua", in: dir)
        XCTAssertTrue(p.waitFor { $0.stderr.contains("reload of bot.lua failed: v1 keeps running") }, p.stderr)
        XCTAssertTrue(p.stderr.contains("bot.lua:2: unexpected symbol near 'then'"), p.stderr)
        var seen = ticks().count
        XCTAssertTrue(p.waitFor { _ in ticks().count >= seen + 3 }, "the old version goes on: \(p.stdout)")

        try save("print('runtime v')\ntimer.every(0.05, function() print('tick', 'bad') end)\nlocal t = nil\nprint(t.field)\n", "bot.lua", in: dir)
        XCTAssertTrue(p.waitFor { $0.stderr.components(separatedBy: "v1 keeps running").count == 3 }, p.stderr)
        XCTAssertTrue(p.stderr.contains("bot.lua:4: attempt to index a nil value (local 't')"), p.stderr)
        seen = ticks().count
        XCTAssertTrue(p.waitFor { _ in ticks().count >= seen + 3 }, "the old version goes on: \(p.stdout)")

        try save("print('v2 starts', realtime:getSocketId(), state.n)\n", "bot.lua", in: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("v2 starts") }, p.stdout + p.stderr)
        XCTAssertTrue(p.waitFor { $0.stderr.contains("reloaded bot.lua (v2) in ") }, p.stderr)
        let beforeReload = ticks()
        Thread.sleep(forTimeInterval: 0.3)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)

        let sid = beforeReload.first?[2] ?? "?"
        XCTAssertEqual(Set(beforeReload.map { $0[2] }), [sid], p.stdout)
        let start = p.lines.first { $0.hasPrefix("v2 starts") }?.components(separatedBy: "\t") ?? []
        XCTAssertEqual(start.count, 3, p.stdout)
        XCTAssertEqual(start.dropFirst().first, sid, "the same socket after the failed saves")
        XCTAssertEqual(start.last, beforeReload.last?[3], "state carried from the version that kept running")
        XCTAssertEqual(ticks().count, beforeReload.count, "v1's timer stopped with the reload: \(p.stdout)")
        XCTAssertFalse(p.stdout.contains("syntax v"), p.stdout)
        XCTAssertFalse(p.stdout.contains("tick\tbad"), "a failed version's timers do not run: \(p.stdout)")
        XCTAssertTrue(p.stdout.contains("runtime v"), "the failed version's main chunk ran up to its error")
    }

    func testEveryInstanceOfTheChangedScriptReloadsAndOtherScriptsDoNot() throws {
        let v1 = { (name: String) in
            """
            realtime:onConnect(function() print("\(name)", "v1", instance, realtime:getSocketId()) end)
            realtime:join("r")
            """
        }
        let dir = try scriptDirectory(["a.lua": v1("a"), "b.lua": v1("b")])
        let p = try RTLuaProcess(["run", "--watch", "--instances", "2", "a.lua", "b.lua"], directory: dir)
        defer { p.signal(SIGKILL); _ = p.waitForExit(timeout: 10) }
        XCTAssertTrue(p.waitFor { $0.lines.count >= 4 }, p.stdout + p.stderr)

        try save("print('a', 'v2', instance, realtime:getSocketId())\n", "a.lua", in: dir)
        XCTAssertTrue(p.waitFor { self.fields($0, "a").filter { $0[1] == "v2" }.count == 2 }, p.stdout + p.stderr)
        try save("print('b', 'v2', instance, realtime:getSocketId())\n", "b.lua", in: dir)
        XCTAssertTrue(p.waitFor { self.fields($0, "b").filter { $0[1] == "v2" }.count == 2 }, p.stdout + p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)

        for name in ["a", "b"] {
            for instance in ["1", "2"] {
                let lines = fields(p, name).filter { $0[2] == instance }
                XCTAssertEqual(lines.map { $0[1] }, ["v1", "v2"], p.stdout)
                XCTAssertEqual(Set(lines.map { $0[3] }).count, 1, "instance \(instance) of \(name) kept its socket: \(p.stdout)")
                XCTAssertEqual(p.stderr.components(separatedBy: "[\(name).lua#\(instance)] reloaded \(name).lua (v2) in ").count - 1, 1,
                               p.stderr)
            }
        }
        let sockets = Set(p.lines.map { $0.components(separatedBy: "\t").last ?? "" })
        XCTAssertEqual(sockets.count, 4, "each copy has a connection of its own: \(p.stdout)")
    }

    func testADeletedFileIsLoggedTheScriptGoesOnAndItsReturnReloads() throws {
        let v1 = """
        timer.every(0.05, function() print("tick") end)
        """
        let dir = try scriptDirectory(["bot.lua": v1])
        let p = try RTLuaProcess(["run", "--watch", "--log-format", "json", "bot.lua"], directory: dir)
        defer { p.signal(SIGKILL); _ = p.waitForExit(timeout: 10) }
        XCTAssertTrue(p.waitFor { $0.lines.count >= 2 }, p.stdout + p.stderr)

        try FileManager.default.removeItem(at: dir.appendingPathComponent("bot.lua"))
        XCTAssertTrue(p.waitFor { $0.stderr.contains("bot.lua was deleted") }, p.stderr)
        let seen = p.lines.count
        XCTAssertTrue(p.waitFor { $0.lines.count >= seen + 3 }, "the running version goes on: \(p.stdout)")

        try save("print('back')\n", "bot.lua", in: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("back") }, p.stdout + p.stderr)
        XCTAssertTrue(p.waitFor { $0.stderr.contains("reloaded bot.lua (v2)") }, p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)

        // In JSON like every other line: the deletion as rtlua's own, the reload as the script's.
        let objects = p.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertTrue(objects.contains { ($0["source"] as? String) == "rtlua" && ($0["message"] as? String)?.contains("bot.lua was deleted") == true },
                      p.stderr)
        XCTAssertTrue(objects.contains {
            ($0["script"] as? String) == "bot.lua" && ($0["level"] as? String) == "info"
                && ($0["message"] as? String)?.hasPrefix("reloaded bot.lua (v2) in ") == true
        }, p.stderr)
        XCTAssertEqual(p.lines.last, "back", "the old timer stopped with the reload: \(p.stdout)")
    }
}
