@testable import LuaHost
import NIOPosix
import NIOCore
import XCTest

/// The restart bookkeeping of one instance, on an injected clock.
final class RestartStateTests: XCTestCase {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let quick = TimeAmount.milliseconds(10)

    func testPoliciesRestartOnTheirEndsOnly() {
        let ends: [ScriptEnd] = [.finished, .exited(0), .exited(3), .failed, .stopped]
        XCTAssertEqual(ends.map { RestartPolicy.no.restarts(after: $0) }, [false, false, false, false, false])
        XCTAssertEqual(ends.map { RestartPolicy.onFailure.restarts(after: $0) }, [false, false, true, true, false])
        XCTAssertEqual(ends.map { RestartPolicy.always.restarts(after: $0) }, [true, true, true, true, false])
        XCTAssertEqual(RestartPolicy(rawValue: "on-failure"), .onFailure)
        XCTAssertNil(RestartPolicy(rawValue: "sometimes"))
    }

    func testDelaysDoubleFromTheStartAndGiveUpAtTheFifthFailureInTheWindow() {
        var state = RestartState(Supervision(policy: .onFailure))
        var now = t0
        var decisions: [RestartState.Decision] = []
        for _ in 0..<5 {
            now = now + .milliseconds(50)
            decisions.append(state.ended(.failed, ranFor: quick, at: now))
        }
        XCTAssertEqual(decisions, [
            .restart(after: .milliseconds(100), count: 1), .restart(after: .milliseconds(200), count: 2),
            .restart(after: .milliseconds(400), count: 3), .restart(after: .milliseconds(800), count: 4),
            .giveUp(failures: 5),
        ])
    }

    func testFailuresOutsideTheWindowAreForgotten() {
        var state = RestartState(Supervision(policy: .onFailure))
        var now = t0
        for _ in 0..<20 {
            now = now + .seconds(16)  // at most four failures in any 60 s
            guard case .restart = state.ended(.exited(2), ranFor: quick, at: now) else { return XCTFail("gave up") }
        }
        XCTAssertEqual(state.restarts, 20)
    }

    func testTheDelayIsCappedAndALongRunResetsIt() {
        var state = RestartState(Supervision(policy: .always))
        var now = t0
        var delays: [Int64] = []
        for _ in 0..<12 {
            now = now + .seconds(1)
            guard case .restart(let d, _) = state.ended(.finished, ranFor: quick, at: now) else { return XCTFail() }
            delays.append(d.nanoseconds / 1_000_000)
        }
        XCTAssertEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000])
        guard case .restart(let d, _) = state.ended(.finished, ranFor: .seconds(10), at: now + .seconds(40)) else { return XCTFail() }
        XCTAssertEqual(d, .milliseconds(100))
    }

    func testCleanEndsUnderAlwaysNeverGiveUp() {
        var state = RestartState(Supervision(policy: .always))
        for k in 1...50 {
            guard case .restart = state.ended(.exited(0), ranFor: quick, at: t0 + .milliseconds(Int64(k))) else { return XCTFail() }
        }
    }

    func testResetForgetsDelayAndFailures() {
        var state = RestartState(Supervision(policy: .onFailure, maxFailures: 2))
        XCTAssertEqual(state.ended(.failed, ranFor: quick, at: t0), .restart(after: .milliseconds(100), count: 1))
        state.reset()
        XCTAssertEqual(state.ended(.failed, ranFor: quick, at: t0 + quick), .restart(after: .milliseconds(100), count: 2))
        XCTAssertEqual(state.ended(.failed, ranFor: quick, at: t0 + quick + quick), .giveUp(failures: 2))
    }

    func testNoRestartAfterSuccessOrStop() {
        var state = RestartState(Supervision(policy: .onFailure))
        XCTAssertEqual(state.ended(.finished, ranFor: quick, at: t0), .done)
        XCTAssertEqual(state.ended(.exited(0), ranFor: quick, at: t0), .done)
        var always = RestartState(Supervision(policy: .always))
        XCTAssertEqual(always.ended(.stopped, ranFor: quick, at: t0), .done)
    }
}

/// ScriptRunner under supervision, with the bounds shrunk so it runs in milliseconds.
final class SupervisedRunnerTests: XCTestCase {
    func run(_ source: String, instances: Int = 1, _ supervision: Supervision) throws -> (Int32, SupervisionCounters, CapturedOutput) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let captured = CapturedOutput()
        let path = try writeScript(source, name: "sup.lua")
        let runner = ScriptRunner(group: group, paths: [path], instances: instances, supervision: supervision) { path, n in
            ScriptOptions(path: path, instance: n, output: captured.output)
        }
        let guardTask = runner.loop.scheduleTask(in: .seconds(20)) { runner.stop() }
        let status = try runner.run().wait()
        guardTask.cancel()
        return (status, try runner.supervisionCounters().wait(), captured)
    }

    func testGivenUpInstancesAreCountedAndKeepTheirFailureStatus() throws {
        let (status, counters, out) = try run("error('down')", instances: 2,
                                              Supervision(policy: .onFailure, initialDelay: .milliseconds(1), maxFailures: 3))
        XCTAssertEqual(status, 1, out.stderr)
        XCTAssertEqual(counters.restarts, 4, "two restarts per instance")
        XCTAssertEqual(counters.givenUp, 2)
        XCTAssertEqual(counters.scripts.count, 1)
        XCTAssertTrue(out.stderr.contains("restart #2 in 2ms"), out.stderr)
        XCTAssertTrue(out.stderr.contains("3 failures within 60s: giving up"), out.stderr)
    }

    func testARecoveredInstanceCountsAsItsLastRun() throws {
        // The counter lives in a file next to the script, so it survives the new VM.
        let source = """
        local name = debug.getinfo(1, "S").source:sub(2):gsub("sup.lua$", "count")
        local f = io.open(name, "r")
        local n = f and tonumber(f:read("a")) or 0
        if f then f:close() end
        n = n + 1
        f = assert(io.open(name, "w")) f:write(n) f:close()
        if n < 3 then exit(7) end
        """
        let (status, counters, out) = try run(source, Supervision(policy: .onFailure, initialDelay: .milliseconds(1)))
        XCTAssertEqual(status, 0, out.stderr)
        XCTAssertEqual(counters.restarts, 2)
        XCTAssertEqual(counters.givenUp, 0)
    }

    func testWithoutAPolicyNothingRestarts() throws {
        let (status, counters, _) = try run("exit(4)", Supervision())
        XCTAssertEqual(status, 4)
        XCTAssertEqual(counters.restarts, 0)
    }
}
