import ArgumentParser
import LuaHost
import Metrics

/// What a run does once the scripts' `options = {…}` and the command line are put together:
/// the command line wins field by field (`--instances` over `options.instances` and
/// `options.stages`, `--threshold`s over `options.thresholds`). The options are those of
/// the first script that declares any.
struct RunPlan {
    var instances: Int
    var stages: [DeclaredOptions.Stage]
    var duration: Double?
    var thresholds: [Threshold]

    init(_ report: RunMetricsOptions, scripts: [String], args: [String], instances: Int?) throws {
        var declared = DeclaredOptions()
        for path in scripts {
            let o: DeclaredOptions
            do { o = try DeclaredOptions.read(path: path, args: args) } catch { throw ValidationError(error.description) }
            if o != DeclaredOptions() {
                declared = o
                break
            }
        }
        self.instances = instances ?? declared.instances ?? 1
        stages = instances == nil ? declared.stages : []
        duration = declared.duration
        let texts = report.thresholds.isEmpty ? declared.thresholds : report.thresholds
        thresholds = try texts.map(RunMetricsOptions.parse)
        // Under stages the instance total is the highest target (for the shards' shares).
        if !stages.isEmpty { self.instances = stages.map(\.target).max() ?? 0 }
    }
}
