import Foundation
import XCTest

/// A script's `options = {…}` (instances, duration, stages, thresholds), the command line
/// over it, shards of stages, and the live status line under a pseudo-terminal.
final class RunOptionsTests: XCTestCase {
    let offline = ["run", "--url", "http://127.0.0.1:1"]

    func instancesStarted(_ r: Finished) -> [Int] {
        r.lines.compactMap { $0.hasPrefix("start ") ? Int($0.dropFirst(6)) : nil }.sorted()
    }

    func testOptionsGiveInstancesDurationAndThresholds() throws {
        let files = ["o.lua": """
        options = { instances = 3, duration = "1s", thresholds = { "checks.rate==1" } }
        print("start " .. instance)
        check(instance, { odd = function(n) return n % 2 == 1 end })
        timer.every(0.05, function() end)  -- runs until the duration stops it
        """]
        let r = try rtlua(offline + ["o.lua"], files: files)
        XCTAssertEqual(instancesStarted(r), [1, 2, 3])
        XCTAssertEqual(r.status, 99, "instance 2 fails the check: options.thresholds apply\n\(r.stderr)")
        XCTAssert(r.stderr.contains("checks.rate==1: measured checks.rate = 0.667"), r.stderr)
        // The command line wins: one instance, and its own threshold instead.
        let cli = try rtlua(offline + ["--instances", "1", "--threshold", "checks.count==1", "o.lua"], files: files)
        XCTAssertEqual(instancesStarted(cli), [1])
        XCTAssertEqual(cli.status, 0, cli.stderr)
    }

    func testOptionsAreReadWithoutRunningTheScriptTwice() throws {
        let r = try rtlua(offline + ["o.lua"], files: ["o.lua": """
        local base = 2
        options = { instances = base }
        print("start " .. instance)
        """])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(instancesStarted(r), [1, 2], "each instance printed once")
    }

    func testBadOptionsAreCommandLineErrors() throws {
        let r = try rtlua(offline + ["o.lua"], files: ["o.lua": "options = { stages = { { duration = 'soon', target = 2 } } }\nprint('ran')\n"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        XCTAssert(r.stderr.contains("o.lua: options.stages[1].duration must be a duration"), r.stderr)
        let t = try rtlua(offline + ["o.lua"], files: ["o.lua": "options = { thresholds = { 'checks.rate>' } }\nprint('ran')\n"])
        XCTAssertEqual(t.status, 2)
        XCTAssert(t.stderr.contains("bad threshold 'checks.rate>': a number expected"), t.stderr)
    }

    /// Stages ramp up to 4 copies and back to 0; two shards share them with numbers unique
    /// across both.
    func testStagesStartAndStopInstancesAcrossShards() throws {
        let files = ["s.lua": """
        options = { stages = { { duration = "0.4s", target = 4 }, { duration = "1s", target = 4 }, { duration = "0.2s", target = 0 } } }
        print("start " .. instance)
        timer.every(0.05, function() end)  -- stays until the stages stop it
        """]
        let one = try rtlua(offline + ["s.lua"], files: files)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(instancesStarted(one), [1, 2, 3, 4])
        let a = try rtlua(offline + ["--shard", "1/2", "s.lua"], files: files)
        let b = try rtlua(offline + ["s.lua"], files: files, environment: ["JOB_COMPLETION_INDEX": "1", "RTLUA_SHARDS": "2"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(instancesStarted(a).count, 2)
        XCTAssertEqual(instancesStarted(b).count, 2)
        XCTAssertEqual((instancesStarted(a) + instancesStarted(b)).sorted(), [1, 2, 3, 4])
    }

    /// Under a pseudo-terminal (util-linux `script`) the status line is drawn; through a
    /// pipe, or with --quiet, it is not.
    func testStatusLineOnlyOnATerminal() throws {
        let script = "realtime:join('room')\ntimer.after(1.6, function() exit() end)\n"
        let dir = try scriptDirectory(["bot.lua": script])
        func underPTY(_ extra: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            p.arguments = ["-qec", "\(RTLuaProcess.binary) run --instances 2 \(extra) bot.lua", "/dev/null"]
            p.currentDirectoryURL = dir
            let out = Pipe()
            p.standardOutput = out
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let tty = try underPTY("")
        XCTAssert(tty.contains("instances 2/2 connected"), tty)
        XCTAssert(tty.contains("msgs/s in"), tty)
        XCTAssertFalse(try underPTY("--quiet").contains("connected"))
        let piped = try rtlua(["run", "--instances", "2", "bot.lua"], files: ["bot.lua": script])
        XCTAssertFalse(piped.stderr.contains("connected"), piped.stderr)
    }
}
