import Foundation
import XCTest

/// Every method of the `realtime` table (LUA_API.md) called from Lua against a real hub.
final class RealtimeMethodsTests: XCTestCase {
    static let everyMethod = """
    local url = args[1]
    local function waitFor(what, cond)
      for _ = 1, 1500 do
        if cond() then return end
        sleep(0.02)
      end
      error("timed out waiting for " .. what)
    end
    local function has(list, value)
      for _, v in ipairs(list) do if v == value then return true end end
      return false
    end

    local a = realtime
    local b = realtime.connect{url = url, key = "good", echoMessages = true, timeout = 10000}
    local got = {joins = {}, msgs = {}, any = {}, once = 0}

    a:onConnect(function() got.aConnected = true end)
    b:onConnect(function() got.bConnected = true end)
    a:onDisconnect(function(reason) got.aDisconnected = reason end)
    a:onUserEvent(function(name, session) got.user = name end)
    waitFor("both connected", function() return got.aConnected and got.bConnected end)
    print("connected", a:isConnected(), type(a:getSocketId()), a:getSocketId() ~= b:getSocketId())

    -- presence
    a:onJoin(function(d) got.joins[#got.joins + 1] = d.channel .. ":" .. d.message.id; got.lastJoin = d end)
    a:onUpdate(function(d) got.update = d end)
    a:onLeave(function(d) if d.message.id == b:getSocketId() then got.leave = d end end)
    a:join("room")
    waitFor("own join", function() return has(got.joins, "room:" .. a:getSocketId()) end)
    b:updateProfile({name = "bee"})
    b:join("room")
    waitFor("b's join", function() return has(got.joins, "room:" .. b:getSocketId()) end)
    print("join", got.lastJoin.channel, got.lastJoin.message.data.name)

    local members, err = a:getMembers("room")
    assert(members, tostring(err))
    local names = {}
    for _, m in ipairs(members) do names[#names + 1] = type(m.data) == "table" and m.data.name or "anon" end
    table.sort(names)
    print("members", #members, table.concat(names, ","))

    -- messages
    local function record(d) got.msgs[#got.msgs + 1] = d end
    local function any(name, d) got.any[#got.any + 1] = name end
    a:on("chat", record)
    a:once("chat", function() got.once = got.once + 1 end)
    a:onAny(any)
    b:send("room", "chat", {text = "to room", blob = realtime.binary("\\0\\1\\2"), list = json.array()})
    waitFor("channel message", function() return #got.msgs == 1 end)
    local m = got.msgs[1]
    print("send", m.channel, m.message.text, #m.message.blob, json.encode(m.message.list))
    b:broadcast("chat", {text = "to all"})
    waitFor("broadcast", function() return #got.msgs == 2 end)
    print("broadcast", got.msgs[2].channel == nil, got.msgs[2].message.text, got.once, #got.any)

    a:off("chat", record)
    a:offAny(any)
    local marker = false
    a:on("marker", function() marker = true end)
    b:broadcast("chat", "not heard")
    b:broadcast("marker", 1)
    waitFor("marker", function() return marker end)
    print("after off", #got.msgs, #got.any)
    a:off("marker")

    -- echo: a hears its own broadcast only when echo is on
    local selfHeard = {}
    a:on("self", function(d) selfHeard[#selfHeard + 1] = d.message end)
    a:broadcast("self", 1, false)
    a:broadcast("self", 2)
    waitFor("echo", function() return #selfHeard >= 1 end)
    sleep(0.1)
    print("echo", #selfHeard, selfHeard[1])

    b:updateProfile({name = "bee2"})
    waitFor("update", function() return got.update ~= nil end)
    print("update", got.update.channel, got.update.message.data.name)

    b:leave("room")
    waitFor("leave", function() return got.leave ~= nil end)
    print("leave", got.leave.channel)

    b:close()
    waitFor("b closed", function() return not b:isConnected() end)
    print("closed", b:getSocketId())
    b:open()
    waitFor("b reopened", function() return b:isConnected() end)
    print("reopened", type(b:getSocketId()))

    local c = realtime.connect{url = url, key = "bad"}
    c:onError(function(e) got.err = e end)
    waitFor("refusal", function() return got.err ~= nil end)
    print("error", type(got.err.message), tostring(got.err) == got.err.message)
    c:close()

    local d = realtime.connect{url = "http://127.0.0.1:1", reconnectionDelay = 20}
    d:onReconnectAttempt(function(n) got.attempt = n end)
    waitFor("reconnect attempt", function() return got.attempt ~= nil end)
    print("attempt", got.attempt)
    d:close()

    local function gone() end
    a:onJoin(gone)
    a:removeListener(gone)
    a:close()
    waitFor("a disconnect", function() return got.aDisconnected ~= nil end)
    print("disconnected", type(got.aDisconnected))
    a:removeAllListeners()
    b:close()
    print("done")
    """

