import Foundation
import XCTest

/// `rtlua run --memory-limit`: a script over its budget gets "not enough memory" at its line,
/// whether Lua code or host code (json.decode, an HTTP body) asked for the memory; the
/// process stays up and its other scripts go on. The process's resident memory is sampled
/// while it runs: the budget keeps it small.
final class GuardrailMemoryTests: XCTestCase {
    let offline = ["--url", "http://127.0.0.1:1"]

    /// A script that keeps printing for a while, to show the process and its other
    /// scripts go on after one ran out of memory.
    static let ok = """
    local n = 0
    local t
    t = timer.every(0.1, function()
      n = n + 1
      if n == 8 then t:cancel(); print("ok done") end
    end)
    """

    /// Runs `rtlua run` to its end, sampling VmRSS; returns the result and the peak in KiB.
    private func runSampled(_ arguments: [String], files: [String: String]) throws -> (Finished, Int) {
        let dir = try scriptDirectory(files)
        let p = try RTLuaProcess(arguments, directory: dir)
        p.closeStdin()
        var peak = 0
        let pid = p.process.processIdentifier
        let deadline = Date().addingTimeInterval(60)
        while p.process.isRunning && Date() < deadline {
            if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
               let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
               let kib = Int(line.split(separator: " ").dropFirst().first ?? "") {
                peak = max(peak, kib)
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let status = p.waitForExit(timeout: 5)
        return (Finished(status: status, stdout: p.stdout, stderr: p.stderr), peak)
    }

    func testAScriptOverItsBudgetFailsAtItsLineAndTheOtherGoesOn() throws {
        let hog = """
        print("hog start")
        local t = {}
        for i = 1, 1e9 do
          t[i] = string.rep("x", 100) .. i
        end
        """
        let (r, peak) = try runSampled(["run"] + offline + ["--memory-limit", "16MB", "hog.lua", "ok.lua"],
                                       files: ["hog.lua": hog, "ok.lua": Self.ok])
        print("GuardrailMemoryTests: Lua code over 16MB: peak RSS \(peak) KiB")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(Set(r.lines), ["hog start", "ok done"])
        XCTAssertTrue(r.stderr.contains("hog.lua:4: not enough memory"), r.stderr)
        XCTAssertTrue(r.stderr.contains("[hog.lua#1]") && r.stderr.contains("memory limit of 15.3 MiB"), r.stderr)
        XCTAssertLessThan(peak, 120_000, "the budget bounds the process")
    }

    func testMemoryRunningOutInHostCodeIsTheScriptsError() throws {
        let decoder = """
        local s = "[" .. string.rep("1,", 1500000) .. "1]"
        print("decode", pcall(json.decode, s))
        local t = json.decode(s)
        """
        let (r, peak) = try runSampled(["run"] + offline + ["--memory-limit", "16MiB", "decoder.lua", "ok.lua"],
                                       files: ["decoder.lua": decoder, "ok.lua": Self.ok])
        print("GuardrailMemoryTests: json.decode over 16MiB: peak RSS \(peak) KiB")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(Set(r.lines), ["decode\tfalse\tnot enough memory", "ok done"])
        XCTAssertTrue(r.stderr.contains("decoder.lua:3: not enough memory"), r.stderr)
        XCTAssertLessThan(peak, 120_000)
    }

    func testABigHTTPBodyIsTheScriptsErrorAndTheProcessStaysUp() throws {
        let served = FileManager.default.temporaryDirectory.appendingPathComponent("rtlua-big-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: served) }
        try Data(repeating: 0x61, count: 100 << 20).write(to: served.appendingPathComponent("big.bin"))
        try Data(repeating: 0x62, count: 1000).write(to: served.appendingPathComponent("small.bin"))
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", """
        import functools, http.server, sys
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
        handler.log_message = lambda *a: None
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """, served.path]
        let out = Pipe()
        server.standardOutput = out
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let portLine = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let port = try XCTUnwrap(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)), portLine)
        let fetcher = """
        local small = http.get("http://127.0.0.1:\(port)/small.bin")
        print("small", small.status, #small.body)
        print("big", pcall(http.get, "http://127.0.0.1:\(port)/big.bin"))
        local r = http.get("http://127.0.0.1:\(port)/big.bin")
        """
        let (r, peak) = try runSampled(["run"] + offline + ["--memory-limit", "16MB", "fetcher.lua", "ok.lua"],
                                       files: ["fetcher.lua": fetcher, "ok.lua": Self.ok])
        print("GuardrailMemoryTests: a 100 MiB HTTP body over 16MB: peak RSS \(peak) KiB")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(Set(r.lines), ["small\t200\t1000", "big\tfalse\tnot enough memory", "ok done"])
        XCTAssertTrue(r.stderr.contains("fetcher.lua:4: not enough memory"), r.stderr)
        XCTAssertLessThan(peak, 120_000, "the body was not taken whole")
    }

    func testABadSizeIsACommandLineError() throws {
        let r = try rtlua(["run"] + offline + ["--memory-limit", "lots", "ok.lua"], files: ["ok.lua": "print('x')"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--memory-limit must be a size"), r.stderr)
        XCTAssertEqual(r.lines, [])
        let off = try rtlua(["run"] + offline + ["--memory-limit", "0", "big.lua"],
                            files: ["big.lua": "print(#string.rep('x', 300 * 1024 * 1024))"])
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertEqual(off.lines, ["314572800"])
        let byDefault = try rtlua(["run"] + offline + ["big.lua"], files: ["big.lua": "print(pcall(string.rep, 'x', 300 * 1024 * 1024))"])
        XCTAssertEqual(byDefault.lines, ["false\tnot enough memory"], "the default budget is 256 MiB")
    }
}
