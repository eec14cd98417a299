import NIOCore
import RTJSON

/// The controls `rtlua test` has over a hub of its own (never used by `serve`).
extension Hub {
    /// Starts keeping the packet log and allows faults; call before any client connects.
    public func enableTestHooks() -> EventLoopFuture<Void> {
        let core = self.core
        return core.loop.submit { core.testHooks = HubTestHooks() }
    }

    public func testLog() -> EventLoopFuture<[String]> {
        let core = self.core
        return core.loop.submit { core.testHooks?.log ?? [] }
    }

    /// Completes once the faults apply (to every packet read after that).
    public func setTestFaults(dropRate: Double? = nil, delayMilliseconds: Int? = nil) -> EventLoopFuture<Void> {
        let core = self.core
        return core.loop.submit {
            if let dropRate { core.testHooks?.dropRate = dropRate }
            if let delayMilliseconds { core.testHooks?.delayMilliseconds = delayMilliseconds }
        }
    }

    /// The members of `channel`, as the REST call answers them.
    public func members(of channel: String) -> EventLoopFuture<JSONValue> {
        let core = self.core
        return core.loop.submit { core.members(of: channel) }
    }

    /// A `user:*` event for the sockets whose session is `session` ("*": all); how many got it.
    public func sendUserEvent(_ name: String, session: String) -> EventLoopFuture<Int> {
        let core = self.core
        return core.loop.submit {
            core.testHooks?.note("hub \(name) \(session)")
            return core.userEvent(name, session: session == "*" ? .null : .string(session), to: session)
        }
    }

    /// Closes the connection of the socket `sid` (it sees a disconnect and reconnects); false
    /// when no socket has that id.
    public func kick(socketId sid: String) -> EventLoopFuture<Bool> {
        let core = self.core
        return core.loop.submit { () -> Bool in
            guard let key = core.router.sockets.first(where: { $0.value.sid == sid })?.key, let connection = core.connection(key) else {
                return false
            }
            core.testHooks?.note("hub kick \(sid)")
            _ = connection.closeForShutdown()
            return true
        }
    }
}
