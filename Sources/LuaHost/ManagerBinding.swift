import NIOCore
import Realtime

/// A RealtimeManager as one script sees it: made on first use, with the registry refs of
/// the Lua functions listening on it (released on off/removeListener and at script end).
final class ManagerBinding {
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
    private(set) var manager: RealtimeManager?
    var listeners: [Int: Listener] = [:]
    private var nextListenerID = 1

    init(config: RealtimeConfig?, unconfiguredReason: String = "no realtime URL is configured") {
        self.config = config
        self.unconfiguredReason = unconfiguredReason
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
        guard let config else { throw LuaRaise.message("realtime: \(unconfiguredReason)") }
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
        manager.onDisconnect { [weak self, weak host] _ in
            self?.closing = false
            host?.checkIdleSoon()
        }
        manager.onError { [weak host] _ in host?.checkIdleSoon() }
    }

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

    /// At script end: no more callbacks, then close (flushing what is buffered).
    func shutdown() {
        guard let manager else { return }
        manager.removeAllListeners()
        manager.close()
        listeners = [:]
    }
}
