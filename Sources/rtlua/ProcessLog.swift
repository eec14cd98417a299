import Hub
import LuaHost
import NIOCore

/// Starts the in-process hub used when neither --url nor --realtime-url is given, and says so.
func startEmbeddedHub(group: EventLoopGroup) throws -> Hub {
    let hub = try Hub.start(config: HubConfig(), group: group).wait()
    RunnerLog.log(.info, "no --url given; started embedded hub at \(hub.baseURL)")
    return hub
}

/// Stops the embedded hub, if there is one (it is told in the debug log).
func stopEmbeddedHub(_ hub: Hub?) {
    guard let hub else { return }
    RunnerLog.log(.debug, "stopping the embedded hub at \(hub.baseURL)")
    try? hub.shutdown().wait()
    RunnerLog.log(.debug, "embedded hub stopped")
}
