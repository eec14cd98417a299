import Foundation
import LuaHost
import NIOConcurrencyHelpers
import NIOCore

/// `options.stages`: instances added and removed over time. The target count ramps
/// linearly within each stage from the previous stage's target (0 at the start); every
/// 100 ms copies are started (the next instance numbers) or stopped (the newest first) to
/// follow it, and at the end of the last stage the rest are stopped. A copy that ends by
/// itself is not replaced. Under `--shard I/N` this process follows its share of the
/// target, and its k-th copy (from 0) is instance k·N + I, unique across shards.
final class StageRunner: Sendable {
    private let loop: EventLoop
    private let stages: [DeclaredOptions.Stage]
    private let shard: ShardSpec
    private let makeCopy: @Sendable (_ instance: Int) -> ScriptRunner
    private let done: EventLoopPromise<Int32>

    private struct State {
        var copies: [(runner: ScriptRunner, stopped: Bool)] = []
        var unfinished = 0
        var status: Int32 = 0
        var over = false
        var tick: RepeatedTask?
    }

    private let state = NIOLockedValueBox(State())

    init(loop: EventLoop, stages: [DeclaredOptions.Stage], shard: ShardSpec, makeCopy: @escaping @Sendable (_ instance: Int) -> ScriptRunner) {
        self.loop = loop
        self.stages = stages
        self.shard = shard
        self.makeCopy = makeCopy
        self.done = loop.makePromise(of: Int32.self)
    }

    /// The whole run's target at `t` seconds.
    static func target(at t: Double, _ stages: [DeclaredOptions.Stage]) -> Int {
        var from = 0.0
        var start = 0.0
        for s in stages {
            if t < start + s.duration {
                return Int((from + (Double(s.target) - from) * (t - start) / s.duration).rounded(.down))
            }
            from = Double(s.target)
            start += s.duration
        }
        return Int(from)
    }

    /// This shard's part of `total`.
    func share(_ total: Int) -> Int { total * shard.index / shard.count - total * (shard.index - 1) / shard.count }

    /// Copies started so far (for the summary).
    var started: Int { state.withLockedValue { $0.copies.count } }

    /// This shard's copies running now (for the status line).
    var currentTarget: Int { state.withLockedValue { $0.copies.filter { !$0.stopped }.count } }

    var totalDuration: Double { stages.reduce(0) { $0 + $1.duration } }

    func run() -> EventLoopFuture<Int32> {
        let started = NIODeadline.now()
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { [self] _ in
            let t = Double((NIODeadline.now() - started).nanoseconds) / 1e9
            if t >= totalDuration {
                stop()
                return
            }
            follow(share(Self.target(at: t, stages)))
        }
        state.withLockedValue { $0.tick = task }
        return done.futureResult
    }

    private func follow(_ wanted: Int) {
        var toStart: [Int] = []
        var toStop: [ScriptRunner] = []
        state.withLockedValue { s in
            guard !s.over else { return }
            let active = s.copies.filter { !$0.stopped }.count
            if active < wanted {
                toStart = (0..<(wanted - active)).map { s.copies.count + $0 }
            } else if active > wanted {
                var excess = active - wanted
                for i in s.copies.indices.reversed() where excess > 0 && !s.copies[i].stopped {
                    s.copies[i].stopped = true
                    toStop.append(s.copies[i].runner)
                    excess -= 1
                }
            }
            for k in toStart {
                let runner = makeCopy(k * shard.count + shard.index)
                s.copies.append((runner, false))
                s.unfinished += 1
                runner.run().whenComplete { [self] result in finished(result) }
            }
        }
        for r in toStop { r.stop() }
    }

    private func finished(_ result: Result<Int32, Error>) {
        let complete: Int32? = state.withLockedValue { s in
            s.unfinished -= 1
            if case .success(let status) = result { s.status = max(s.status, status) } else { s.status = max(s.status, 1) }
            return s.over && s.unfinished == 0 ? s.status : nil
        }
        if let complete { done.succeed(complete) }
    }

    /// Stops every copy (end of the stages, or a signal); callable from any thread.
    func stop() {
        let (runners, complete): ([ScriptRunner], Int32?) = state.withLockedValue { s in
            guard !s.over else { return ([], nil) }
            s.over = true
            s.tick?.cancel()
            let live = s.copies.indices.filter { !s.copies[$0].stopped }
            for i in live { s.copies[i].stopped = true }
            return (live.map { s.copies[$0].runner }, s.unfinished == 0 ? s.status : nil)
        }
        for r in runners { r.stop() }
        if let complete { done.succeed(complete) }
    }
}
