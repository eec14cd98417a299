import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Checks, metrics, thresholds, summaries and shards, on real `rtlua run` processes over
/// loopback (docs/metrics.md). No assertion on how fast anything was: only on what was
/// counted and on the exit statuses.
final class MetricsTests: XCTestCase {
    /// Two bots of one run: bot 2 waits until both are in "room", sends three chats and
    /// exits; bot 1 checks each one and exits after the third.
    static let chatScript = """
    realtime:join("room")
    if instance == 1 then
      local got = 0
      realtime:on("chat", function(d)
        got = got + 1
        check(d.message, { ["in order"] = function(m) return m.n == got end })
        if got == 3 then exit() end
      end)
      timer.after(30, function() exit(7) end)
    else
      while true do
        local members = realtime:getMembers("room")
        if members and #members >= 2 then break end
        sleep(0.05)
      end
      for n = 1, 3 do realtime:send("room", "chat", { n = n }) end
      exit()
    end
    """

    func run(_ arguments: [String], files: [String: String], environment: [String: String] = [:]) throws -> (Finished, URL) {
        let dir = try scriptDirectory(files)
        let p = try RTLuaProcess(arguments, directory: dir, environment: environment)
        p.closeStdin()
        let status = p.waitForExit(timeout: 90)
        return (Finished(status: status, stdout: p.stdout, stderr: p.stderr), dir)
    }

