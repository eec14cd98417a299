import Hub
import NIOPosix

/// A server the interop suite can run against: the python-socketio reference server, or
/// rtlua's own hub. Issue 4 asks that our client pass the same suite against both.
protocol InteropServer: AnyObject {
    var port: Int { get }
    var baseURL: String { get }
    /// (Re)starts on `port` (0: a free one).
    func start(port: Int) throws
    /// Stops at once, dropping every connection, as a crash would.
    func kill()
    func stop()
}

extension PeerServer: InteropServer {}

/// rtlua's hub, in this process, with the same keys the reference server is given.
final class InProcessHub: InteropServer {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let clientKeys: [String]
    private let masterKey: String?
    private var hub: Hub?
    private(set) var port = 0

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(clientKeys: [String], masterKey: String?) throws {
        self.clientKeys = clientKeys
        self.masterKey = masterKey
        try start(port: 0)
    }

    func start(port requested: Int) throws {
        let config = HubConfig(port: requested, clientKeys: clientKeys, masterKey: masterKey)
        let hub = try Hub.start(config: config, group: group).wait()
        self.hub = hub
        port = hub.port
    }

    func kill() {
        try? hub?.shutdown().wait()
        hub = nil
    }

    func stop() {
        kill()
        try? group.syncShutdownGracefully()
    }
}
