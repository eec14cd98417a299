import Foundation
import XCTest

/// The `rtlua` binary: exit statuses, error reports, args, instances, signals, check, repl, watch.
/// These scripts never touch `realtime`, so a --url that nothing listens on is fine.
final class CommandLineTests: XCTestCase {
    let offline = ["--url", "http://127.0.0.1:1"]

    func testNormalEndIsStatusZero() throws {
        let r = try rtlua(["run"] + offline + ["ok.lua"], files: ["ok.lua": "print('hello')\n"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["hello"])
    }

    func testExitCodeOfTheScriptAndTheLargestAcrossScripts() throws {
        let files = ["a.lua": "exit(3)\n", "b.lua": "timer.after(0.05, function() exit(5) end)\n", "c.lua": "print('c')\n"]
        XCTAssertEqual(try rtlua(["run"] + offline + ["a.lua"], files: files).status, 3)
        let all = try rtlua(["run"] + offline + ["a.lua", "b.lua", "c.lua"], files: files)
        XCTAssertEqual(all.status, 5, all.stderr)
        XCTAssertEqual(all.lines, ["c"])
    }

    func testMainChunkErrorIsStatusOneWithFileLineAndTraceback() throws {
        let r = try rtlua(["run"] + offline + ["bad.lua"], files: ["bad.lua": "print('start')\nlocal t = nil\nprint(t.x)\n"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.lines, ["start"])
        XCTAssertTrue(r.stderr.contains("bad.lua:3: attempt to index a nil value (local 't')"), r.stderr)
        XCTAssertTrue(r.stderr.contains("stack traceback:"), r.stderr)
    }

    func testSyntaxErrorIsFileLineMessageAndStatusOne() throws {
        let r = try rtlua(["run"] + offline + ["syntax.lua"], files: ["syntax.lua": "print('x')\nif then\n"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.lines, [])
        XCTAssertTrue(r.stderr.contains(" ERROR [syntax.lua#1] syntax.lua:2: unexpected symbol near 'then'"), r.stderr)
    }

    func testMissingScriptFailsToLoad() throws {
        let r = try rtlua(["run"] + offline + ["nope.lua"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("cannot open nope.lua"), r.stderr)
    }

    func testCallbackErrorIsReportedAndTheScriptGoesOn() throws {
        let r = try rtlua(["run"] + offline + ["cb.lua"], files: ["cb.lua": """
        timer.after(0, function()
          local n = nil
          return n + 1
        end)
        timer.after(0.1, function() print("still running") end)
        """])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["still running"])
        XCTAssertTrue(r.stderr.contains("cb.lua:3: attempt to perform arithmetic on a nil value (local 'n')"), r.stderr)
        XCTAssertTrue(r.stderr.contains("stack traceback:"), r.stderr)
    }

    func testBadArgumentErrorNamesTheArgumentAtTheCallersLine() throws {
        let r = try rtlua(["run"] + offline + ["arg.lua"], files: ["arg.lua": "\n\ntimer.after('soon', print)\n"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(" ERROR [arg.lua#1] arg.lua:3: bad argument #1 to 'after' (number expected, got string)"), r.stderr)
    }

    func testUsageErrorsAreStatusTwoAndRunNothing() throws {
        let files = ["p.lua": "print('ran')\n"]
        for args in [["run"], ["run", "--instances", "0", "p.lua"], ["run", "--log-format", "xml", "p.lua"],
                     ["run", "--bogus", "p.lua"], ["frobnicate"], ["check"]] {
            let r = try rtlua(args, files: files)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args)")
        }
    }

    func testHelpIsStatusZero() throws {
        let r = try rtlua(["run", "--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("--instances"), r.stdout)
    }

    func testScriptArgsAfterDoubleDash() throws {
        let r = try rtlua(["run"] + offline + ["args.lua", "--", "one", "--two", "3"],
                          files: ["args.lua": "print(#args, table.concat(args, ','))\n"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["3\tone,--two,3"])
    }

    func testInstancesRunIsolatedCopies() throws {
        let r = try rtlua(["run"] + offline + ["--instances", "3", "inst.lua"],
                          files: ["inst.lua": "counter = (counter or 0) + 1\nprint('instance', instance, counter)\n"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.sorted(), ["instance\t1\t1", "instance\t2\t1", "instance\t3\t1"])
    }

    func testEnvironmentURLIsUsedInsteadOfAnEmbeddedHub() throws {
        let r = try rtlua(["run", "e.lua"], files: ["e.lua": "print('x')\n"], environment: ["RTLUA_URL": "http://127.0.0.1:1"])
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.stderr.contains("embedded hub"), r.stderr)
    }

    func testLogLinesGoToStderrTaggedWithScriptAndInstance() throws {
        let r = try rtlua(["run"] + offline + ["--log-level", "debug", "--log-format", "json", "log.lua"],
                          files: ["log.lua": "log.debug('n=%d', 4)\n"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("\"instance\":1"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\"level\":\"debug\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("\"message\":\"n=4\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("\"script\":\"log.lua\""), r.stderr)
    }

    func testSIGINTStopsGracefullyWithStatusZero() throws {
        let dir = try scriptDirectory(["forever.lua": "timer.every(0.05, function() end)\nprint('ready')\n"])
        let p = try RTLuaProcess(["run"] + offline + ["forever.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("ready") }, p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)
    }

    func testSIGTERMStopsGracefullyToo() throws {
        let dir = try scriptDirectory(["forever.lua": "timer.every(0.05, function() end)\nprint('ready')\n"])
        let p = try RTLuaProcess(["run"] + offline + ["forever.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("ready") }, p.stderr)
        p.signal(SIGTERM)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)
    }

    func testASecondSignalExitsAtOnce() throws {
        // A busy loop in a __gc finalizer runs with hooks off: nothing stops it but the second signal.
        let dir = try scriptDirectory(["busy.lua": "setmetatable({}, {__gc = function() print('busy') while true do end end})\ncollectgarbage()\n"])
        let p = try RTLuaProcess(["run"] + offline + ["busy.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("busy") }, p.stderr)
        p.signal(SIGINT)
        // Signals sent back to back may merge in the kernel: send the second once the first is seen.
        XCTAssertTrue(p.waitFor { $0.stderr.contains("rtlua: stopping") }, p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 128 + SIGINT)
    }

    func testReplStopsOnSIGINTWhileWaitingForInput() throws {
        let p = try RTLuaProcess(["repl"] + offline)
        p.writeStdin("print('ready')\n")
        XCTAssertTrue(p.waitFor { $0.stdout.contains("ready") }, p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)
    }

    func testCheckReportsSyntaxErrors() throws {
        let files = ["good.lua": "print(1)\n", "bad.lua": "x = = 1\n"]
        let ok = try rtlua(["check", "good.lua"], files: files)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let bad = try rtlua(["check", "good.lua", "bad.lua"], files: files)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasPrefix("bad.lua:1: unexpected symbol near '='"), bad.stderr)
    }

    func testReplEvaluatesLinesAndExits() throws {
        let r = try rtlua(["repl"] + offline, stdin: "x = 20\nx + 1\nprint('a', 'b')\nerror('oops')\nsleep(0.01) print('slept')\nexit(6)\nprint('never')\n")
        XCTAssertEqual(r.status, 6, r.stderr)
        XCTAssertEqual(r.lines, ["21", "a\tb", "slept"])
        XCTAssertTrue(r.stderr.contains("stdin:1: oops"), r.stderr)
    }

    func testReplEndsAtEndOfInput() throws {
        let r = try rtlua(["repl"] + offline, stdin: "print(json.encode({1}))\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["[1]"])
    }

    func testWatchReloadsAChangedScript() throws {
        let dir = try scriptDirectory(["w.lua": "print('version 1')\ntimer.every(0.05, function() end)\n"])
        let p = try RTLuaProcess(["run"] + offline + ["--watch", "w.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("version 1") }, p.stderr)
        // A different size, so the change shows even within one mtime tick.
        try "print('version 2 reloaded')\ntimer.every(0.05, function() end)\n"
            .write(to: dir.appendingPathComponent("w.lua"), atomically: true, encoding: .utf8)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("version 2 reloaded") }, p.stdout + p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0)
    }
}
