import RTJSON

/// Every listener of a manager, one list per kind, sharing one token counter so
/// `removeListener(token:)` works for any kind.
struct Listeners {
    private var nextToken: ListenerToken = 1
    /// on/once and onJoin/onLeave/onUpdate (which are `on("channel:…")`), keyed by event.
    var events = ListenerList<(EventData) -> Void>()
    var any = ListenerList<(String, EventData) -> Void>()
    var user = ListenerList<(String, JSONValue) -> Void>()
    var connect = ListenerList<() -> Void>()
    var disconnect = ListenerList<(String) -> Void>()
    var error = ListenerList<(RealtimeError) -> Void>()
    var reconnectAttempt = ListenerList<(Int) -> Void>()

    mutating func newToken() -> ListenerToken {
        defer { nextToken += 1 }
        return nextToken
    }

    mutating func remove(token: ListenerToken) {
        _ = events.remove(token: token) || any.remove(token: token) || user.remove(token: token)
            || connect.remove(token: token) || disconnect.remove(token: token) || error.remove(token: token)
            || reconnectAttempt.remove(token: token)
    }

    mutating func removeAll() {
        events.removeAll()
        any.removeAll()
        user.removeAll()
        connect.removeAll()
        disconnect.removeAll()
        error.removeAll()
        reconnectAttempt.removeAll()
    }
}
