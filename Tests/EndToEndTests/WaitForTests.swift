import Foundation
import XCTest

/// `realtime:waitFor` under `rtlua run` (#12): a match table, a match function, a channel
/// filter, a timeout that names the event, channel and wait, and the listener gone after.
final class WaitForTests: XCTestCase {
    func testWaitForMatchesByTableAndFunctionAndTimesOut() throws {
        let script = """
        local other = realtime.connect{}
        realtime:join("room")
        other:join("room")
        other:join("side")
        while #(realtime:getMembers("room") or {}) < 2 do sleep(0.05) end
        timer.after(0.05, function()
          other:send("side", "chat", {text = "hi", n = 0})   -- wrong channel
          other:send("room", "chat", {text = "no", n = 1})
          other:send("room", "chat", {text = "hi", n = 2, extra = {1, 2}})
        end)
        local d, err = realtime:waitFor("chat", {channel = "room", match = {text = "hi"}})
        print("table", d and d.channel, d and d.message.n, err)
        timer.after(0.05, function() other:send("room", "chat", {n = 4}); other:send("room", "chat", {n = 5}) end)
        d, err = realtime:waitFor("chat", {match = function(x) return x.message.n > 4 end, timeout = 5})
        print("function", d and d.message.n, err)
        d, err = realtime:waitFor("never", {channel = "room", timeout = 0.2})
        print("timeout", d, err)
        print(pcall(realtime.waitFor, realtime, "chat", {match = 3}))
        exit(0)
        """
        let r = try rtlua(["run", "wait.lua"], files: ["wait.lua": script], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, [
            "table\troom\t2\tnil",
            "function\t5\tnil",
            "timeout\tnil\twaitFor('never' on channel 'room'): nothing arrived within 0.2s",
            "false\tbad argument #3 to 'waitFor' (options.match: function or table expected, got number)",
        ], r.stderr)
    }

    func testWaitForPresenceAndOnlyTheWaitingCoroutineSuspends() throws {
        let script = """
        local other = realtime.connect{}
        realtime:join("room")
        local ticks = 0
        timer.every(0.02, function() ticks = ticks + 1 end)
        timer.after(0.3, function() other:join("room") end)
        local d, err = realtime:waitFor("channel:join", {channel = "room", match = function(x) return x.message.id == other:getSocketId() end})
        print("joined", d ~= nil, err, ticks > 3)
        exit(0)
        """
        let r = try rtlua(["run", "presence.lua"], files: ["presence.lua": script], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["joined\ttrue\tnil\ttrue"], r.stderr)
    }
}
