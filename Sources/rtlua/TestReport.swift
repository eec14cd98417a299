import Metrics
import LuaHost
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `rtlua test` prints: per file, one line per test (✓/✗/-, name, time) with each
/// failure's text under it, or TAP; then `N passed, M failed[, K skipped]` alone on the last
/// line (on stderr with --tap, so stdout stays pure TAP). JUnit XML on request.
final class TestReport: Sendable {
    let tap: Bool
    let verbose: Bool
    private let tapCount = NIOLockedValueBox(0)

    init(tap: Bool, verbose: Bool) {
        self.tap = tap
        self.verbose = verbose
        if tap { Self.out("TAP version 13\n") }
    }

    private static func out(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(1, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    static func milliseconds(_ s: Double) -> String { "\(Int((s * 1000).rounded())) ms" }

    /// The lines of one file, printed at once (files run in parallel under --jobs).
    func print(file: String, _ outcomes: [TestOutcome]) {
        tapCount.withLockedValue { n in
            var text = ""
            if tap {
                for o in outcomes {
                    n += 1
                    let name = "\(file): \(o.name)".replacingOccurrences(of: "#", with: "\\#")
                    switch o.status {
                    case .passed: text += "ok \(n) - \(name)\n"
                    case .skipped: text += "ok \(n) - \(name) # SKIP\n"
                    case .failed:
                        text += "not ok \(n) - \(name)\n  ---\n  message: |\n"
                        for line in (o.message ?? "").split(separator: "\n", omittingEmptySubsequences: false) { text += "    \(line)\n" }
                        text += "  ...\n"
                    }
                }
            } else {
                text += "\(file)\n"
                // A *_test.lua that declares no test is named as such (a script named like a
                // test file, or tests declared inside a function that never ran).
                if outcomes.isEmpty { text += "  (no tests: the file calls test(name, fn) nowhere)\n" }
                for o in outcomes {
                    switch o.status {
                    case .passed: text += "  ✓ \(o.name) (\(Self.milliseconds(o.seconds)))\n"
                    case .skipped: text += "  - \(o.name) (skipped)\n"
                    case .failed:
                        text += "  ✗ \(o.name) (\(Self.milliseconds(o.seconds)))\n"
                        for line in (o.message ?? "").split(separator: "\n", omittingEmptySubsequences: false) { text += "      \(line)\n" }
                    }
                    if (verbose || o.status == .failed), !o.output.isEmpty {
                        text += "      output:\n" + o.output.map { "        \($0)\n" }.joined()
                    }
                }
            }
            Self.out(text)
        }
    }

    func finish(_ outcomes: [TestOutcome]) {
        let passed = outcomes.filter { $0.status == .passed }.count
        let failed = outcomes.filter { $0.status == .failed }.count
        let skipped = outcomes.filter { $0.status == .skipped }.count
        var line = "\(passed) passed, \(failed) failed"
        if skipped > 0 { line += ", \(skipped) skipped" }
        if tap {
            Self.out("1..\(outcomes.count)\n")
            writeError(line)
        } else {
            Self.out(line + "\n")
        }
    }

    static func xml(_ s: String) -> String { XMLText.escape(s) }

    static func junit(_ outcomes: [TestOutcome], seconds: Double) -> String {
        func count(_ list: [TestOutcome], _ s: TestOutcome.Status) -> Int { list.filter { $0.status == s }.count }
        func time(_ s: Double) -> String { String(format3(s)) }
        var files: [String] = []
        for o in outcomes where !files.contains(o.file) { files.append(o.file) }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"rtlua test\" tests=\"\(outcomes.count)\" failures=\"\(count(outcomes, .failed))\" skipped=\"\(count(outcomes, .skipped))\" time=\"\(time(seconds))\">\n"
        for file in files {
            let list = outcomes.filter { $0.file == file }
            let total = list.reduce(0) { $0 + $1.seconds }
            x += "  <testsuite name=\"\(xml(file))\" tests=\"\(list.count)\" failures=\"\(count(list, .failed))\" skipped=\"\(count(list, .skipped))\" time=\"\(time(total))\">\n"
            for o in list {
                x += "    <testcase classname=\"\(xml(file))\" name=\"\(xml(o.name))\" time=\"\(time(o.seconds))\""
                switch o.status {
                case .passed: x += "/>\n"
                case .skipped: x += ">\n      <skipped/>\n    </testcase>\n"
                case .failed:
                    let message = o.message ?? ""
                    let first = message.split(separator: "\n").first.map(String.init) ?? ""
                    x += ">\n      <failure message=\"\(xml(first))\">\(xml(message))</failure>\n    </testcase>\n"
                }
            }
            x += "  </testsuite>\n"
        }
        return x + "</testsuites>\n"
    }

    /// Seconds with three decimals.
    static func format3(_ s: Double) -> String {
        let ms = Int((s * 1000).rounded())
        let frac = ms % 1000
        return "\(ms / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }
}
