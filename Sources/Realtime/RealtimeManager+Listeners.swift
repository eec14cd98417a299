import AltogicProtocol
import RTJSON

/// Listener registration and event dispatch (PROTOCOL.md §4). Listeners run in registration
/// order; catch-all (onAny) listeners run before the listeners of the event, as in
/// socket.io-client. A listener removed by an earlier one during the same dispatch is not called.
extension RealtimeManager {
    @discardableResult
    public func on(_ event: String, _ fn: @escaping (EventData) -> Void) -> ListenerToken {
        addEventListener(event, once: false, fn)
    }

    @discardableResult
    public func once(_ event: String, _ fn: @escaping (EventData) -> Void) -> ListenerToken {
        addEventListener(event, once: true, fn)
    }

    /// Removes the listener `token` of `event`, or every listener of `event` when nil.
    public func off(_ event: String, token: ListenerToken? = nil) {
        eventLoop.assertInEventLoop()
        if let token {
            if listeners.events.entries.contains(where: { $0.token == token && $0.event == event }) {
                listeners.events.remove(token: token)
            }
        } else {
            listeners.events.removeAll(event: event)
        }
    }

    @discardableResult
    public func onAny(_ fn: @escaping (String, EventData) -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.any.add(token: token, fn)
        return token
    }

    /// Removes the catch-all listener `token`, or all of them when nil.
    public func offAny(token: ListenerToken? = nil) {
        eventLoop.assertInEventLoop()
        if let token { listeners.any.remove(token: token) } else { listeners.any.removeAll() }
    }

    @discardableResult
    public func onJoin(_ fn: @escaping (EventData) -> Void) -> ListenerToken { on(ProtocolNames.channelJoin, fn) }

    @discardableResult
    public func onLeave(_ fn: @escaping (EventData) -> Void) -> ListenerToken { on(ProtocolNames.channelLeave, fn) }

    @discardableResult
    public func onUpdate(_ fn: @escaping (EventData) -> Void) -> ListenerToken { on(ProtocolNames.channelUpdate, fn) }

    /// The seven `user:*` events, as (event name, session or null).
    @discardableResult
    public func onUserEvent(_ fn: @escaping (String, JSONValue) -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.user.add(token: token, fn)
        return token
    }

    @discardableResult
    public func onConnect(_ fn: @escaping () -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.connect.add(token: token, fn)
        return token
    }

    @discardableResult
    public func onDisconnect(_ fn: @escaping (String) -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.disconnect.add(token: token, fn)
        return token
    }

    @discardableResult
    public func onError(_ fn: @escaping (RealtimeError) -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.error.add(token: token, fn)
        return token
    }

    @discardableResult
    public func onReconnectAttempt(_ fn: @escaping (Int) -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.reconnectAttempt.add(token: token, fn)
        return token
    }

    public func removeListener(token: ListenerToken) {
        eventLoop.assertInEventLoop()
        listeners.remove(token: token)
    }

    public func removeAllListeners() {
        eventLoop.assertInEventLoop()
        listeners.removeAll()
    }

    private func addEventListener(_ event: String, once: Bool, _ fn: @escaping (EventData) -> Void) -> ListenerToken {
        eventLoop.assertInEventLoop()
        let token = listeners.newToken()
        listeners.events.add(token: token, event: event, once: once, fn)
        return token
    }

    // MARK: Dispatch

    /// One event from the server: catch-all listeners, then the event's listeners, then,
    /// for the user events, the onUserEvent listeners with (name, session).
    func dispatch(event: String, args: [JSONValue]) {
        let isUserEvent = ProtocolNames.isUserEvent(event)
        // User events carry (name, session); everyone else one {"channel","message"} object.
        let session: JSONValue = args.count >= 2 ? args[1] : (args.first ?? .null)
        let data = isUserEvent ? EventData(channel: nil, message: session) : EventData(args: args)

        for entry in listeners.any.take(event: nil) where listeners.any.contains(token: entry.token) {
            entry.callback(event, data)
        }
        for entry in listeners.events.take(event: event) where entry.once || listeners.events.contains(token: entry.token) {
            entry.callback(data)
        }
        if isUserEvent {
            let name = args.count >= 2 ? (args[0].stringValue ?? event) : event
            for entry in listeners.user.take(event: nil) where listeners.user.contains(token: entry.token) {
                entry.callback(name, session)
            }
        }
    }

    func emitError(_ error: RealtimeError) {
        for entry in listeners.error.take(event: nil) where listeners.error.contains(token: entry.token) {
            entry.callback(error)
        }
    }
}
