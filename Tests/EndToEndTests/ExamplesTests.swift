import Foundation
import XCTest

/// Each script of examples/ run by the built binary against a real hub.
final class ExamplesTests: XCTestCase {
    private func example(_ name: String) -> String { examplesDirectory.appendingPathComponent(name).path }

    func testPingPongTwoBotsInOneProcess() throws {
        let r = try rtlua(["run", example("ping.lua"), example("pong.lua"), "--", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("started embedded hub at http://127.0.0.1:"), r.stderr)
        for line in ["ping 1", "ping 2", "ping 3", "pong 1", "pong 2", "pong 3", "done after 3 rounds"] {
            XCTAssertTrue(r.lines.contains(line), "missing \(line) in \(r.stdout)")
        }
    }

    func testEchoBotAnswersADriver() throws {
        let driver = """
        local channel = args[1]
        realtime:join(channel)
        local resend = timer.every(0.2, function() realtime:send(channel, "say", {text = "hello bot"}) end)
        realtime:on("echo", function(d)
          print("driver got: " .. d.message.text)
          resend:cancel()
          exit(0)
        end)
        """
        let dir = try scriptDirectory(["driver.lua": driver])
        let p = try RTLuaProcess(["run", example("echo_bot.lua"), "driver.lua", "--", "echo-test", "1"], directory: dir)
        let status = p.waitForExit(timeout: 60)
        XCTAssertEqual(status, 0, p.stderr)
        XCTAssertTrue(p.lines.contains("echoed #1: hello bot"), p.stdout)
        XCTAssertTrue(p.lines.contains("driver got: hello bot"), p.stdout)
    }

    func testPresenceBotSeesJoinAndLeaveAndListsMembers() throws {
        let visitor = """
        local channel = args[1]
        realtime:updateProfile({name = "visitor"})
        -- Wait until the bot is in the channel (members over REST).
        local function botPresent()
          local members = realtime:getMembers(channel)
          for _, m in ipairs(members or {}) do
            if type(m.data) == "table" and m.data.name == "presence-bot" then return true end
          end
          return false
        end
        for _ = 1, 300 do
          if botPresent() then break end
          sleep(0.1)
        end
        realtime:on("greeting", function(d)
          print("visitor got: " .. d.message.text)
          realtime:send(channel, "who", {})
        end)
        realtime:on("members", function(d)
          print("visitor members: " .. table.concat(d.message, ","))
          realtime:leave(channel)
          timer.after(0.2, function() exit(0) end)
        end)
        realtime:join(channel)
        """
        let dir = try scriptDirectory(["visitor.lua": visitor])
        let p = try RTLuaProcess(["run", example("presence_bot.lua"), "visitor.lua", "--", "lobby-test", "1"], directory: dir)
        let status = p.waitForExit(timeout: 90)
        XCTAssertEqual(status, 0, p.stderr)
        for line in ["joined: visitor", "visitor got: welcome, visitor", "members: presence-bot, visitor",
                     "visitor members: presence-bot,visitor", "left: visitor"] {
            XCTAssertTrue(p.lines.contains(line), "missing \(line) in \(p.stdout)\n\(p.stderr)")
        }
    }

    func testChatRoomOfThreeExamplesAsTheDemoRunsIt() throws {
        let p = try RTLuaProcess(["run", example("echo_bot.lua"), example("presence_bot.lua"), example("visitor.lua"),
                                  "--", "lobby-demo", "2"], directory: examplesDirectory)
        let status = p.waitForExit(timeout: 90)
        XCTAssertEqual(status, 0, p.stderr)
        for line in ["joined: visitor", "visitor heard: welcome, visitor", "echoed #1: hello bots", "echoed #2: nice room",
                     "visitor got echo: hello bots", "visitor got echo: nice room", "left: visitor"] {
            XCTAssertTrue(p.lines.contains(line), "missing \(line) in \(p.stdout)\n\(p.stderr)")
        }
        XCTAssertTrue(p.lines.contains { $0.hasPrefix("visitor sees: ") && $0.contains("presence-bot, visitor") }, p.stdout)
    }

    func testScheduledJobReportsAndFinishes() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let r = try rtlua(["run", "--url", hub.url, example("scheduled_job.lua"), "--", "@every 1s", hub.url + "/", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.lines.contains { $0.hasPrefix("report 1: \(hub.url)/ -> ") }, r.stdout)
        XCTAssertTrue(r.lines.contains { $0.hasPrefix("report 2: \(hub.url)/ -> ") }, r.stdout)
        XCTAssertTrue(r.stderr.contains("INFO [\(example("scheduled_job.lua"))#1] run 1: "), r.stderr)
    }
}
