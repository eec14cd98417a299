import NIOCore
import RTJSON
import SocketIO

/// open() and close(). A close while connected first makes sure the server has read every
/// emit made before it: it sends a `members` request (PROTOCOL.md §3) and disconnects when
/// its ack arrives, since the server answers packets in order. Hanging up at once would
/// lose them: a socket closed with unread data (the server's echoes, say) answers with a
/// TCP reset, and the server's kernel then discards what the server has not read yet.
/// A server that does not ack `members` costs a bounded wait instead.
struct ClosingDrain {
    var generation: Int
    var timer: Scheduled<Void>?
    var completions: [() -> Void]
}

extension RealtimeManager {
    /// How long close() waits for the server to confirm it has read everything.
    static let maxCloseDrain: Int64 = 3000
    static let closeBarrierChannel = "rtlua:close"

    public func open() {
        eventLoop.assertInEventLoop()
        guard !opened else { return }
        opened = true
        if closing != nil {
            // Re-opened while a close was draining: keep the live connection.
            finishDrain(disconnect: false)
            if connection.isConnected { return }
        }
        connection.connect()
    }

    /// Closes for good (no reconnection until `open()`). When connected, everything emitted
    /// before is delivered first (the buffer is flushed, then the server confirms it has
    /// read it all); when offline the buffer is kept for the next `open()`. `completion`
    /// runs on the loop once the connection is down.
    public func close(completion: (() -> Void)? = nil) {
        eventLoop.assertInEventLoop()
        opened = false
        if var drain = closing {
            if let completion { drain.completions.append(completion) }
            closing = drain
            return
        }
        guard online, connection.isConnected else {
            connection.disconnect()
            completion?()
            return
        }
        flush(outbound.takeBuffer())
        let generation = (closingGeneration &+ 1)
        closingGeneration = generation
        var drain = ClosingDrain(generation: generation, timer: nil, completions: completion.map { [$0] } ?? [])
        drain.timer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(min(config.options.timeout, Self.maxCloseDrain))) {
            [weak self] in self?.drainEnded(generation)
        }
        closing = drain
        do {
            try connection.emit("members", [["channel": .string(Self.closeBarrierChannel)]]) { [weak self] _ in
                self?.drainEnded(generation)
            }
        } catch {
            drainEnded(generation)
        }
    }

    private func drainEnded(_ generation: Int) {
        guard let drain = closing, drain.generation == generation else { return }
        finishDrain(disconnect: true)
    }

    private func finishDrain(disconnect: Bool) {
        guard let drain = closing else { return }
        closing = nil
        drain.timer?.cancel()
        if disconnect { connection.disconnect() }
        for completion in drain.completions { completion() }
    }
}
