import Foundation
import RTJSON
import XCTest
@testable import LuaHost

/// print, log, now, args, instance, json.
final class GlobalsTests: XCTestCase {
    func testArgsAndInstance() throws {
        let run = try runScript("print(#args, args[1], args[2], instance, json.encode(args))", args: ["a", "b c"]) {
            $0.instance = 3
        }
        XCTAssertEqual(run.lines, ["2\ta\tb c\t3\t[\"a\",\"b c\"]"])
        XCTAssertEqual(try runScript("print(json.encode(args))").lines, ["[]"])
    }

    func testNowIsEpochSecondsWithSubsecondResolution() throws {
        let before = Date().timeIntervalSince1970
        let run = try runScript("local a = now(); print(string.format('%.6f', a), math.type(a))")
        let after = Date().timeIntervalSince1970
        let parts = run.lines.first?.split(separator: "\t") ?? []
        XCTAssertEqual(parts.last, "float")
        let value = Double(parts.first ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(value, before - 1)
        XCTAssertLessThanOrEqual(value, after + 1)
    }

    func testPrintSeparatesWithTabsAndUsesTostring() throws {
        let run = try runScript("print(1, nil, true, 2.5, setmetatable({}, {__tostring = function() return 'T' end}), json.null)")
        XCTAssertEqual(run.lines, ["1\tnil\ttrue\t2.5\tT\tnull"])
    }

    func testLogFormatsTagsAndFilters() throws {
        let run = try runScript("""
        log.debug("hidden %d", 1)
        log.info("hello %s #%d", "world", 2)
        log.warn("plain")
        """) { $0.log = LogSettings(level: .info, format: .text) }
        let lines = run.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, run.stderr)
        XCTAssertTrue(lines[0].hasSuffix("INFO [\(run.path)#1] hello world #2"), lines[0])
        XCTAssertTrue(lines[1].hasSuffix("WARN [\(run.path)#1] plain"), lines[1])
    }

    func testLogJSONFormat() throws {
        let run = try runScript("log.error('bad %s', 'thing')") {
            $0.log = LogSettings(level: .debug, format: .json)
            $0.instance = 2
        }
        let line = try JSONValue.parse(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(line["level"], "error")
        XCTAssertEqual(line["message"], "bad thing")
        XCTAssertEqual(line["instance"], 2)
        XCTAssertEqual(line["script"]?.stringValue, run.path)
    }

    func testJSONEncodeDecode() throws {
        let run = try runScript("""
        print(json.encode({b = 1, a = {1, 2.5, "x"}, c = json.null}))
        local v = json.decode('{"n": 3, "f": 3.0, "list": [], "s": "é"}')
        print(math.type(v.n), math.type(v.f), json.encode(v.list), v.s)
        print(json.decode("{oops"))
        print(pcall(json.encode, {f = print}))
        print(pcall(json.encode, realtime.binary("x")))
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines.count, 5, run.stdout)
        XCTAssertEqual(run.lines[0], "{\"a\":[1,2.5,\"x\"],\"b\":1,\"c\":null}")
        XCTAssertEqual(run.lines[1], "integer\tfloat\t[]\té")
        XCTAssertTrue(run.lines[2].hasPrefix("nil\tinvalid JSON: "), run.lines[2])
        XCTAssertEqual(run.lines[3], "false\tbad argument #1 to 'json.encode' (value.f: a function has no JSON form)")
        XCTAssertEqual(run.lines[4], "false\tbad argument #1 to 'json.encode' (binary data has no JSON text form)")
    }

    func testRealtimeBinaryValue() throws {
        let run = try runScript("local b = realtime.binary('abc'); print(tostring(b), #b)")
        XCTAssertEqual(run.lines, ["binary: 3 bytes\t3"])
    }
}
