import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue #11, "the prototyping loop": what a newcomer trips over in the first hour of trying
/// the documented API, and what `--log-level debug` says about rtlua's own actions. Each
/// test runs the real `rtlua` binary on loopback.
final class FirstHourTests: XCTestCase {
    let offline = ["--url", "http://127.0.0.1:1"]

    // MARK: seeing what rtlua itself does

    func testDebugLogShowsTheEndpointRedactedAuthConnectAndFlush() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let key = "client-key-0123456789"
        let session = "session-token-abcdefghij"
        let r = try rtlua(["run", "--url", hub.url, "--key", key, "--session", session, "--log-level", "debug", "dbg.lua"],
                          files: ["dbg.lua": """
                          realtime:broadcast("early", 1)       -- before the connection is up: buffered
                          realtime:broadcast("early", 2)
                          realtime:onConnect(function() print("connected") realtime:close() end)
                          """], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["connected"])
        let port = hub.url.split(separator: ":").last.map(String.init) ?? ""
        let debug = r.stderr.split(separator: "\n").filter { $0.contains(" DEBUG [dbg.lua#1] realtime: ") }.joined(separator: "\n")
        XCTAssertTrue(debug.contains("realtime: endpoint ws://127.0.0.1:\(port) (derived from \(hub.url))"), r.stderr)
        XCTAssertTrue(debug.contains("clientKey=clie… (21 chars)"), r.stderr)
        XCTAssertTrue(debug.contains("Session=sess… (24 chars)"), r.stderr)
        XCTAssertTrue(debug.contains("members via \(hub.url)"), r.stderr)
        XCTAssertTrue(debug.contains("connecting to ws://127.0.0.1:\(port) (first attempt"), r.stderr)
        XCTAssertTrue(debug.contains("connected, socket id "), r.stderr)
        XCTAssertTrue(debug.contains("flushing 2 buffered emits after 0 replayed"), r.stderr)
        // Never the secrets in full.
        XCTAssertFalse(r.stderr.contains(key), r.stderr)
        XCTAssertFalse(r.stderr.contains(session), r.stderr)
    }

    func testDebugLogShowsFailedAttemptsAndTheBackOffDelay() throws {
        let r = try rtlua(["run"] + offline + ["--reconnection-delay", "50", "--log-level", "debug", "b.lua"], files: ["b.lua": """
        local attempts = 0
        realtime:onReconnectAttempt(function(n) attempts = n if n == 2 then exit(0) end end)
        """], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("DEBUG [b.lua#1] realtime: connecting to ws://127.0.0.1:1 (first attempt"), r.stderr)
        XCTAssertTrue(r.stderr.contains("DEBUG [b.lua#1] realtime: connection attempt failed: cannot connect to 127.0.0.1:1"), r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"DEBUG \[b\.lua#1\] realtime: reconnecting in \d+ ms"#, options: .regularExpression), r.stderr)
        XCTAssertTrue(r.stderr.contains("realtime: connecting to ws://127.0.0.1:1 (attempt 2"), r.stderr)
    }

    func testNothingIsLoggedAboutRTLuaItselfAtTheDefaultLevel() throws {
        let r = try rtlua(["run"] + offline + ["q.lua"], files: ["q.lua": "realtime:open() timer.after(0.3, function() exit(0) end)\n"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("DEBUG"), r.stderr)
        XCTAssertFalse(r.stderr.contains("connecting to"), r.stderr)
    }

    func testDebugLogShowsEmbeddedHubStartAndStopAndJSONLinesAreAllJSON() throws {
        let r = try rtlua(["run", "--log-level", "debug", "--log-format", "json", "h.lua"],
                          files: ["h.lua": "realtime:onConnect(function() realtime:close() end)\nerror('boom')\n"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.isEmpty)
        var objects: [[String: Any]] = []
        for line in lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                XCTFail("not a JSON line: \(line)\n\(r.stderr)")
                continue
            }
            objects.append(object)
        }
        let own = objects.filter { $0["source"] as? String == "rtlua" }.compactMap { $0["message"] as? String }
        XCTAssertTrue(own.contains { $0.hasPrefix("no --url given; started embedded hub at http://127.0.0.1:") }, "\(own)")
        XCTAssertTrue(own.contains("embedded hub stopped"), "\(own)")
        // The script's error is a JSON line too, tagged with script and instance.
        XCTAssertTrue(objects.contains {
            $0["level"] as? String == "error" && $0["script"] as? String == "h.lua" && $0["instance"] as? Int == 1
                && ($0["message"] as? String ?? "").contains("h.lua:2: boom")
        }, r.stderr)
    }

    func testTextErrorLinesCarryTheTimeAndTheScriptTag() throws {
        let r = try rtlua(["run"] + offline + ["e.lua"], files: ["e.lua": "timer.after(0, function()\n  error('boom')\nend)\n"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR \[e\.lua#1\] e\.lua:2: boom$"#,
                                       options: .regularExpression), r.stderr)
        XCTAssertTrue(r.stderr.contains("stack traceback:"), r.stderr)
    }

    func testDebugLogSaysWhenAWatchedScriptIsReloaded() throws {
        let dir = try scriptDirectory(["w.lua": "print('version 1')\ntimer.every(0.05, function() end)\n"])
        let p = try RTLuaProcess(["run"] + offline + ["--watch", "--log-level", "debug", "w.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("version 1") }, p.stderr)
        try "print('version 2 reloaded')\ntimer.every(0.05, function() end)\n"
            .write(to: dir.appendingPathComponent("w.lua"), atomically: true, encoding: .utf8)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("version 2 reloaded") }, p.stdout + p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0)
        XCTAssertTrue(p.stderr.contains("rtlua: w.lua changed: reloading it"), p.stderr)
    }

    // MARK: first-hour fixes

    func testIsConnectedAndGetSocketIdDoNotOpenTheLazyConnection() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        // Before the fix this never ended: asking opened a connection that kept the script alive.
        let r = try rtlua(["run", "--url", hub.url, "c.lua"],
                          files: ["c.lua": "print(realtime:isConnected(), realtime:getSocketId())\n"], timeout: 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["false\tnil"])
    }

    func testNoBufferKeepsStartUpMembershipAndProfileAndLogsTheFirstDropOnce() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let script = """
        realtime:updateProfile({name = "bot"})
        realtime:join("room")
        realtime:send("room", "chat", "lost 1")   -- a message: volatile under --no-buffer
        realtime:send("room", "chat", "lost 2")
        realtime:onConnect(function()
          for _ = 1, 100 do
            local members = assert(realtime:getMembers("room"))
            if #members == 1 then
              print("members", #members, members[1].data.name, members[1].id == realtime:getSocketId())
              return realtime:close()
            end
            sleep(0.05)
          end
          print("not a member")
          realtime:close()
        end)
        """
        for flags in [["--no-buffer"], ["--no-buffer", "--no-auto-join"]] {
            let r = try rtlua(["run", "--url", hub.url] + flags + ["nb.lua"], files: ["nb.lua": script], timeout: 60)
            XCTAssertEqual(r.status, 0, "\(flags): \(r.stderr)")
            XCTAssertEqual(r.lines, ["members\t1\tbot\ttrue"], "\(flags): \(r.stderr)")
            let drops = r.stderr.components(separatedBy: "a message was dropped").count - 1
            XCTAssertEqual(drops, 1, "\(flags): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("WARN [nb.lua#1] realtime: a message was dropped"), r.stderr)
        }
    }

    func testRealtimeConnectInheritsURLKeyAndSessionFromTheCommandLine() throws {
        let hub = try HubProcess(keys: ["good-key"])
        defer { hub.stop() }
        let r = try rtlua(["run", "--url", hub.url, "--key", "good-key", "--session", "tok-0123456789ab", "--log-level", "debug", "i.lua"],
                          files: ["i.lua": """
                          local other = realtime.connect{}
                          other:onConnect(function() print("other connected", other ~= realtime) other:close() end)
                          other:onError(function(e) print("refused", e.message) other:close() end)
                          """], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["other connected\ttrue"], r.stderr)
        XCTAssertTrue(r.stderr.contains("realtime.connect #1: endpoint ws://"), r.stderr)
        XCTAssertTrue(r.stderr.contains("Session=tok-… (16 chars)"), r.stderr)
    }

    func testMalformedURLsAreCommandLineErrorsNamingTheOption() throws {
        let files = ["p.lua": "print('ran')\n"]
        let cases: [([String], [String: String], String)] = [
            (["--url", "localhost:8080"], [:], "--url"),
            (["--url", "ftp://example.com"], [:], "--url"),
            (["--url", "http://"], [:], "--url"),
            (["--url", "http://127.0.0.1:99999"], [:], "--url"),
            (["--realtime-url", "nope"], [:], "--realtime-url"),
            (["--url", "http://127.0.0.1:1", "--realtime-url", "ws://:80"], [:], "--realtime-url"),
            ([], ["RTLUA_URL": "not a url"], "RTLUA_URL"),
        ]
        for (args, env, option) in cases {
            let r = try rtlua(["run"] + args + ["p.lua"], files: files, environment: env)
            XCTAssertEqual(r.status, 2, "\(args) \(env): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args): nothing runs")
            XCTAssertTrue(r.stderr.contains(option + " must be an http(s) or ws(s) URL"), "\(args): \(r.stderr)")
        }
    }

    func testRealtimeURLAloneStartsNoHubAndMembersAskItsHostOverHTTP() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let ws = "ws" + hub.url.dropFirst("http".count)
        let r = try rtlua(["run", "--realtime-url", ws, "--log-level", "debug", "m.lua"], files: ["m.lua": """
        realtime:join("room")
        realtime:onConnect(function()
          for _ = 1, 100 do
            local members, err = realtime:getMembers("room")
            if members and #members == 1 then print("members", #members) return realtime:close() end
            if not members then print("error", err.message) return realtime:close() end
            sleep(0.05)
          end
          realtime:close()
        end)
        """], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["members\t1"], r.stderr)
        XCTAssertFalse(r.stderr.contains("embedded hub"), r.stderr)
        XCTAssertTrue(r.stderr.contains("realtime: endpoint \(ws) (given as the realtime URL)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("members via \(hub.url)"), r.stderr)
    }

    func testOffOfAChannelEventRemovesTheShorthandListeners() throws {
        let r = try rtlua(["run", "off.lua"], files: ["off.lua": """
        local heard = {}
        local function onJoin() heard[#heard + 1] = "join" end
        realtime:onJoin(onJoin)
        realtime:off("channel:join", onJoin)
        realtime:onLeave(function() heard[#heard + 1] = "leave" end)
        realtime:off("channel:leave")
        realtime:onUpdate(function() heard[#heard + 1] = "update" end)
        realtime:off("channel:update")
        realtime:onJoin(function() heard[#heard + 1] = "kept" end)
        realtime:on("marker", function()
          print("heard", table.concat(heard, ","))
          realtime:close()
        end)
        realtime:onConnect(function()
          realtime:join("room", true)          -- echo: this socket hears its own join
          realtime:updateProfile({n = 1}, true)
          realtime:leave("room", true)
          realtime:broadcast("marker", 1, true)
        end)
        """], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["heard\tkept"], r.stderr)
    }

    func testArgumentErrorsNameTheParameterAtTheCallersLine() throws {
        let r = try rtlua(["run"] + offline + ["a.lua"], files: ["a.lua": """
        print(select(2, pcall(function() return realtime:getMembers("") end)))
        print(select(2, pcall(function() realtime:join("") end)))
        print(select(2, pcall(function() realtime:send(nil, "ev", 1) end)))
        print(select(2, pcall(function() realtime:broadcast("ev", 1, "yes") end)))
        print(select(2, pcall(function() realtime:onJoin() end)))
        print(select(2, pcall(function() log.info("%d items", "x") end)))
        log.warn("%s and %s", "one")
        """])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.lines, [
            "a.lua:1: channel must not be empty",
            "a.lua:2: channel must not be empty",
            "a.lua:3: bad argument #1 to 'send' (channel: string expected, got nil)",
            "a.lua:4: bad argument #3 to 'broadcast' (echo: boolean expected, got string)",
            "a.lua:5: bad argument #1 to 'onJoin' (listener: function expected, got no value)",
            "a.lua:6: bad argument #2 to 'log.info' (number expected, got string)",
        ], r.stderr)
        // Uncaught, the error points at the user's line and not at rtlua's prelude.
        XCTAssertTrue(r.stderr.contains("a.lua:7: bad argument #3 to 'log.warn' (no value)"), r.stderr)
        let errorLine = r.stderr.split(separator: "\n").first { $0.contains(" ERROR ") } ?? ""
        XCTAssertFalse(errorLine.contains("rtlua:"), r.stderr)
    }

    func testExitWhileTheHubRefusesConnectionsEndsPromptly() throws {
        let dir = try scriptDirectory(["x.lua": """
        realtime:broadcast("bye", 1)
        sleep(0.3)                      -- the first attempt has failed by now
        print("exiting")
        exit(3)
        """])
        let p = try RTLuaProcess(["run"] + offline + ["x.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("exiting") }, p.stderr)
        let asked = Date()
        XCTAssertEqual(p.waitForExit(timeout: 30), 3, p.stderr)
        let took = Date().timeIntervalSince(asked)
        XCTAssertLessThan(took, 3.5, "exit() waited \(took) s for a hub that refuses connections")
    }

    func testSIGTERMWhileTheHubDoesNotAnswerEndsPromptly() throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let dir = try scriptDirectory(["t.lua": "realtime:open()\nprint('ready')\ntimer.every(0.1, function() end)\n"])
        let p = try RTLuaProcess(["run", "--url", "http://127.0.0.1:\(silent.port)", "t.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("ready") }, p.stderr)
        Thread.sleep(forTimeInterval: 0.3)  // the connect is under way (and stuck)
        let asked = Date()
        p.signal(SIGTERM)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)
        let took = Date().timeIntervalSince(asked)
        XCTAssertLessThan(took, 3.5, "SIGTERM took \(took) s with the hub not answering")
    }

    func testAfterSIGINTTheStatusStillShowsAScriptThatHadFailed() throws {
        let dir = try scriptDirectory(["f.lua": """
        if instance == 1 then error("instance 1 fails") end
        print("ready")
        timer.every(0.05, function() end)
        """])
        let p = try RTLuaProcess(["run"] + offline + ["--instances", "2", "f.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("ready") && $0.stderr.contains("instance 1 fails") }, p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 1, p.stderr)
    }
}

/// A loopback TCP port whose accept queue is full: a connect to it is neither accepted nor
/// refused (the kernel drops the SYN), like a host behind a firewall that drops packets.
final class SilentListener {
    let fd: Int32
    let port: Int
    private var fillers: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 0) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        var fillers: [Int32] = []
        // Fill the accept queue (backlog 0 holds one) with connections nobody accepts.
        for _ in 0..<3 {
            let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, len) } }
            fillers.append(c)
        }
        self.fillers = fillers
        Thread.sleep(forTimeInterval: 0.1)
    }

    func close() {
        for c in fillers { Glibc.close(c) }
        Glibc.close(fd)
    }
}
