import Foundation
import XCTest

/// A script that ends while others in the same process go on must really close its
/// connection, so the others see it leave: its connection must not linger until the
/// process exits.
final class ScriptEndLeavesTests: XCTestCase {
    func testAnExitedScriptLeavesItsChannelsWhileTheProcessGoesOn() throws {
        let watcher = """
        realtime:updateProfile({name = "watcher"})
        realtime:onLeave(function(d)
          print("left: " .. tostring(type(d.message.data) == "table" and d.message.data.name or d.message.id))
          exit(0)
        end)
        realtime:join("room")
        """
        let leaver = """
        realtime:updateProfile({name = "leaver"})
        -- Join once the watcher is in the room, so it sees this script come and go.
        for _ = 1, 300 do
          local members = realtime:getMembers("room")
          if members and #members > 0 then break end
          sleep(0.1)
        end
        local joined = false
        realtime:onJoin(function(d) if d.message.id == realtime:getSocketId() then joined = true end end)
        realtime:join("room")
        while not joined do sleep(0.02) end
        print("leaving")
        exit(0)
        """
        let r = try rtlua(["run", "watcher.lua", "leaver.lua"], files: ["watcher.lua": watcher, "leaver.lua": leaver], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["leaving", "left: leaver"], r.stderr)
    }
}
