import NIOCore
import Realtime

/// A RealtimeManager as one script sees it: made on first use, with the registry refs of
/// the Lua functions listening on it (released on off/removeListener and at script end).
final class ManagerBinding: @unchecked Sendable {  // confined to its script's event loop
    enum Kind: Equatable {
        case event(String), any, connect, disconnect, error, reconnectAttempt, join, leave, update, userEvent
    }

    struct Listener {
        var kind: Kind
        var token: ListenerToken
        /// lua_topointer of the function, to find it again on off(event, fn).
        var function: UnsafeRawPointer
        var ref: Int32
    }

    let config: RealtimeConfig?
    /// Why there is no configuration, for the error a script gets when it uses the manager.
    let unconfiguredReason: String
    var manager: RealtimeManager?
    var listeners: [Int: Listener] = [:]
    private var nextListenerID = 1
    /// The tokens of `watchLife`'s own listeners, removed when the binding detaches.
    var lifeTokens: [ListenerToken] = []
    /// The built-in message metrics of this connection (nil when they are off).
    var messageMetrics: MessageMetrics?
    /// The manager belongs to another version of the script (a reload under `--watch`,
    /// LuaScript+Reload.swift): at this script's end the binding detaches instead of closing it.
    var handedOver = false

    /// How the manager is named in the script's log (`realtime`, `realtime.connect #2`).
    let name: String

    init(config: RealtimeConfig?, name: String = "realtime", unconfiguredReason: String = "no realtime URL is configured") {
        var config = config
        config?.messagesAsText = true  // the bridge builds Lua values straight from text
        self.config = config
        self.name = name
        self.unconfiguredReason = unconfiguredReason
    }

    /// The manager's notes go to the script's log, tagged with the manager's name; debug
    /// notes are not even formatted unless the log level is debug.
    static func log(_ logger: ScriptLogger, name: String) -> RealtimeLog {
        var debug: (@Sendable (String) -> Void)?
        if logger.settings.level <= .debug {
            debug = { (text: String) in logger.log(.debug, name + ": " + text) }
        }
        return RealtimeLog(debug: debug, warn: { (text: String) in logger.log(.warn, name + ": " + text) })
    }

    /// close() was called while connected: the disconnect is still to be reported.
    var closing = false

    /// An open connection (or one trying to open, or one closing) can still deliver callbacks.
    var keepsScriptAlive: Bool { (manager?.isOpen ?? false) || closing }

    /// close() from the script: onDisconnect listeners still hear about it before the
    /// script may end (bounded, should the disconnect never be reported).
    func close(_ host: LuaScript) {
        guard let manager else { return }
        if manager.isConnected() {
            closing = true
            host.eventLoop.scheduleTask(in: .seconds(2)) { [weak self, weak host] in
                self?.closing = false
                host?.checkIdle()
            }
        }
        manager.close()
        host.checkIdleSoon()
    }

    /// The manager, made and opened on first use.
    func use(_ host: LuaScript) throws(LuaRaise) -> RealtimeManager {
        if let manager { return manager }
        guard var config else { throw LuaRaise.message("realtime: \(unconfiguredReason)") }
        config.log = Self.log(host.logger, name: name)
        let made: RealtimeManager
        do {
            made = try host.options.makeManager(config, host.eventLoop, host.options.http)
        } catch let error as RealtimeError {
            throw LuaRaise.message("realtime: \(error.message)")
        } catch {
            throw LuaRaise.message("realtime: \(error)")
        }
        manager = made
        watchLife(made, host)
        made.open()
        return made
    }

    /// Whether the script's life can change follows the connection's state.
    func watchLife(_ manager: RealtimeManager, _ host: LuaScript) {
        messageMetrics = host.messageMetrics()
        lifeTokens = host.watchMetrics(manager, messageMetrics) + [
            manager.onConnect { [weak self] in self?.unreachable = false },
            manager.onDisconnect { [weak self, weak host] _ in
                self?.closing = false
                host?.checkIdleSoon()
            },
            manager.onError { [weak self, weak host] _ in
                self?.unreachable = true
                host?.checkIdleSoon()
            },
        ]
    }

    /// The last connection attempt failed (and none has succeeded since): an exiting script
    /// does not wait for the next one.
    var unreachable = false

    func add(_ listener: Listener) -> Int {
        defer { nextListenerID += 1 }
        listeners[nextListenerID] = listener
        return nextListenerID
    }

    /// Removes the listeners `matching`, returning their refs for the caller to release.
    func remove(where matching: (Listener) -> Bool) -> [Int32] {
        var refs: [Int32] = []
        for (id, l) in listeners where matching(l) {
            manager?.removeListener(token: l.token)
            refs.append(l.ref)
            listeners[id] = nil
        }
        return refs
    }

    /// How long an exiting script waits for a connection still coming up, so what it sent
    /// is flushed rather than lost.
    static let connectGrace = TimeAmount.seconds(5)
    /// How long the script end waits for a connection to close (the Socket.IO client gives
    /// the server's close answer 2 s; this only guards against a close that never completes).
    static let closeGrace = TimeAmount.seconds(5)

    /// At script end: no more callbacks, then close, which flushes what is buffered when
    /// connected and completes once the socket is closed, so the process may exit without
    /// losing what the script sent. With `waitForConnect`, a connection still coming up is
    /// first given `connectGrace` to connect (and flush). Completes when closed (bounded).
    func shutdown(host: LuaScript, waitForConnect: Bool) -> EventLoopFuture<Void> {
        if handedOver {
            detach()
            return host.eventLoop.makeSucceededVoidFuture()
        }
        listeners = [:]
        guard let manager else { return host.eventLoop.makeSucceededVoidFuture() }
        host.forgetMetrics(manager)
        manager.removeAllListeners()
        let once = CloseOnce(manager, host.eventLoop.makePromise(of: Void.self), grace: Self.closeGrace)
        guard waitForConnect, manager.isOpen, !manager.isConnected(), !unreachable else {
            once.start()
            return once.closed.futureResult
        }
        // The manager flushes its buffer right after CONNECT, before connect listeners run.
        manager.onConnect { once.start() }
        // A failed attempt (refused, unreachable, timed out) ends the wait: a hub that is not
        // there now is not waited for, whether or not the client would retry.
        manager.onError { _ in once.start() }
        let timeout = host.eventLoop.scheduleTask(in: Self.connectGrace) { once.start() }
        once.closed.futureResult.whenComplete { _ in timeout.cancel() }
        return once.closed.futureResult
    }
}

/// Closes a manager once, whichever comes first: connected, refused, or out of time; then
/// completes when the socket is closed, or after `grace`.
private final class CloseOnce: @unchecked Sendable {  // confined to the manager's event loop
    let manager: RealtimeManager
    let closed: EventLoopPromise<Void>
    private let grace: TimeAmount
    private var started = false
    private var done = false

    init(_ manager: RealtimeManager, _ closed: EventLoopPromise<Void>, grace: TimeAmount) {
        self.manager = manager
        self.closed = closed
        self.grace = grace
    }

    func start() {
        guard !started else { return }
        started = true
        let bound = manager.eventLoop.scheduleTask(in: grace) { [self] in complete() }
        manager.close { [self] in
            bound.cancel()
            complete()
        }
    }

    private func complete() {
        guard !done else { return }
        done = true
        closed.succeed(())
    }
}
