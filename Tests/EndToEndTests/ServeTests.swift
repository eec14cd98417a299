import Foundation
import XCTest

/// `rtlua serve` options beyond the port: the admin user-event call and its master key.
final class ServeTests: XCTestCase {
    /// Pushes `user:signin` for session "tok" through the admin call (args: base URL, master
    /// key) once connected, and prints what comes back. Also run against the reference server.
    static let userEventScript = """
    realtime:onUserEvent(function(name, session)
      print("user event", name, session.userId)
      realtime:close()
    end)
    realtime:onConnect(function()
      local r = http.post(args[1] .. "/_api/rest/v1/realtime/user-event",
        {event = "user:signin", session = {userId = "u7"}, to = "tok"}, {Authorization = args[2]})
      print("status", r.status)
      if r.status ~= 200 then realtime:close() end
    end)
    """

    func testMasterKeyAuthorisesUserEventsPushedToAScript() throws {
        let hub = try HubProcess(extraArguments: ["--master-key", "m-key"])
        defer { hub.stop() }
        let r = try rtlua(["run", "--url", hub.url, "--session", "tok", "user.lua", "--", hub.url, "m-key"],
                          files: ["user.lua": Self.userEventScript], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.sorted(), ["status\t200", "user event\tuser:signin\tu7"], r.stderr)
    }

    func testAWrongMasterKeyIsRefused() throws {
        let hub = try HubProcess(extraArguments: ["--master-key", "m-key"])
        defer { hub.stop() }
        let r = try rtlua(["run", "--url", hub.url, "--session", "tok", "user.lua", "--", hub.url, "wrong"],
                          files: ["user.lua": Self.userEventScript], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["status\t401"], r.stderr)
    }

    func testBadServeOptionsAreUsageErrors() throws {
        for bad in [
            ["--ping-interval", "0"], ["--max-payload", "-1"], ["--master-key", ""], ["--port", "70000"],
            ["--max-connections", "0"], ["--header-timeout", "0"], ["--idle-timeout", "-5"], ["--log-level", "loud"],
            ["--log-format", "xml"],
        ] {
            let r = try rtlua(["serve"] + bad, timeout: 30)
            XCTAssertEqual(r.status, 2, "\(bad): \(r.stderr)")
        }
    }
}
