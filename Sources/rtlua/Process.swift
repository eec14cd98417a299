import Dispatch
import Hub
import LuaHost
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func writeError(_ text: String) {
    let line = text.hasSuffix("\n") ? text : text + "\n"
    var bytes = Array(line.utf8)
    bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
}

/// SIGINT/SIGTERM: the first calls `graceful` (once), a second one exits at once.
final class SignalTrap: @unchecked Sendable {  // `count` only touched on `queue`
    private let queue = DispatchQueue(label: "rtlua.signals")
    private var sources: [DispatchSourceSignal] = []
    private var count = 0

    init(graceful: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [unowned self] in
                // Signals arriving together are coalesced into one event; `data` counts them.
                let first = count == 0
                count += max(1, Int(source.data))
                if count > 1 { _exit(128 + sig) }
                if first {
                    RunnerLog.log(.info, "stopping (a second signal exits at once)")
                    graceful()
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    var received: Bool { queue.sync { count > 0 } }
}

/// The in-process hub used when no --url is given, on event loops of its own: no script
/// runs on them, so a busy script cannot keep the hub from serving (its /healthz, its sockets).
struct EmbeddedHub {
    let hub: Hub
    let group: MultiThreadedEventLoopGroup

    var baseURL: String { hub.baseURL }

    func shutdown() {
        RunnerLog.log(.debug, "stopping the embedded hub at \(hub.baseURL)")
        _ = try? hub.shutdown().wait()
        try? group.syncShutdownGracefully()
        RunnerLog.log(.debug, "embedded hub stopped")
    }
}

/// Starts the embedded hub (when neither --url nor --realtime-url is given), and says so.
func startEmbeddedHub() throws -> EmbeddedHub {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    let hub = try Hub.start(config: HubConfig(), group: group).wait()
    RunnerLog.log(.info, "no --url given; started embedded hub at \(hub.baseURL)")
    return EmbeddedHub(hub: hub, group: group)
}

func terminate(_ status: Int32) -> Never {
    exit(status)
}
