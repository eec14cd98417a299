import Foundation
import NIOCore
import Realtime
import XCTest

@testable import LuaHost

/// The first-hour fixes of issue #11 at the binding level (the end-to-end versions are in
/// EndToEndTests/FirstHourTests.swift).
final class FirstHourBindingTests: XCTestCase {
    /// Runs `source` with a default manager whose creations are counted.
    private func run(_ source: String, made: MadeCount) throws -> ScriptRun {
        try runScript(source) { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { config, loop, http in
                made.add()
                return RealtimeManager(config: config, connection: LoopbackConnection(eventLoop: loop), http: http)
            }
        }
    }

    func testAskingIsConnectedOrTheSocketIdOpensNothing() throws {
        let made = MadeCount()
        let r = try run("print(realtime:isConnected(), realtime:getSocketId())\n", made: made)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["false\tnil"])
        XCTAssertEqual(made.value, 0)
    }

    func testOffOfChannelEventsRemovesShorthandListeners() throws {
        let made = MadeCount()
        let r = try run("""
        local n = 0
        local f = function() n = n + 1 end
        realtime:onJoin(f)
        realtime:onLeave(f)
        realtime:onUpdate(f)
        realtime:on("channel:join", f)
        realtime:off("channel:join", f)
        realtime:off("channel:leave")
        realtime:off("channel:update", f)
        realtime:onConnect(function()
          realtime:join("room", true)
          realtime:updateProfile({x = 1}, true)
          realtime:leave("room", true)
          realtime:broadcast("done", 1, true)
        end)
        realtime:on("done", function() print("heard", n) realtime:close() end)
        """, made: made)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.lines, ["heard\t0"])
    }

    func testGetMembersOfAnEmptyChannelRaises() throws {
        let made = MadeCount()
        let r = try run("""
        print(pcall(function() return realtime:getMembers("") end))
        print(select(2, pcall(function() return realtime:getMembers() end)))
        realtime:close()
        """, made: made)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.relativeLines, [
            "false\ttest.lua:1: channel must not be empty",
            "test.lua:2: bad argument #1 to 'getMembers' (channel: string expected, got no value)",
        ])
    }

    func testABadLogFormatRaisesAtTheCallersLine() throws {
        let r = try runScript("""
        local ok, err = pcall(function()
          log.error("%d", {})
        end)
        print(err)
        """)
        XCTAssertEqual(r.end, .finished, r.stderr)
        XCTAssertEqual(r.relativeLines, ["test.lua:2: bad argument #2 to 'log.error' (number expected, got table)"])
    }

    func testErrorLinesInTextCarryTimeAndTag() throws {
        let r = try runScript("error('boom')\n")
        XCTAssertEqual(r.end, .failed)
        XCTAssertNotNil(r.stderr.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR \[[^\]]*test\.lua#1\] [^\n]*test\.lua:1: boom\n"#,
                                       options: .regularExpression), r.stderr)
    }
}

/// How many managers a script made (written on the script's loop, read by the test after).
final class MadeCount: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
