import NIOCore
import SocketIO

/// open() and close(). A close while connected hands what is still buffered to the socket,
/// then disconnects; the Socket.IO client closes gracefully (the server's close frame ends
/// the connection, bounded), so everything emitted before close() reaches the server.
extension RealtimeManager {
    public func open() {
        eventLoop.assertInEventLoop()
        guard !opened else { return }
        opened = true
        connection.connect()
    }

    /// Closes for good (no reconnection until `open()`). When connected, the buffer is
    /// flushed first; when offline it is kept for the next `open()`. onDisconnect listeners
    /// hear of it at once; `completion` runs on the loop once the socket is really closed.
    public func close(completion: (() -> Void)? = nil) {
        eventLoop.assertInEventLoop()
        opened = false
        if online, connection.isConnected {
            flush(outbound.takeBuffer())
        }
        connection.disconnect { completion?() }
    }
}
