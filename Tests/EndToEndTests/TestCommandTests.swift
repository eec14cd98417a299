import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `rtlua test` end to end (#13): real test files run by the built binary, each test on a
/// fresh in-process hub and virtual clock, with bots spawned as real scripts.
final class TestCommandTests: XCTestCase {
    /// A bot that answers "ping" with "pong" in channel "room".
    static let pongBot = """
    realtime:updateProfile({name = "pong"})
    realtime:join("room")
    realtime:on("ping", function(d) realtime:send("room", "pong", {n = d.message.n}) end)
    """

    /// A schedule (args[1]) that prints each run's instant and weekday (UTC).
    static let jobBot = """
    schedule(args[1], function()
      print(os.date("!%Y-%m-%dT%H:%M:%SZ %a", math.floor(now())))
    end)
    """

    func testPassingTestsPrintOneLineEachAndExitZero() throws {
        let file = """
        test("the bot answers a ping", function()
          spawn("pong.lua")
          local me = client{}
          me:join("room")
          me:send("room", "ping", {n = 1})
          local d = me:waitFor("pong", {channel = "room"})
          expect(d.message):toEqual({n = 1.0})
        end)
        test("timers run on the virtual clock", function()
          local fired = {}
          timer.after(90 * 60, function() fired[#fired + 1] = now() end)
          local t0 = now()
          clock.advance("89m")
          expect(#fired):toBe(0)
          clock.advance(60)
          expect(fired):toEqual({t0 + 5400})
        end)
        test.skip("not yet", function() error("never runs") end)
        """
        let r = try rtlua(["test"], files: ["pong.lua": Self.pongBot, "bot_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let lines = r.lines
        XCTAssertEqual(lines.first, "bot_test.lua")
        XCTAssertTrue(lines.contains { $0.hasPrefix("  ✓ the bot answers a ping (") && $0.hasSuffix(" ms)") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  ✓ timers run on the virtual clock (") }, r.stdout)
        XCTAssertTrue(lines.contains("  - not yet (skipped)"), r.stdout)
        XCTAssertEqual(lines.last, "2 passed, 0 failed, 1 skipped", r.stdout)
    }

    func testAFileNamedLikeATestThatDeclaresNoTestIsSaidSo() throws {
        let r = try rtlua(["test"], files: ["load_test.lua": "local n = 1\n"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines, ["load_test.lua", "  (no tests: the file calls test(name, fn) nowhere)", "0 passed, 0 failed"], r.stdout)
    }

    func testEachKindOfFailureIsThatTestsFailureWithFileAndLineAndTheOthersRun() throws {
        let failing = """
        test("an expectation fails", function()
          local me = client{}
          me:join("room")
          me:send("room", "hello", {text = "hi"})
          me:waitFor("hello", {channel = "room"})
          expect({a = 1, b = {2, 3}}):toEqual({a = 1, b = {2, 4}})
        end)
        test("a test raises", function()
          local t = nil
          return t.field
        end)
        test("a test never finishes", function()
          local me = client{}
          me:broadcast("before", {k = 1})
          me:waitFor("never")
        end)
        test("a bot crashes", function()
          spawn("crash.lua")
        end)
        test("a bot busy-loops", function()
          local bot = spawn("busy.lua")
          local me = client{}
          me:join("room")
          me:send("room", "go", {})
          me:waitFor("never")
        end)
        test("still runs after the others", function()
          expect("abc"):toMatch("^a")
        end)
        """
        let broken = """
        test("fine", function() end)
        test("broken", function()
          if then
        end)
        """
        let crash = """
        print("starting")
        local config = nil
        print(config.port)
        """
        let busy = """
        realtime:join("room")
        realtime:on("go", function() while true do end end)
        """
        let started = Date()
        let r = try rtlua(["test", "--timeout", "2", "."], files: [
            "a_test.lua": failing, "b_test.lua": broken, "crash.lua": crash, "busy.lua": busy,
        ], timeout: 120)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        let out = r.stdout
        XCTAssertTrue(out.contains("  ✗ an expectation fails ("), out)
        XCTAssertTrue(out.contains("a_test.lua:6: expect(actual):toEqual(expected)"), out)
        XCTAssertTrue(out.contains("expected: {\"a\":1,\"b\":[2,4]}"), out)
        XCTAssertTrue(out.contains("actual:   {\"a\":1,\"b\":[2,3]}"), out)
        XCTAssertTrue(out.contains("events the test saw last:"), out)
        XCTAssertTrue(out.contains("hello room {\"text\":\"hi\"}"), out)
        XCTAssertTrue(out.contains("a_test.lua:10: attempt to index a nil value (local 't')"), out)
        XCTAssertTrue(out.contains("a_test.lua:15: timed out after 2s (--timeout)"), out)
        XCTAssertTrue(out.contains("before - {\"k\":1}"), out)
        XCTAssertTrue(out.contains("crash.lua crashed: ./crash.lua:3: attempt to index a nil value (local 'config')")
            || out.contains("crash.lua crashed: crash.lua:3: attempt to index a nil value (local 'config')"), out)
        XCTAssertTrue(out.contains("  ✗ a bot busy-loops ("), out)
        XCTAssertTrue(out.contains("a_test.lua:25: timed out after 2s"), out)
        XCTAssertTrue(out.contains("  ✓ still runs after the others ("), out)
        // The syntax error: the file's one failure, with its line.
        XCTAssertTrue(out.contains("b_test.lua:3:"), out)
        XCTAssertTrue(out.contains("  ✗ (file)"), out)
        XCTAssertEqual(r.lines.last, "1 passed, 6 failed", out)
        // Nothing left running: the process ended on its own, soon after the last timeout.
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
    }

    func testAWeekdayCronOverFourteenDaysRunsExactlyTenTimesAtTheRightInstants() throws {
        let file = """
        test("0 9 * * 1-5 for two weeks", function()
          clock.set("2026-03-01T00:00:00Z") -- a Sunday
          local job = spawn("job.lua", {args = {"0 9 * * 1-5"}})
          clock.advance("14d")
          for _, line in ipairs(job:logs()) do print(line) end
          expect(job:logs()):toHaveLength(10)
        end)
        """
        let r = try rtlua(["test", "--verbose", "cron_test.lua"], files: ["job.lua": Self.jobBot, "cron_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let runs = r.lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("2026-") }
        XCTAssertEqual(runs, [
            "2026-03-02T09:00:00Z Mon", "2026-03-03T09:00:00Z Tue", "2026-03-04T09:00:00Z Wed",
            "2026-03-05T09:00:00Z Thu", "2026-03-06T09:00:00Z Fri", "2026-03-09T09:00:00Z Mon",
            "2026-03-10T09:00:00Z Tue", "2026-03-11T09:00:00Z Wed", "2026-03-12T09:00:00Z Thu",
            "2026-03-13T09:00:00Z Fri",
        ], r.stdout)

        // The same schedule read in New York's time zone: 09:00 EST, then EDT from 8 March.
        let ny = try rtlua(["test", "--verbose", "cron_test.lua"], files: ["job.lua": Self.jobBot, "cron_test.lua": file],
                           environment: ["TZ": "America/New_York"], timeout: 60)
        XCTAssertEqual(ny.status, 0, ny.stdout + ny.stderr)
        let nyRuns = ny.lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("2026-") }
        XCTAssertEqual(nyRuns.first, "2026-03-02T14:00:00Z Mon", ny.stdout)
        XCTAssertEqual(nyRuns.last, "2026-03-13T13:00:00Z Fri", ny.stdout)
        XCTAssertEqual(nyRuns.count, 10, ny.stdout)
    }

    func testACronScheduleWithItsOwnTimeZoneRunsAtThatZonesNineAcrossTheDSTSwitch() throws {
        let file = """
        test("CRON_TZ=America/New_York 0 9 * * 1-5 for two weeks", function()
          clock.set("2027-03-07T00:00:00Z") -- a Sunday; New York moves to EDT on 14 March
          local job = spawn("job.lua", {args = {"CRON_TZ=America/New_York 0 9 * * 1-5"}})
          clock.advance("14d")
          for _, line in ipairs(job:logs()) do print(line) end
          expect(job:logs()):toHaveLength(10)
        end)
        test("an unknown zone is an error at the caller's line", function()
          local ok, err = pcall(function()
            schedule("CRON_TZ=Mars/Base 0 9 * * *", function() end)
          end)
          expect(ok):toBe(false)
          expect(err):toBe("cron_test.lua:10: schedule: unknown time zone 'Mars/Base'")
        end)
        """
        // The process runs in UTC: the schedule's zone alone moves its runs.
        let r = try rtlua(["test", "--verbose", "cron_test.lua"], files: ["job.lua": Self.jobBot, "cron_test.lua": file],
                          environment: ["TZ": "UTC"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let runs = r.lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("2027-") }
        XCTAssertEqual(runs, [
            "2027-03-08T14:00:00Z Mon", "2027-03-09T14:00:00Z Tue", "2027-03-10T14:00:00Z Wed",
            "2027-03-11T14:00:00Z Thu", "2027-03-12T14:00:00Z Fri", "2027-03-15T13:00:00Z Mon",
            "2027-03-16T13:00:00Z Tue", "2027-03-17T13:00:00Z Wed", "2027-03-18T13:00:00Z Thu",
            "2027-03-19T13:00:00Z Fri",
        ], r.stdout)
        XCTAssertEqual(r.lines.last, "2 passed, 0 failed", r.stdout)
    }

    func testReconnectionBackOffAfterHubRestartWaitsOnTheVirtualClock() throws {
        let file = """
        test("clients reconnect after the back-off, with their channels", function()
          local bot = spawn("pong.lua")
          local me = client{}
          me:join("room")
          local attempts = {}
          me:onReconnectAttempt(function(n) attempts[#attempts + 1] = now() end)
          local before = me:getSocketId()
          local t0 = now()
          hub.restart()
          expect(me:isConnected()):toBe(false)
          clock.advance(0.4)  -- under the least first delay (1 s less half of it)
          expect(#attempts):toBe(0)
          clock.advance(1.2)  -- past the most (1 s and half of it)
          expect(#attempts):toBe(1)
          print(string.format("first attempt after %.3f s", attempts[1] - t0))
          me:waitFor("connect")
          expect(me:getSocketId() == before):toBe(false)
          -- Auto-join and profile replayed for the test's client and the bot: it answers again.
          expect.members("room", {{name = "pong"}, me:getSocketId()})
          me:send("room", "ping", {n = 2})
          expect(me:waitFor("pong", {channel = "room"}).message.n):toBe(2)
        end)
        """
        let r = try rtlua(["test", "--verbose"], files: ["pong.lua": Self.pongBot, "restart_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let line = try XCTUnwrap(r.lines.first { $0.contains("first attempt after") }, r.stdout)
        let seconds = try XCTUnwrap(Double(line.split(separator: " ")[3]))
        XCTAssertGreaterThanOrEqual(seconds, 0.5, line)
        XCTAssertLessThanOrEqual(seconds, 1.5, line)
    }

    func testConnectionsStayUpWhileTheClockMovesByWeeks() throws {
        // The hub's pings and the clients' heartbeat checks run on the virtual clock too,
        // coalesced over quiet stretches: weeks of virtual time keep every socket, and cost
        // a few ping round trips instead of one every 25 s.
        let file = """
        test("a bot and a client keep their sockets over four weeks", function()
          local bot = spawn("pong.lua")
          local me = client{}
          me:join("room")
          local sid = me:getSocketId()
          local drops = 0
          me:onDisconnect(function() drops = drops + 1 end)
          clock.advance(30)        -- one ping round at 25 s
          clock.advance("14d")     -- a quiet fortnight
          timer.after(3600, function() me:send("room", "ping", {n = 1}) end)
          clock.advance("14d")     -- cut by the timer after an hour
          expect(drops):toBe(0)
          expect(me:isConnected()):toBe(true)
          expect(me:getSocketId()):toBe(sid)
          expect(me:waitFor("pong", {channel = "room"}).message.n):toBe(1)
          local connects = 0
          for _, line in ipairs(hub.log()) do
            if line:match(" connect$") then connects = connects + 1 end
          end
          expect(connects):toBe(2)  -- the bot's and the client's, once each
        end)
        """
        let r = try rtlua(["test"], files: ["pong.lua": Self.pongBot, "weeks_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines.last, "1 passed, 0 failed", r.stdout)
    }

    func testWaitForWithAdvanceMovesTheClockUntilTheEventOrItsTimeout() throws {
        let bot = """
        schedule("@every 1h", function() realtime:broadcast("ran", {at = now()}) end)
        """
        let file = """
        test("advance until the event, then until the timeout", function()
          spawn("hourly.lua")
          local me = client{}
          local t0 = now()
          local d, err = me:waitFor("ran", {advance = true, timeout = 86400})
          expect(err):toBeNil()
          expect(d.message.at):toBe(t0 + 3600)
          expect(now() >= t0 + 3600):toBe(true)
          local t1 = now()
          d, err = me:waitFor("never", {advance = true, timeout = 7200})
          expect(d):toBeNil()
          expect(err):toBe("waitFor('never'): nothing arrived within 7200s")
          expect(now()):toBe(t1 + 7200)
          -- Without advance, a virtual timeout waits for the clock: the test times out.
        end)
        """
        let r = try rtlua(["test"], files: ["hourly.lua": bot, "adv_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines.last, "1 passed, 0 failed", r.stdout)
    }

    func testSpawnOptionsRestartLogsAndStatus() throws {
        let bot = """
        realtime:updateProfile({name = "bot", instance = instance, arg = args[1]})
        realtime:join("room")
        realtime:onUserEvent(function(name, session) print(instance .. " got " .. name .. " for " .. tostring(session)) end)
        realtime:on("quit", function() exit(3) end)
        log.info("up")
        """
        let file = """
        test("instances, args, session, restart, logs and status", function()
          local bots = spawn("bot.lua", {instances = 2, args = {"x"}, session = "s1", echo = false})
          expect.members("room", {{name = "bot", instance = 1, arg = "x"}, {name = "bot", instance = 2, arg = "x"}})
          expect(hub.userEvent("user:update", "s1")):toBe(2)
          local me = client{}
          me:join("room")
          expect.members("room", {{name = "bot", instance = 1, arg = "x"}, {name = "bot", instance = 2, arg = "x"}, me:getSocketId()})
          bots:restart()
          expect(bots:status()):toBeNil()
          expect.members("room", {{name = "bot", instance = 1, arg = "x"}, {name = "bot", instance = 2, arg = "x"}, me:getSocketId()})
          me:send("room", "quit", {})
          expect.members("room", {me:getSocketId()})
          expect(bots:status()):toBe(3)
          local logs = bots:logs()
          expect(logs):toContain("1 got user:update for s1")
          expect(logs):toContain("2 got user:update for s1")
          expect(logs):toContain("INFO [bot.lua#1] up")
          expect(#logs >= 6):toBe(true)
        end)
        """
        let r = try rtlua(["test"], files: ["bot.lua": bot, "spawn_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines.last, "1 passed, 0 failed", r.stdout)
    }

    func testHubControlsAndPresenceExpectations() throws {
        let file = """
        test("user events, members, kick, drop, delay and the log", function()
          local ann = client{session = "s-ann"}
          ann:updateProfile({name = "ann"})
          ann:join("room")
          local bob = client{}
          bob:join("room")
          expect.members("room", {{name = "ann"}, bob:getSocketId()})
          expect(hub.userEvent("user:signout", "s-ann")):toBe(1)
          local ev = ann:waitFor("user:signout")
          expect(ev.session):toBe("s-ann")

          hub.drop(0.5)
          for i = 1, 4 do bob:send("room", "n", {i = i}) end
          bob:send("room", "end", {})
          ann:waitFor("end")
          hub.drop(0)
          local got = {}
          for _, line in ipairs(hub.log()) do if line:find("dropped") then got[#got + 1] = line end end
          expect(got):toHaveLength(2)

          hub.delay(50)
          bob:send("room", "late", {})
          local late, err = ann:waitFor("late", {channel = "room"})
          expect(err):toBeNil()
          hub.delay(0)

          local bobId = bob:getSocketId()
          expect(hub.kick(bobId)):toBe(true)
          expect(hub.kick("nobody")):toBe(false)
          local log = hub.log()
          expect(log):toContain(bobId .. " join room")
          expect(log):toContain("hub kick " .. bobId)
        end)
        """
        let r = try rtlua(["test"], files: ["hub_test.lua": file], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.lines.last, "1 passed, 0 failed", r.stdout)
    }

    func testJUnitAndTAPOutputParseBack() throws {
        let file = """
        test("passes", function() expect(1):toBe(1) end)
        test("fails <here> & there", function() expect("a"):toBe("b") end)
        test.skip("skipped", function() end)
        """
        let dir = try scriptDirectory(["r_test.lua": file])
        let p = try RTLuaProcess(["test", "--tap", "--junit", "out.xml", "r_test.lua"], directory: dir)
        p.closeStdin()
        XCTAssertEqual(p.waitForExit(timeout: 60), 1, p.stderr)
        // TAP: version, one line per test, the plan; the summary on stderr.
        let tap = p.lines
        XCTAssertEqual(tap.first, "TAP version 13")
        XCTAssertEqual(tap.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }, [
            "ok 1 - r_test.lua: passes",
            "not ok 2 - r_test.lua: fails <here> & there",
            "ok 3 - r_test.lua: skipped # SKIP",
        ], p.stdout)
        XCTAssertEqual(tap.last, "1..3")
        XCTAssertTrue(p.stdout.contains("    r_test.lua:2: expect(actual):toBe(expected)"), p.stdout)
        XCTAssertTrue(p.stderr.hasSuffix("1 passed, 1 failed, 1 skipped\n"), p.stderr)

        let xml = try XMLDocument(contentsOf: dir.appendingPathComponent("out.xml"))
        let suites = try XCTUnwrap(xml.rootElement())
        XCTAssertEqual(suites.name, "testsuites")
        XCTAssertEqual(suites.attribute(forName: "tests")?.stringValue, "3")
        XCTAssertEqual(suites.attribute(forName: "failures")?.stringValue, "1")
        XCTAssertEqual(suites.attribute(forName: "skipped")?.stringValue, "1")
        let cases = try xml.nodes(forXPath: "//testcase").compactMap { $0 as? XMLElement }
        XCTAssertEqual(cases.map { $0.attribute(forName: "name")?.stringValue ?? "" }, ["passes", "fails <here> & there", "skipped"])
        let failure = try XCTUnwrap(cases[1].elements(forName: "failure").first)
        XCTAssertEqual(failure.attribute(forName: "message")?.stringValue, "r_test.lua:2: expect(actual):toBe(expected)")
        XCTAssertTrue(failure.stringValue?.contains("expected: \"b\"") ?? false)
        XCTAssertEqual(cases[2].elements(forName: "skipped").count, 1)
    }

    func testFilterJobsAndBadUse() throws {
        let a = "test(\"alpha one\", function() end)\ntest(\"beta\", function() end)\n"
        let b = "test(\"alpha two\", function() end)\n"
        let hidden = "test(\"hidden\", function() error('must not run') end)\n"
        let files = ["a_test.lua": a, "sub/b_test.lua": b, ".hidden/c_test.lua": hidden, "not_a_test.lua": hidden]
        let dir = try scriptDirectory([:])
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let p = try RTLuaProcess(["test", "--jobs", "2", "--filter", "alpha"], directory: dir)
        p.closeStdin()
        XCTAssertEqual(p.waitForExit(timeout: 60), 0, p.stdout + p.stderr)
        XCTAssertEqual(p.lines.filter { $0.contains("✓") }.count, 2, p.stdout)
        XCTAssertFalse(p.stdout.contains("beta"), p.stdout)
        XCTAssertEqual(p.lines.last, "2 passed, 0 failed")

        XCTAssertEqual(try rtlua(["test", "no/such/place"]).status, 2)
        XCTAssertEqual(try rtlua(["test", "--jobs", "0"]).status, 2)
        XCTAssertEqual(try rtlua(["test", "--timeout", "-1"]).status, 2)
        let empty = try rtlua(["test"], files: ["x.lua": "print(1)"])
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("no *_test.lua files"), empty.stderr)
    }

    func testTheExamplesShipPassingTests() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = try RTLuaProcess(["test", "examples"], directory: root)
        p.closeStdin()
        XCTAssertEqual(p.waitForExit(timeout: 120), 0, p.stdout + p.stderr)
        for name in ["pingpong_test.lua", "echo_bot_test.lua", "presence_bot_test.lua", "scheduled_job_test.lua"] {
            XCTAssertTrue(p.stdout.contains("examples/\(name)"), p.stdout)
        }
        XCTAssertTrue(p.lines.last?.hasSuffix(" passed, 0 failed") ?? false, p.stdout)
    }
}
