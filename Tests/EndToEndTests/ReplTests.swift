import Foundation
import XCTest

/// `rtlua repl` on a pseudo-terminal (libedit: multi-line chunks, history, completion, output
/// above the edited line, Ctrl-C, Ctrl-D) and piped.
final class ReplTests: XCTestCase {
    let offline = ["--url", "http://127.0.0.1:1"]

    func testAFunctionTypedOverThreeLinesIsCalled() throws {
        let t = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            .send("function add(a, b)\r"), .expect(">> "),
            .send("  return a + b\r"), .expect(">> "),
            .send("end\r"), .expect("> "),
            .send("add(2, 3)\r"), .expect("5\r\n"),
            .send("\u{4}"),
        ])
        XCTAssertEqual(t.status, 0, t.transcript)
    }

    func testHistoryRecallsTheLastLineAndIsSavedForTheNextSession() throws {
        let history = FileManager.default.temporaryDirectory.appendingPathComponent("rtlua-history-\(UUID().uuidString)").path
        let env = ["RTLUA_HISTORY": history]
        let first = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            .send("x = 41\r"), .expect("> "),
            .send("x + 1\r"), .expect("42\r\n"),
            .send("\u{1B}[A\r"), .expect("42\r\n"),  // up-arrow: `x + 1` again
            .send("\u{4}"),
        ], environment: env)
        XCTAssertEqual(first.status, 0, first.transcript)
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        // libedit's format: a header, then one line each, spaces written as \040.
        XCTAssertTrue(saved.hasPrefix("_HiStOrY_V2_\n") && saved.contains("41"), saved)
        // A new session without x: the recalled line shows it came from the file.
        let second = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            .send("\u{1B}[A\u{1B}[A\r"), .expect("x = 41"),
            .send("x * 2\r"), .expect("82\r\n"),
            .send("\u{4}"),
        ], environment: env)
        XCTAssertEqual(second.status, 0, second.transcript)
    }

    func testTabCompletesGlobalsFieldsAndMethods() throws {
        let t = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            // What libedit draws is the inserted rest; the results show the full words were entered.
            .send("rea\t"), .expect("ltime"),
            .send("\r"), .expect("<realtime>\r\n"),
            .send("realtime:jo\t"), .expect("in"),
            .send("('room') print('joined')\r"), .expect("joined\r\n"),  // not a call of nil method 'jo'
            .send("string.up\t"), .expect("per"),
            .send("('a')\r"), .expect("\"A\"\r\n"),
            .send("nested = {inner = {value = 7}}\r"), .expect("> "),
            .send("nested.inner.va\t\r"), .expect("7\r\n"),
            .send("json.nu\t\r"), .expect("json.null\r\n"),
            .send("\u{4}"),
        ])
        XCTAssertEqual(t.status, 0, t.transcript)
    }

    func testAnEventPrintsAboveThePartlyTypedLineWhichThenCompletes() throws {
        let hub = try HubProcess()
        defer { hub.stop() }
        let peer = try scriptDirectory(["peer.lua": """
        realtime:join("room")
        realtime:send("room", "chat", "hello from the peer")
        exit()
        """]).appendingPathComponent("peer.lua").path
        let t = try PTYSession.run(["repl", "--url", hub.url], [
            .expect("> "),
            .send("realtime:on('chat', function(d) print('EVENT ' .. d.message) end)\r"), .expect("> "),
            .send("realtime:join('room')\r"), .expect("> "),
            .send("#realtime:getMembers('room')\r"), .expect("1\r\n"),
            .send("1 + "),
            .run([RTLuaProcess.binary, "run", "--url", hub.url, peer]),
            .expect("EVENT hello from the peer"),
            .expect("1 + "),  // the partial line, redrawn under the event
            .send("2\r"), .expect("3\r\n"),
            .send("\u{4}"),
        ])
        XCTAssertEqual(t.status, 0, t.transcript)
    }

    func testCtrlCDropsTheLineOrInterruptsTheChunkAndCtrlDExits() throws {
        let t = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            .send("1 + "), .send("\u{3}"), .expect("^C"),
            .send("2 + 2\r"), .expect("4\r\n"),  // not 1 + 2 + 2
            .send("function f()\r"), .expect(">> "),
            .send("\u{3}"), .expect("^C"),
            .send("10\r"), .expect("10\r\n"),  // the unfinished function was dropped too
            .send("print('busy') while true do end\r"), .expect("busy"),
            .send("\u{3}"), .expect("interrupted"),
            .send("print('waiting') sleep(600)\r"), .expect("waiting"),
            .send("\u{3}"), .expect("interrupted"),
            .send("1 + 1\r"), .expect("2\r\n"),
            .send("\u{4}"),
        ])
        XCTAssertEqual(t.status, 0, t.transcript)
    }

    func testThreeCtrlCExitWhenAChunkCannotBeInterrupted() throws {
        // A busy loop in a __gc finalizer runs with hooks off: nothing inside Lua can stop it.
        let t = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            .send("setmetatable({}, {__gc = function() print('stuck') while true do end end}) collectgarbage()\r"),
            .expect("stuck"),
            .send("\u{3}"), .send("\u{3}"), .send("\u{3}"),
            .expect("interrupted 3 times"),
        ])
        XCTAssertEqual(t.status, 128 + SIGINT, t.transcript)
    }

    func testValuesArePrettyPrintedAndErrorsShowTheUsersLinesOnly() throws {
        let t = try PTYSession.run(["repl"] + offline, [
            .expect("> "),
            .send(#"{b = {1, 2, {c = json.null}}, a = json.array{}, ["x y"] = "q\"\n"}"# + "\r"),
            .expect(#"{a = json.array{}, b = {1, 2, {c = json.null}}, ["x y"] = "q\"\n"}"#),
            .send(#"json.decode('[1, [], {"k": null}]')"# + "\r"),
            .expect("{1, json.array{}, {k = json.null}}"),
            .send("t = {} t.self = t\r"), .expect("> "),
            .send("t\r"), .expect("{self = <cycle>}"),
            .send("function g() error('deep') end\r"), .expect("> "),
            .send("function h() g() end\r"), .expect("> "),
            .send("h()\r"), .expect("stdin:1: deep"), .expect("> "),
            .send("\u{4}"),
        ])
        XCTAssertEqual(t.status, 0, t.transcript)
        XCTAssertTrue(t.transcript.contains("stack traceback:"), t.transcript)
        XCTAssertFalse(t.transcript.contains("rtlua:"), t.transcript)
        XCTAssertFalse(t.transcript.contains("[C]"), t.transcript)
        XCTAssertFalse(t.transcript.contains("table: 0x"), t.transcript)
    }

    func testPipedInputTakesMultiLineChunksWithoutPrompts() throws {
        let r = try rtlua(["repl"] + offline, stdin: "function f(x)\n  return {x, x * 2}\nend\nf(3)\n'a\\tb'\n{1,\n2}\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "{3, 6}\n\"a\\tb\"\n{1, 2}\n")
    }

    func testPipedInputEndingInsideAChunkReportsItsSyntaxError() throws {
        let r = try rtlua(["repl"] + offline, stdin: "print('before')\nt = {\n  1,\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["before"])
        // One error for the whole unfinished chunk, at its last line.
        XCTAssertEqual(r.stderr, "stdin:2: unexpected symbol near <eof>\n")
    }
}

/// Runs `rtlua` on a pseudo-terminal through a small Python driver (the `pty` module):
/// steps send keys, wait for output (each `expect` looks after the previous match), or run
/// another command to its end. Every wait is bounded; the transcript is kept for messages.
struct PTYSession {
    enum Step: Encodable {
        case send(String)
        case expect(String)
        case run([String])

        func encode(to encoder: Encoder) throws {
            var c = encoder.unkeyedContainer()
            switch self {
            case .send(let s): try c.encode("send"); try c.encode(s)
            case .expect(let s): try c.encode("expect"); try c.encode(s)
            case .run(let argv): try c.encode("run"); try c.encode(argv)
            }
        }
    }

    var status: Int32
    var transcript: String

    static let driver = #"""
    import json, os, pty, select, signal, subprocess, sys, time
    argv, steps, env = json.loads(sys.argv[1])
    full_env = dict(os.environ); full_env.update(env); full_env["TERM"] = "xterm"
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, full_env)
    out = b""
    def pump(seconds):
        global out
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    d = os.read(fd, 65536)
                except OSError:
                    return False
                if not d:
                    return False
                out += d
        return True
    def finish(status, error):
        print(json.dumps({"status": status, "transcript": out.decode("utf-8", "replace"), "error": error}))
        sys.exit(0)
    mark = 0
    for step in steps:
        kind, arg = step
        if kind == "send":
            os.write(fd, arg.encode())
            pump(0.1)
        elif kind == "run":
            subprocess.run(arg, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif kind == "expect":
            deadline = time.time() + 30
            while True:
                i = out.find(arg.encode(), mark)
                if i >= 0:
                    mark = i + len(arg.encode())
                    break
                if time.time() > deadline or not pump(0.1):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    finish(-1, "not seen: " + repr(arg))
    deadline = time.time() + 30
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            finish(os.waitstatus_to_exitcode(status), None)
        pump(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    finish(-9, "did not exit")
    """#

    static func run(_ arguments: [String], _ steps: [Step], environment: [String: String] = [:]) throws -> PTYSession {
        var env = environment
        if env["RTLUA_HISTORY"] == nil {
            env["RTLUA_HISTORY"] = FileManager.default.temporaryDirectory.appendingPathComponent("rtlua-history-\(UUID().uuidString)").path
        }
        struct Spec: Encodable {
            var argv: [String]
            var steps: [Step]
            var env: [String: String]
            func encode(to encoder: Encoder) throws {
                var c = encoder.unkeyedContainer()
                try c.encode(argv)
                try c.encode(steps)
                try c.encode(env)
            }
        }
        let spec = String(decoding: try JSONEncoder().encode(Spec(argv: [RTLuaProcess.binary] + arguments, steps: steps, env: env)), as: UTF8.self)
        let python = ProcessInfo.processInfo.environment["RTLUA_PEER_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", driver, spec]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        struct Result: Decodable {
            var status: Int32
            var transcript: String
            var error: String?
        }
        let result = try JSONDecoder().decode(Result.self, from: data)
        if let error = result.error { XCTFail("\(error)\n\(result.transcript)") }
        return PTYSession(status: result.status, transcript: result.transcript)
    }
}