    func testEveryRealtimeMethodFromLua() throws {
        let hub = try HubProcess(keys: ["good"])
        defer { hub.stop() }
        let r = try rtlua(["run", "--url", hub.url, "--key", "good", "every.lua", "--", hub.url],
                          files: ["every.lua": Self.everyMethod], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines, [
            "connected\ttrue\tstring\ttrue",
            "join\troom\tbee",
            "members\t2\tanon,bee",
            "send\troom\tto room\t3\t[]",
            "broadcast\ttrue\tto all\t1\t2",
            "after off\t2\t2",
            "echo\t1\t2",
            "update\troom\tbee2",
            "leave\troom",
            "closed\tnil",
            "reopened\tstring",
            "error\tstring\ttrue",
            "attempt\t1",
            "disconnected\tstring",
            "done",
        ], r.stderr)
    }

    func testEmbeddedHubWhenNoURLIsGiven() throws {
        let r = try rtlua(["run", "solo.lua"], files: ["solo.lua": """
        realtime:onConnect(function()
          print("connected", type(realtime:getSocketId()))
          realtime:close()
        end)
        """])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["connected\tstring"])
        let hubLines = r.stderr.split(separator: "\n").filter { $0.contains("embedded hub") }
        XCTAssertEqual(hubLines.count, 1, r.stderr)
        XCTAssertTrue(hubLines.first?.hasPrefix("rtlua: no --url given; started embedded hub at http://127.0.0.1:") ?? false, r.stderr)
    }

    func testEachInstanceHasItsOwnConnection() throws {
        let r = try rtlua(["run", "--instances", "3", "bot.lua"], files: ["bot.lua": """
        realtime:onConnect(function()
          print(instance, realtime:getSocketId())
          realtime:close()
        end)
        """])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 3, r.stdout)
        let instances = Set(r.lines.compactMap { $0.split(separator: "\t").first.map(String.init) })
        let sids = Set(r.lines.compactMap { $0.split(separator: "\t").last.map(String.init) })
        XCTAssertEqual(instances, ["1", "2", "3"])
        XCTAssertEqual(sids.count, 3, r.stdout)
    }

    func testBadRealtimeArgumentIsAnErrorAtTheCallersLine() throws {
        let r = try rtlua(["run", "bad.lua"], files: ["bad.lua": "\nrealtime:send('room', 'ev', {items = {1, 2, {fn = print}}})\n"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("bad.lua:2: bad argument #3 to 'send' (message.items[3].fn: a function has no JSON form)"), r.stderr)
    }

    func testSendThenExitDeliversTheMessage() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let listener = """
        realtime:join("room")
        realtime:on("bye", function(d) print("got bye", d.message.n); exit(0) end)
        """
        // The sender waits (over REST) until the listener is in the room, then sends on a
        // fresh connection and exits at once: the message must still arrive.
        let sender = """
        for _ = 1, 300 do
          local members = realtime:getMembers("room")
          if members and #members > 0 then break end
          sleep(0.1)
        end
        local fresh = realtime.connect{url = args[1]}
        fresh:send("room", "bye", {n = 7})
        exit(0)
        """
        let r = try rtlua(["run", "--url", hub.url, "listener.lua", "sender.lua", "--", hub.url],
                          files: ["listener.lua": listener, "sender.lua": sender], timeout: 90)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["got bye\t7"], r.stderr)
    }

    func testSIGINTFlushesAndClosesAnOpenConnection() throws {
        let dir = try scriptDirectory(["stay.lua": """
        realtime:onConnect(function() print("connected") end)
        realtime:join("room")
        """])
        let p = try RTLuaProcess(["run", "stay.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("connected") }, p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)
    }
}
