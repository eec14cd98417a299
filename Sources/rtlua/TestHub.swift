import Clocks
import Hub
import LuaHost
import NIOConcurrencyHelpers
import NIOCore
import RTJSON

/// A test file's hub (LuaHost's TestHubControl over the Hub module): a fresh Hub per test,
/// always on the port the first one got, so every test of the file has one URL.
final class TestHub: TestHubControl, @unchecked Sendable {  // state behind `state`
    private struct State {
        var hub: Hub?
        var port = 0
        var clock: EventClock?
        /// The log of hubs this test restarted away from.
        var earlierLog: [String] = []
    }

    private let group: EventLoopGroup
    private let state = NIOLockedValueBox(State())

    init(group: EventLoopGroup) {
        self.group = group
    }

    var baseURL: String { "http://127.0.0.1:\(state.withLockedValue { $0.port })" }

    private var loop: EventLoop { group.any() }

    private func bind() -> EventLoopFuture<Void> {
        var config = HubConfig()
        config.host = "127.0.0.1"
        config.port = state.withLockedValue { $0.port }
        config.clock = state.withLockedValue { $0.clock }
        return Hub.start(config: config, group: group).flatMap { [state] hub in
            state.withLockedValue {
                $0.hub = hub
                $0.port = hub.port
            }
            return hub.enableTestHooks()
        }
    }

    func start(clock: EventClock) -> EventLoopFuture<Void> {
        state.withLockedValue {
            $0.earlierLog = []
            $0.clock = clock
        }
        return bind()
    }

    func stop() -> EventLoopFuture<Void> {
        guard let hub = state.withLockedValue({ s -> Hub? in defer { s.hub = nil }; return s.hub }) else {
            return loop.makeSucceededVoidFuture()
        }
        return hub.shutdown()
    }

    func restart() -> EventLoopFuture<Void> {
        guard let hub = state.withLockedValue({ $0.hub }) else { return bind() }
        return hub.testLog().flatMap { [state] lines in
            state.withLockedValue { $0.earlierLog += lines + ["hub restart"] }
            return self.stop()
        }.flatMap { self.bind() }
    }

    private func withHub<T>(_ body: (Hub) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        guard let hub = state.withLockedValue({ $0.hub }) else {
            return loop.makeFailedFuture(HubError("the hub is not running"))
        }
        return body(hub)
    }

    func members(_ channel: String) -> EventLoopFuture<JSONValue> { withHub { $0.members(of: channel) } }

    func userEvent(_ name: String, session: String) -> EventLoopFuture<Int> { withHub { $0.sendUserEvent(name, session: session) } }

    func kick(_ socketId: String) -> EventLoopFuture<Bool> { withHub { $0.kick(socketId: socketId) } }

    func setDropRate(_ rate: Double) -> EventLoopFuture<Void> { withHub { $0.setTestFaults(dropRate: rate) } }

    func setDelay(milliseconds: Int) -> EventLoopFuture<Void> { withHub { $0.setTestFaults(delayMilliseconds: milliseconds) } }

    func log() -> EventLoopFuture<[String]> {
        let earlier = state.withLockedValue { $0.earlierLog }
        return withHub { $0.testLog() }.map { earlier + $0 }
    }
}
