import RTJSON
import SocketIO

/// The connection's life (PROTOCOL.md §2, §6), as the Socket.IO client reports it.
extension RealtimeManager: SocketIOConnectionDelegate {
    public func socketDidConnect(sid: String) {
        eventLoop.assertInEventLoop()
        online = true
        // Membership and profile first, then the backlog (§6 "Order after a successful CONNECT").
        let buffered = outbound.buffer.count
        let emits = outbound.afterConnect()
        if let debug = config.log?.debug, !emits.isEmpty {
            debug("flushing \(buffered) buffered emit\(buffered == 1 ? "" : "s") after \(emits.count - buffered) replayed (profile, joins)")
        }
        flush(emits)
        for entry in listeners.connect.take(event: nil) where listeners.connect.contains(token: entry.token) {
            entry.callback()
        }
    }

    public func socketDidDisconnect(reason: String, willReconnect: Bool) {
        eventLoop.assertInEventLoop()
        online = false
        if !willReconnect { opened = false }
        for entry in listeners.disconnect.take(event: nil) where listeners.disconnect.contains(token: entry.token) {
            entry.callback(reason)
        }
    }

    public func socketDidFail(error: SocketIOError, willReconnect: Bool) {
        eventLoop.assertInEventLoop()
        online = false
        if !willReconnect { opened = false }
        emitError(RealtimeError(error))
    }

    public func socketWillReconnect(attempt: Int) {
        eventLoop.assertInEventLoop()
        for entry in listeners.reconnectAttempt.take(event: nil) where listeners.reconnectAttempt.contains(token: entry.token) {
            entry.callback(attempt)
        }
    }

    public func socketDidReceive(event: String, args: [JSONValue], ack: (([JSONValue]) -> Void)?) {
        eventLoop.assertInEventLoop()
        dispatch(event: event, args: args)
        // The contract's server never asks for acks; answer politely if one does.
        ack?([])
    }
}
