import Logging
import NIOConcurrencyHelpers
import XCTest
@testable import LuaHost

/// rtlua's own stderr lines can be sent elsewhere: the REPL's line editor prints them above
/// the line being edited instead of into it.
final class StderrSinkTests: XCTestCase {
    func testRunnerLogLinesGoToTheSinkWhenOneIsSet() {
        let seen = NIOLockedValueBox<[String]>([])
        RunnerLog.stderrSink = { text in seen.withLockedValue { $0.append(text) } }
        defer { RunnerLog.stderrSink = nil }
        let before = RunnerLog.settings
        defer { RunnerLog.settings = before }
        RunnerLog.settings = LogSettings()
        RunnerLog.log(.warn, "the hub is busy")
        Logger(label: "hub") { _ in StderrLogHandler(component: "hub", settings: LogSettings()) }.warning("a client misbehaved")
        let lines = seen.withLockedValue { $0 }
        XCTAssertEqual(lines.first, "rtlua: the hub is busy\n")
        XCTAssertEqual(lines.count, 2, "\(lines)")
        XCTAssertTrue(lines.last?.contains("a client misbehaved") == true, "\(lines)")
    }
}
