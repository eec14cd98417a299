/// Identifies one registered listener of any kind; `RealtimeManager.removeListener` takes it.
public typealias ListenerToken = Int

/// Listeners of one kind, kept in registration order. `event` is the event name for
/// per-event listeners and nil for the kinds that take every event (onAny, lifecycle).
struct ListenerList<Callback> {
    struct Entry {
        let token: ListenerToken
        let event: String?
        let once: Bool
        let callback: Callback
    }

    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(token: ListenerToken, event: String? = nil, once: Bool = false, _ callback: Callback) {
        entries.append(Entry(token: token, event: event, once: once, callback: callback))
    }

    @discardableResult
    mutating func remove(token: ListenerToken) -> Bool {
        guard let i = entries.firstIndex(where: { $0.token == token }) else { return false }
        entries.remove(at: i)
        return true
    }

    mutating func removeAll(event: String) {
        entries.removeAll { $0.event == event }
    }

    mutating func removeAll() {
        entries.removeAll()
    }

    func contains(token: ListenerToken) -> Bool {
        entries.contains { $0.token == token }
    }

    /// The listeners for one emission of `event` (nil: all of them), in registration order.
    /// One-shot listeners are removed here, before any callback runs, so a callback that
    /// emits again cannot call them twice.
    mutating func take(event: String?) -> [Entry] {
        // All of a list without one-shot entries (onAny, lifecycle): the list itself, shared
        // rather than copied, so a catch-all listener (the built-in metrics') costs no
        // allocation per event. A removal during the dispatch copies it then.
        if event == nil, !entries.contains(where: { $0.once }) { return entries }
        let matching = entries.filter { event == nil || $0.event == event }
        if matching.contains(where: \.once) {
            let fired = Set(matching.lazy.filter(\.once).map(\.token))
            entries.removeAll { fired.contains($0.token) }
        }
        return matching
    }
}
