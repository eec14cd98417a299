import Foundation
import XCTest

/// `rtlua run --restart`: restarts with back-off, the log line per restart, giving up, the
/// exit status, `always`, signals during a back-off wait, and `--watch`.
/// These scripts never touch `realtime`, so a --url that nothing listens on is fine.
final class RestartTests: XCTestCase {
    let offline = ["--url", "http://127.0.0.1:1"]

    /// Counts its runs in `runs.txt` (the count survives the restart, a new VM), prints
    /// `run <n> <time>`, and then does `rest` with `n` in scope.
    func counting(_ rest: String) -> String {
        """
        local n = 1
        local f = io.open("runs.txt", "r")
        if f then for _ in f:lines() do n = n + 1 end f:close() end
        local w = assert(io.open("runs.txt", "a"))
        w:write(n, "\\n")
        w:close()
        print("run", n, string.format("%.6f", now()))
        \(rest)

        """
    }

    /// The `run` lines of stdout: (run number, time).
    func runs(_ stdout: String) -> [(n: Int, at: Double)] {
        stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t")
            guard f.count == 3, f[0] == "run", let n = Int(f[1]), let at = Double(f[2]) else { return nil }
            return (n, at)
        }
    }

    func testOnFailureRestartsWithGrowingDelaysUntilTheScriptSucceeds() throws {
        let r = try rtlua(["run"] + offline + ["--restart", "on-failure", "flaky.lua"],
                          files: ["flaky.lua": counting("if n < 4 then error('failing run ' .. n) end\nprint('succeeded')")])
        XCTAssertEqual(r.status, 0, "the last run succeeded: \(r.stderr)")
        let got = runs(r.stdout)
        XCTAssertEqual(got.map(\.n), [1, 2, 3, 4], r.stdout + r.stderr)
        XCTAssertEqual(r.lines.last, "succeeded")
        for (k, delay) in ["100ms", "200ms", "400ms"].enumerated() {
            XCTAssertTrue(r.stderr.contains("WARN [flaky.lua#1] failed (status 1); restart #\(k + 1) in \(delay)"), r.stderr)
            XCTAssertTrue(r.stderr.contains("flaky.lua:8: failing run \(k + 1)"), r.stderr)
        }
        XCTAssertFalse(r.stderr.contains("restart #4"), r.stderr)
        XCTAssertFalse(r.stderr.contains("giving up"), r.stderr)
        // Each gap is at least its back-off delay (lower bounds only: a busy machine adds time).
        guard got.count == 4 else { return }
        let gaps = (1..<4).map { got[$0].at - got[$0 - 1].at }
        print("measured restart gaps (s):", gaps.map { String(format: "%.3f", $0) })
        for (gap, delay) in zip(gaps, [0.1, 0.2, 0.4]) {
            XCTAssertGreaterThanOrEqual(gap, delay - 0.005, "gaps \(gaps)")
        }
    }

    func testOnFailureGivesUpAfterFiveFailuresWithTheScriptsStatus() throws {
        let start = Date()
        let r = try rtlua(["run"] + offline + ["--restart", "on-failure", "--instances", "2", "down.lua"],
                          files: ["down.lua": counting("exit(3)")])
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(r.status, 3, r.stderr)
        // Two instances, five runs each; the file counts both.
        XCTAssertEqual(runs(r.stdout).count, 10, r.stdout)
        for instance in [1, 2] {
            for (k, delay) in ["100ms", "200ms", "400ms", "800ms"].enumerated() {
                XCTAssertTrue(r.stderr.contains("WARN [down.lua#\(instance)] exited with status 3; restart #\(k + 1) in \(delay)"), r.stderr)
            }
            XCTAssertTrue(r.stderr.contains("ERROR [down.lua#\(instance)] exited with status 3; 5 failures within 60s: giving up, not restarting it"),
                          r.stderr)
        }
        XCTAssertFalse(r.stderr.contains("restart #5"), r.stderr)
        // The four waits add up to 1.5 s.
        XCTAssertGreaterThanOrEqual(elapsed, 1.5)
        print("give-up after \(String(format: "%.2f", elapsed)) s")
    }

    func testAlwaysRestartsACleanExitAndASignalDuringTheWaitEndsAtOnce() throws {
        let dir = try scriptDirectory(["tick.lua": counting("exit(0)")])
        let p = try RTLuaProcess(["run"] + offline + ["--restart", "always", "tick.lua"], directory: dir)
        // Six runs: the waits before them are 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s; the next is 3.2 s.
        XCTAssertTrue(p.waitFor { $0.stderr.contains("restart #6 in 3.2s") }, p.stdout + p.stderr)
        let signalled = Date()
        p.signal(SIGINT)
        let status = p.waitForExit(timeout: 30)
        let waited = Date().timeIntervalSince(signalled)
        XCTAssertEqual(status, 0, p.stderr)
        XCTAssertLessThan(waited, 3.0, "the back-off wait was not cut short")
        XCTAssertEqual(runs(p.stdout).map(\.n), [1, 2, 3, 4, 5, 6], p.stdout)
        for (k, delay) in ["100ms", "200ms", "400ms", "800ms", "1.6s", "3.2s"].enumerated() {
            XCTAssertTrue(p.stderr.contains("INFO [tick.lua#1] exited with status 0; restart #\(k + 1) in \(delay)"), p.stderr)
        }
        XCTAssertFalse(p.stderr.contains("giving up"), p.stderr)
        print("exit \(String(format: "%.2f", waited)) s after SIGINT during a 3.2 s back-off wait")
    }

    func testWatchStartsAGivenUpScriptAtOnceWhenItsFileChanges() throws {
        // A syntax error is retried too (the file may be being fixed), then given up.
        let dir = try scriptDirectory(["w.lua": "print('version 1')\nif then\n"])
        let p = try RTLuaProcess(["run"] + offline + ["--watch", "--restart", "on-failure", "w.lua"], directory: dir)
        XCTAssertTrue(p.waitFor { $0.stderr.contains("giving up") }, p.stderr)
        XCTAssertTrue(p.stderr.contains("ERROR [w.lua#1] failed (status 1); 5 failures within 60s: giving up, not restarting it until its file changes"),
                      p.stderr)
        XCTAssertEqual(p.stderr.components(separatedBy: "w.lua:2: unexpected symbol near 'then'").count - 1, 5, p.stderr)
        XCTAssertTrue(p.process.isRunning, "--watch keeps the runner waiting for a change")
        try "print('version 2 fixed')\ntimer.every(0.05, function() end)\n"
            .write(to: dir.appendingPathComponent("w.lua"), atomically: true, encoding: .utf8)
        XCTAssertTrue(p.waitFor { $0.stdout.contains("version 2 fixed") }, p.stdout + p.stderr)
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), 0, p.stderr)
    }

    func testNoRestartByDefaultAndABadValueIsStatusTwo() throws {
        let files = ["once.lua": counting("exit(4)")]
        let plain = try rtlua(["run"] + offline + ["once.lua"], files: files)
        XCTAssertEqual(plain.status, 4)
        XCTAssertEqual(runs(plain.stdout).count, 1)
        XCTAssertFalse(plain.stderr.contains("restart"), plain.stderr)
        let bad = try rtlua(["run"] + offline + ["--restart", "sometimes", "once.lua"], files: files)
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertEqual(bad.stdout, "")
        XCTAssertTrue(bad.stderr.contains("--restart must be one of no, on-failure, always"), bad.stderr)
    }
}
