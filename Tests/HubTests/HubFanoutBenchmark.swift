import Foundation
import NIOCore
import NIOPosix
import XCTest

@testable import Hub

/// Fan-out throughput against python-socketio (peer/fanout_bench.py), opt-in because it
/// measures rather than checks: `RTLUA_HUB_BENCH=1 swift test --filter HubFanoutBenchmark`.
/// It fails only if a delivery goes missing; the numbers are printed.
final class HubFanoutBenchmark: XCTestCase {
    func testFanoutAgainstPythonSocketIO() throws {
        guard ProcessInfo.processInfo.environment["RTLUA_HUB_BENCH"] == "1" else {
            throw XCTSkip("set RTLUA_HUB_BENCH=1 to run the fan-out benchmark")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let hub = try Hub.start(config: HubConfig(pingInterval: 300_000), group: group).wait()
        defer { try? hub.shutdown().wait() }
        let env = ProcessInfo.processInfo.environment
        let result = try PeerHarness.runProcess(
            PeerHarness.python,
            [PeerHarness.packageRoot.appendingPathComponent("Tests/HubTests/peer/fanout_bench.py").path, hub.baseURL,
             env["RTLUA_HUB_BENCH_RECEIVERS"] ?? "50", env["RTLUA_HUB_BENCH_MESSAGES"] ?? "2000"],
            timeout: 600)
        print(result.output)
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("BENCH DONE"), result.output)
    }
}
