import NIOCore
import NIOPosix
import XCTest
@testable import LuaHost

/// The REPL's session on a VM: how values are shown (LuaPretty), incomplete chunks, errors
/// with the user's frames only, interrupts and completion candidates.
final class ReplSessionTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private var captured: CapturedOutput!
    private var session: ReplSession!

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        captured = CapturedOutput()
        let script = LuaScript(options: ScriptOptions(path: "repl", output: captured.output), eventLoop: group.next())
        session = ReplSession(script: script)
    }

    override func tearDown() {
        session.script.stop()
        _ = try? session.script.ended.wait()
        try? group.syncShutdownGracefully()
    }

    /// What `chunk` prints (stdout, without the final newline).
    private func show(_ chunk: String) throws -> String {
        let before = captured.stdout.count
        XCTAssertEqual(try session.evaluate(chunk).wait(), .ran)
        var out = String(captured.stdout.dropFirst(before))
        if out.hasSuffix("\n") { out.removeLast() }
        return out
    }

    func testScalarsAndStrings() throws {
        XCTAssertEqual(try show("1, 2.5, 1e308 * 10, -1e308 * 10, nil, true"), "1\t2.5\tmath.huge\t-math.huge\tnil\ttrue")
        XCTAssertEqual(try show(#"'tab\t"quote" back\\ nl\n bell\7 é'"#), #""tab\t\"quote\" back\\ nl\n bell\007 é""#)
        XCTAssertEqual(try show("json.null, print, coroutine.create(print)"), "json.null\t<function>\t<thread>")
        XCTAssertEqual(try show("x = 1"), "")
    }

    func testTablesAreSortedNestedLiterals() throws {
        XCTAssertEqual(try show("{}"), "{}")
        XCTAssertEqual(try show("{3, 2, 1}"), "{3, 2, 1}")
        XCTAssertEqual(try show("{b = 1, a = 2, [10] = 'x', ['not a name'] = 3, [true] = 4, ['end'] = 5}"),
                       #"{[10] = "x", a = 2, b = 1, ["end"] = 5, ["not a name"] = 3, [true] = 4}"#)
        XCTAssertEqual(try show("{1, 2, n = {m = {}}}"), "{1, 2, n = {m = {}}}")
    }

    func testJSONMarkersShowAsSuch() throws {
        XCTAssertEqual(try show("json.array{}"), "json.array{}")
        XCTAssertEqual(try show("json.array{1, 2}"), "{1, 2}")
        XCTAssertEqual(try show("json.array{[1] = 'a', [3] = 'c'}"), #"{"a", nil, "c"}"#)
        XCTAssertEqual(try show(#"json.decode('{"list": [], "obj": {}, "none": null, "n": [1, {"x": true}]}')"#),
                       "{list = json.array{}, n = {1, {x = true}}, none = json.null, obj = {}}")
    }

    func testCyclesDepthAndCountAreBounded() throws {
        XCTAssertEqual(try show("t = {} t.me = t t.list = {t} return t"), "{list = {<cycle>}, me = <cycle>}")
        // A table seen twice but not inside itself is shown both times.
        XCTAssertEqual(try show("s = {1} return {s, s}"), "{{1}, {1}}")
        XCTAssertEqual(try show("{{{{{{{1}}}}}}}"), "{{{{{{...}}}}}}")
        let many = try show("local t = {} for i = 1, 60 do t[i] = i end return t")
        XCTAssertTrue(many.hasSuffix("49,\n  50,\n  ... (10 more)\n}"), many)
        XCTAssertFalse(many.contains("51"), many)
    }

    func testLongStringsInsideTablesAreCutOnACharacterBoundary() throws {
        // 301 bytes: byte 200 starts a two-byte "é", so the cut falls before it.
        let text = try show("{'a' .. string.rep('é', 150)}")
        XCTAssertEqual(text, "{\n  \"a" + String(repeating: "é", count: 99) + "...\"--[[301 bytes]]\n}")
        // At the top level a string is shown whole.
        XCTAssertEqual(try show("string.rep('x', 300)").count, 302)
    }

    func testLongTablesBreakOverIndentedLines() throws {
        let text = try show("{alpha = string.rep('a', 30), beta = string.rep('b', 30), gamma = {1, 2}}")
        XCTAssertEqual(text, """
        {
          alpha = "\(String(repeating: "a", count: 30))",
          beta = "\(String(repeating: "b", count: 30))",
          gamma = {1, 2}
        }
        """)
    }

    func testTostringMetamethodsAndUserdataNames() throws {
        XCTAssertEqual(try show("setmetatable({}, {__tostring = function() return 'Point(1, 2)' end})"), "Point(1, 2)")
        XCTAssertEqual(try show("setmetatable({}, {__tostring = function() error('no') end, __name = 'Thing'})"), "<Thing>")
        XCTAssertEqual(try show("realtime"), "<realtime>")
        XCTAssertEqual(try show("setmetatable({x = 1}, {__index = function() error('never called') end})"), "{x = 1}")
    }

    func testIncompleteChunksWaitAndExpressionsMayBeMarkedWithEquals() throws {
        XCTAssertEqual(try session.evaluate("function f(a)").wait(), .incomplete)
        XCTAssertEqual(try session.evaluate("{1,").wait(), .incomplete)
        XCTAssertEqual(try session.evaluate("function f(a)\n  return a * 2\nend").wait(), .ran)
        XCTAssertEqual(try show("=f(21)"), "42")
        XCTAssertEqual(try session.evaluate("x = = 1").wait(), .ran)
        XCTAssertTrue(captured.stderr.contains("stdin:1: unexpected symbol near '='"), captured.stderr)
    }

    func testErrorsShowOnlyTheUsersFrames() throws {
        _ = try session.evaluate("function inner() error('boom') end\nfunction outer() inner() end").wait()
        _ = try session.evaluate("outer()").wait()
        let err = captured.stderr
        XCTAssertTrue(err.hasPrefix("stdin:1: boom\nstack traceback:\n"), err)
        XCTAssertTrue(err.contains("in function 'inner'") || err.contains("in global 'inner'") || err.contains("in function <stdin:1>"), err)
        XCTAssertFalse(err.contains("[C]"), err)
        XCTAssertFalse(err.contains("rtlua"), err)
        XCTAssertFalse(err.contains("xpcall"), err)
        _ = try session.evaluate("error({code = 7})").wait()
        XCTAssertTrue(captured.stderr.contains("(error object) {code = 7}"), captured.stderr)
    }

    func testAWaitingOrBusyChunkCanBeInterruptedAndTheSessionGoesOn() throws {
        let sleeping = session.evaluate("sleep(600)")
        Thread.sleep(forTimeInterval: 0.1)
        session.interrupt()
        XCTAssertEqual(try sleeping.wait(), .ran)
        let busy = session.evaluate("print('spinning') while true do end")
        XCTAssertTrue(waitUntil { self.captured.stdout.contains("spinning") })
        session.interrupt()
        XCTAssertEqual(try busy.wait(), .ran)
        XCTAssertEqual(captured.stderr.components(separatedBy: "interrupted").count - 1, 2, captured.stderr)
        XCTAssertEqual(try show("1 + 1"), "2")
    }

    func testCompletionCandidates() throws {
        _ = try session.evaluate("nested = {inner = {value = 1, other = 2}}\nlazy = setmetatable({}, {__index = {fromIndex = 1}})").wait()
        XCTAssertEqual(try session.completions(for: "rea").wait(), ["realtime"])
        XCTAssertEqual(try session.completions(for: "retu").wait(), ["return"])  // keywords too
        XCTAssertEqual(try session.completions(for: "nested.inner.").wait(), ["nested.inner.other", "nested.inner.value"])
        XCTAssertEqual(try session.completions(for: "json.n").wait(), ["json.null"])
        XCTAssertTrue(try session.completions(for: "realtime:").wait().contains("realtime:join"))
        XCTAssertEqual(try session.completions(for: "realtime:jo").wait(), ["realtime:join"])
        XCTAssertEqual(try session.completions(for: "lazy.from").wait(), ["lazy.fromIndex"])
        XCTAssertEqual(try session.completions(for: "string.up").wait(), ["string.upper"])
        XCTAssertEqual(try session.completions(for: "missing.x").wait(), [])
        XCTAssertEqual(ReplSession.completionWord(endingAt: "print(nested.inn"), "nested.inn")
        XCTAssertEqual(ReplSession.completionWord(endingAt: "x = realtime:jo"), "realtime:jo")
    }

    private func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }
}