    func summary(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func metric(_ s: [String: Any], _ name: String, _ tags: [String: String] = [:]) -> [String: Any]? {
        (s["metrics"] as? [[String: Any]])?.first { $0["name"] as? String == name && ($0["tags"] as? [String: String] ?? [:]) == tags }
    }

    func testPassingThresholdsExitZeroAndTheFilesReadBack() throws {
        let (r, dir) = try run(["run", "--instances", "2", "--threshold", "delivery{event=chat}.count>=3", "--threshold", "checks.rate==1",
                                "--threshold", "errors.count==0", "--summary-json", "summary.json", "--junit", "junit.xml", "chat.lua"],
                               files: ["chat.lua": Self.chatScript])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try summary(dir.appendingPathComponent("summary.json"))
        XCTAssertEqual(s["format"] as? String, "rtlua-summary")
        XCTAssertEqual(s["instances"] as? Int, 2)
        let checks = try XCTUnwrap(s["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.count, 1)
        XCTAssertEqual(checks.first?["name"] as? String, "in order")
        XCTAssertEqual(checks.first?["passes"] as? Int, 3)
        XCTAssertEqual(checks.first?["fails"] as? Int, 0)
        // The delivery latency of a send between two bots of the run: timed, with percentiles.
        let delivery = try XCTUnwrap(metric(s, "delivery", ["event": "chat"]), "\(s)")
        XCTAssertGreaterThanOrEqual(delivery["count"] as? Double ?? 0, 3)
        XCTAssertNotNil(delivery["p99"] as? Double)
        XCTAssertFalse((delivery["histogram"] as? [String: Any])?["buckets"] as? [[Int]] == [])
        XCTAssertEqual(metric(s, "messages_sent", ["event": "chat"])?["count"] as? Double, 3)
        XCTAssertEqual((s["thresholds"] as? [[String: Any]])?.compactMap { $0["ok"] as? Bool }, [true, true, true])
        // The JUnit file: one case per check and per threshold, none failed.
        let xml = try XMLDocument(data: Data(contentsOf: dir.appendingPathComponent("junit.xml")))
        let cases = try xml.nodes(forXPath: "//testcase").compactMap { ($0 as? XMLElement)?.attribute(forName: "name")?.stringValue }
        XCTAssertEqual(cases, ["in order", "delivery{event=chat}.count>=3", "checks.rate==1", "errors.count==0"])
        XCTAssertEqual(try xml.nodes(forXPath: "//failure").count, 0)
        // And the summary on stderr.
        XCTAssert(r.stderr.contains("✓ in order: 3 passed, 0 failed"), r.stderr)
        XCTAssert(r.stderr.contains("✓ checks.rate==1: measured checks.rate = 1"), r.stderr)
    }

    func testAFailingThresholdExits99NamingTheMeasuredValue() throws {
        let (r, dir) = try run(["run", "--instances", "2", "--threshold", "delivery{event=chat}.max<0ms", "--junit", "junit.xml", "chat.lua"],
                               files: ["chat.lua": Self.chatScript])
        XCTAssertEqual(r.status, 99, r.stderr)
        XCTAssert(r.stderr.contains("threshold failed: delivery{event=chat}.max<0ms: measured delivery{event=chat}.max = "), r.stderr)
        let xml = try XMLDocument(data: Data(contentsOf: dir.appendingPathComponent("junit.xml")))
        let failure = try XCTUnwrap(xml.nodes(forXPath: "//failure").first as? XMLElement)
        XCTAssert(failure.attribute(forName: "message")?.stringValue?.contains("measured delivery{event=chat}.max") == true)
    }

    func testChecksCountFailuresAndRaisingPredicatesWithoutRaising() throws {
        let (r, _) = try run(["run", "--url", "http://127.0.0.1:1", "checks.lua"], files: ["checks.lua": """
        print(check(1, { one = function(v) return v == 1 end, two = function(v) return v == 2 end }))
        print(check(1, { boom = function() error("no") end }))
        print(check(1, { one = function(v) return v == 1 end }))
        check(1, { boom = function() error("no") end })
        check(1, { waits = function() sleep(0.01) return true end })
        for i = 1, 300 do check(i, { ["dyn" .. i] = function() error("x") end }) end
        local hits = metrics.counter("hits")
        hits:add(2, { page = "a" })
        hits:add(3, { page = "a" })
        print(pcall(metrics.trend, "hits"))
        print(pcall(function() metrics.trend("lat"):add(-1) end))
        """])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.prefix(3), ["false", "false", "true"])
        XCTAssert(r.lines[3].hasPrefix("false") && r.lines[3].contains("metric 'hits' is a counter, not a trend"), r.stdout)
        XCTAssert(r.lines[4].contains("a trend takes values ≥ 0"), r.stdout)
        // One instance with checks and a custom metric: the summary is shown.
        XCTAssert(r.stderr.contains("✓ one: 2 passed, 0 failed"), r.stderr)
        XCTAssert(r.stderr.contains("✗ two: 0 passed, 1 failed"), r.stderr)
        XCTAssert(r.stderr.contains("✗ boom: 0 passed, 2 failed"), r.stderr)
        XCTAssert(r.stderr.contains("✗ waits: 0 passed, 1 failed"), r.stderr)
        // Why a predicate failed is logged, once per check, with the place.
        let said = r.stderr.split(separator: "\n").filter { $0.contains("its predicate raised") }
        XCTAssertEqual(said.count, 100, "at most 100 checks' reasons are logged")
        XCTAssert(said[0].contains("WARN") && said[0].contains("check 'boom' failed: its predicate raised: checks.lua:2: no"), r.stderr)
        XCTAssert(said[1].contains("check 'waits' failed: its predicate raised: checks.lua:5: sleep cannot wait here"), r.stderr)
        XCTAssert(r.stderr.contains("hits{page=a} count=5"), r.stderr)
    }

    func testBadThresholdsAndShardsAreCommandLineErrors() throws {
        let files = ["x.lua": "print('ran')\n"]
        let offline = ["run", "--url", "http://127.0.0.1:1"]
        let (bad, _) = try run(offline + ["--threshold", "delivery.p99<50parsecs", "x.lua"], files: files)
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stdout, "", "nothing ran")
        XCTAssert(bad.stderr.contains("bad threshold 'delivery.p99<50parsecs': unknown unit 'parsecs'"), bad.stderr)
        XCTAssert(bad.stderr.contains("\n  delivery.p99<50parsecs\n                 ^"), bad.stderr)
        let (kind, _) = try run(offline + ["--threshold", "errors.p99<5", "x.lua"], files: files)
        XCTAssertEqual(kind.status, 2)
        XCTAssert(kind.stderr.contains("'errors' is a counter, which has no 'p99'"), kind.stderr)
        let (shard, _) = try run(offline + ["--shard", "3/2", "x.lua"], files: files)
        XCTAssertEqual(shard.status, 2)
        XCTAssert(shard.stderr.contains("--shard '3/2': I must be between 1 and N (2)"), shard.stderr)
        let (env, _) = try run(offline + ["x.lua"], files: files, environment: ["RTLUA_SHARD": "0/2"])
        XCTAssertEqual(env.status, 2)
        let (job, _) = try run(offline + ["x.lua"], files: files, environment: ["JOB_COMPLETION_INDEX": "0"])
        XCTAssertEqual(job.status, 2, "an Indexed Job's pod without RTLUA_SHARDS would run the whole fleet")
        XCTAssert(job.stderr.contains("RTLUA_SHARDS is not"), job.stderr)
        // A custom metric is known only once the run has recorded it: checked at the end.
        let (unknown, dir) = try run(offline + ["--threshold", "nosuch.count<1", "--summary-json", "s.json", "x.lua"], files: files)
        XCTAssertEqual(unknown.status, 2, unknown.stderr)
        XCTAssert(unknown.stderr.contains("unknown metric 'nosuch'"), unknown.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.json").path), "nothing written")
    }

    /// Three shards of six instances against one hub, merged: the merged trend equals the
    /// raw samples' figures (percentiles within HDR's 3 significant digits).
    func testThreeShardsMergeExactly() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let script = """
        local t = metrics.trend("work")
        for i = 1, 200 do t:add(instance * 7 + (i * i) % 97 / 8) end
        check(instance, { numbered = function(n) return n >= 1 and n <= 6 end })
        print("instance " .. instance)
        realtime:onConnect(function() exit() end)
        realtime:join("room")
        """
        let dir = try scriptDirectory(["load.lua": script])
        var shards: [RTLuaProcess] = []
        for i in 1...3 {
            shards.append(try RTLuaProcess(["run", "--url", hub.url, "--instances", "6", "--shard", "\(i)/3",
                                            "--summary-json", "s\(i).json", "load.lua"], directory: dir))
        }
        var printed: [String] = []
        for p in shards {
            p.closeStdin()
            XCTAssertEqual(p.waitForExit(timeout: 90), 0, p.stderr)
            printed += p.lines
        }
        XCTAssertEqual(printed.sorted(), (1...6).map { "instance \($0)" }, "instance numbers unique across shards")
        let merge = try RTLuaProcess(["merge", "s1.json", "s2.json", "s3.json", "--summary-json", "all.json",
                                      "--threshold", "checks.rate==1", "--threshold", "connect.count==6"], directory: dir)
        merge.closeStdin()
        XCTAssertEqual(merge.waitForExit(), 0, merge.stderr)
        let all = try summary(dir.appendingPathComponent("all.json"))
        XCTAssertEqual(all["instances"] as? Int, 6)
        XCTAssertEqual(all["shards"] as? [Int], [1, 2, 3])
        let work = try XCTUnwrap(metric(all, "work"))
        var raw: [Double] = []
        for n in 1...6 { for i in 1...200 { raw.append(Double(n * 7) + Double((i * i) % 97) / 8) } }
        raw.sort()
        XCTAssertEqual(work["count"] as? Double, Double(raw.count))
        XCTAssertEqual(work["min"] as? Double, raw.first)
        XCTAssertEqual(work["max"] as? Double, raw.last)
        XCTAssertEqual(work["avg"] as? Double ?? 0, raw.reduce(0, +) / Double(raw.count), accuracy: 1e-9)
        for p in [50.0, 90, 95, 99] {
            let rank = max(1, Int(p / 100 * Double(raw.count) + 0.5))
            let expected = raw[rank - 1]
            let got = try XCTUnwrap(work["p\(Int(p))"] as? Double)
            XCTAssertEqual(got, expected, accuracy: expected * 0.001 + 0.001, "p\(Int(p))")
        }
        XCTAssertEqual((all["checks"] as? [[String: Any]])?.first?["passes"] as? Int, 6)

        // A threshold over the merged run fails with 99; a shard given twice is refused
        // with 2 and nothing written.
        let failing = try RTLuaProcess(["merge", "s1.json", "s2.json", "s3.json", "--threshold", "work.p99<1"], directory: dir)
        failing.closeStdin()
        XCTAssertEqual(failing.waitForExit(), 99, failing.stderr)
        XCTAssert(failing.stderr.contains("work.p99<1: measured work.p99 = "), failing.stderr)
        let twice = try RTLuaProcess(["merge", "s1.json", "s1.json", "--summary-json", "bad.json"], directory: dir)
        twice.closeStdin()
        XCTAssertEqual(twice.waitForExit(), 2, twice.stderr)
        XCTAssert(twice.stderr.contains("both hold shard 1/3"), twice.stderr)
        try "{\"format\": 1}".write(to: dir.appendingPathComponent("junk.json"), atomically: true, encoding: .utf8)
        let junk = try RTLuaProcess(["merge", "s1.json", "junk.json", "--summary-json", "bad.json"], directory: dir)
        junk.closeStdin()
        XCTAssertEqual(junk.waitForExit(), 2, junk.stderr)
        XCTAssert(junk.stderr.contains("junk.json is not an rtlua summary"), junk.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.json").path))
    }

    /// Two shards of one run, instance 1 sending to instance 2 in the other process: with
    /// --delivery-stamp the receiving shard times the deliveries and its script sees the
    /// message without the stamp; without it, the other process's sends go untimed.
    func testDeliveryStampTimesDeliveriesBetweenShards() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let script = """
        if instance == 1 then
          realtime:join("room")
          while true do
            local members = realtime:getMembers("room")
            if members and #members >= 2 then break end
            sleep(0.05)
          end
          for n = 1, 3 do realtime:send("room", "chat", { n = n }) end
          realtime:send("room", "chat", "plain text")
          exit()
        else
          local got = 0
          realtime:on("chat", function(d)
            got = got + 1
            print("got " .. json.encode(d.message))
            if got == 4 then exit() end
          end)
          realtime:join("room")
          timer.after(30, function() exit(7) end)
        end
        """
        let dir = try scriptDirectory(["pair.lua": script])
        for stamp in [true, false] {
            let flag = stamp ? ["--delivery-stamp"] : []
            var shards: [RTLuaProcess] = []
            for i in 1...2 {
                shards.append(try RTLuaProcess(["run", "--url", hub.url, "--instances", "2", "--shard", "\(i)/2", "--quiet"] + flag
                                               + ["--summary-json", "s\(i)-\(stamp).json", "pair.lua"], directory: dir))
            }
            for p in shards {
                p.closeStdin()
                XCTAssertEqual(p.waitForExit(timeout: 90), 0, p.stderr)
            }
            let got = shards[1].lines.filter { $0.hasPrefix("got ") }
            XCTAssertEqual(got.count, 4, shards[1].stdout)
            XCTAssert(got.contains("got \"plain text\""), shards[1].stdout)
            for n in 1...3 { XCTAssert(got.contains("got {\"n\":\(n)}"), "stamp \(stamp): \(shards[1].stdout)") }
            XCTAssertFalse(shards[1].stdout.contains("_rtlua_sent"), shards[1].stdout)
            let received = try summary(dir.appendingPathComponent("s2-\(stamp).json"))
            XCTAssertEqual(metric(received, "messages_received", ["event": "chat"])?["count"] as? Double, 4)
            let delivery = metric(received, "delivery", ["event": "chat"])
            if stamp {
                // The three objects were stamped and timed; the string was not.
                XCTAssertEqual(delivery?["count"] as? Double, 3, "\(received)")
            } else {
                XCTAssertNil(delivery, "\(received)")
            }
            let sent = try summary(dir.appendingPathComponent("s1-\(stamp).json"))
            XCTAssertEqual(metric(sent, "messages_sent", ["event": "chat"])?["count"] as? Double, 4)
        }
    }

    /// examples/chat_load.lua at a small size: its stages run and end it, its checks pass,
    /// the delivery latency and its custom metrics are there. (The command line's
    /// thresholds replace the example's timing ones: no timing is asserted here.)
    func testLoadTestExample() throws {
        let example = examplesDirectory.appendingPathComponent("chat_load.lua").path
        let (r, dir) = try run(["run", "--summary-json", "s.json", "--threshold", "checks.rate==1",
                                "--threshold", "delivery{event=chat}.count>0", example, "--", "4", "2"], files: [:])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try summary(dir.appendingPathComponent("s.json"))
        let checks = try XCTUnwrap(s["checks"] as? [[String: Any]])
        XCTAssertEqual(Set(checks.compactMap { $0["name"] as? String }), ["chat names its sender", "chat is numbered"])
        XCTAssert(checks.allSatisfy { ($0["passes"] as? Int ?? 0) > 0 && $0["fails"] as? Int == 0 }, "\(checks)")
        XCTAssertNotNil(metric(s, "chat_age"))
        XCTAssertEqual(metric(s, "connect")?["count"] as? Double, 4)
    }
}
