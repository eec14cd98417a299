import Dispatch
import Hub
import LuaHost
import NIOCore
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

func terminate(_ status: Int32) -> Never {
    exit(status)
}
