import Foundation
import XCTest

/// A script that sends a burst and ends at once (exit(), or a signal) must still deliver
/// every message: the process waits for its connections to close gracefully. The sender is
/// in the channel itself, so the hub's echoes are unread when it hangs up; an abrupt close
/// would reset the connection and the hub would lose what it had not read yet.
final class LastMessagesTests: XCTestCase {
    static let count = 200

    static let listener = """
    local n = 0
    realtime:onJoin(function(d)
      if d.message.id == realtime:getSocketId() then print("ready") end
    end)
    realtime:on("burst", function(d)
      n = n + 1
      if n == \(count) then print("all \(count)"); exit(0) end
    end)
    realtime:join("room")
    -- A short count shows in the failure message instead of a bare timeout.
    local last = -1
    timer.every(1, function() if n ~= last then last = n; print("count " .. n) end end)
    """

    /// The sender joins (so the hub echoes its messages back), sends the burst in one go,
    /// then ends the way `ending` says.
    static func sender(ending: String) -> String {
        """
        local joined = false
        realtime:onJoin(function(d) if d.message.id == realtime:getSocketId() then joined = true end end)
        realtime:join("room")
        while not joined do sleep(0.02) end
        for i = 1, \(count) do realtime:send("room", "burst", {i = i, pad = string.rep("x", 1000)}) end
        \(ending)
        """
    }

    func testExitRightAfterABurstDeliversEveryMessage() throws {
        try checkDelivered(sender: Self.sender(ending: "exit(0)"), expectedStatus: 0)
    }

    func testSIGINTRightAfterABurstDeliversEveryMessage() throws {
        // The script signals its own process ($PPID of the shell) while the burst is still
        // in the send buffer; the connection stays open, so only the signal ends it.
        // (Not os.execute: system() ignores SIGINT in the caller while it waits.)
        try checkDelivered(sender: Self.sender(ending: #"io.popen("kill -INT $PPID"):close()"#), expectedStatus: 0)
    }

    private func checkDelivered(sender: String, expectedStatus: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let dir = try scriptDirectory(["listener.lua": Self.listener, "sender.lua": sender])
        let listening = try RTLuaProcess(["run", "--url", hub.url, "listener.lua"], directory: dir)
        defer { if listening.process.isRunning { listening.signal(SIGKILL) } }
        XCTAssertTrue(listening.waitFor(timeout: 60) { $0.lines.contains("ready") }, listening.stderr, file: file, line: line)

        let sending = try RTLuaProcess(["run", "--url", hub.url, "sender.lua"], directory: dir)
        XCTAssertEqual(sending.waitForExit(timeout: 60), expectedStatus, sending.stderr, file: file, line: line)
        XCTAssertTrue(listening.waitFor(timeout: 30) { $0.lines.contains("all \(Self.count)") },
                      "listener heard: \(listening.lines.suffix(3)); \(listening.stderr)", file: file, line: line)
        XCTAssertEqual(listening.waitForExit(timeout: 30), 0, listening.stderr, file: file, line: line)
    }
}
