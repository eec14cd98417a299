import ArgumentParser
import Foundation
import Metrics

/// `rtlua merge a.json b.json … [--threshold EXPR]…`: the shard summaries of one run merged
/// exactly (histograms, not averaged percentiles), thresholds evaluated over the whole run.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge the --summary-json files of a run's shards and evaluate thresholds over the whole run.",
        usage: "rtlua merge SUMMARY.json… [--threshold EXPR]… [--summary-json FILE] [--junit FILE]"
    )

    @Argument(help: "The shards' summary files.")
    var files: [String] = []

    @Option(name: .customLong("threshold"), help: ArgumentHelp("A pass/fail rule over the merged metrics (repeatable); a failed one makes the exit status \(RunReport.thresholdsFailedStatus).", valueName: "EXPR"))
    var thresholds: [String] = []

    @Option(name: .customLong("summary-json"), help: ArgumentHelp("Write the merged summary as JSON.", valueName: "FILE"))
    var summaryJSON: String?

    @Option(name: .customLong("junit"), help: ArgumentHelp("Write the checks and thresholds as JUnit XML.", valueName: "FILE"))
    var junit: String?

    @Flag(name: .customLong("quiet"), help: "No summary on stderr.")
    var quiet = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("at least one SUMMARY.json is required") }
        for t in thresholds { _ = try RunMetricsOptions.parse(t) }
    }

    func run() throws {
        let thresholds = try self.thresholds.map(RunMetricsOptions.parse)
        var parts: [(file: String, summary: RunSummary)] = []
        for file in files {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            do { parts.append((file, try JSONDecoder().decode(RunSummary.self, from: data))) } catch {
                throw ValidationError("\(file) is not an rtlua summary: \(Self.describe(error))")
            }
        }
        let merged: RunSummary
        do { merged = try RunSummary.merge(parts) } catch { throw ValidationError(error.message) }
        let snapshot: MetricsSnapshot
        do { snapshot = try merged.snapshot() } catch { throw ValidationError(error.message) }
        let report = RunReport(thresholds: thresholds, summaryJSON: summaryJSON, junit: junit, quiet: quiet)
        terminate(report.finish(merged, snapshot: snapshot, alwaysShow: true))
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let c): return "field '\((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))' is missing"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "field '\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)"
        case DecodingError.dataCorrupted(let c): return c.debugDescription + (c.underlyingError.map { " (\($0.localizedDescription))" } ?? "")
        default: return "\(error)"
        }
    }
}
