import Clocks
import NIOCore
import RTJSON

// The contract between the Socket.IO client (this module) and its one consumer, the
// RealtimeManager (module Realtime). Realtime depends only on `SocketIOConnection`, so its
// tests can drive a fake. Everything here is called, and calls back, on one EventLoop.

public struct SocketIOClientConfig: Sendable {
    /// ws://, wss://, http:// or https:// endpoint; http(s) becomes ws(s). The path
    /// `/socket.io/?EIO=4&transport=websocket` is added when the URL has no path.
    public var url: String
    /// The CONNECT packet's auth object (PROTOCOL.md §2), or nil for none.
    public var auth: JSONValue?
    public var reconnection: Bool = true
    /// Milliseconds (PROTOCOL.md §6).
    public var reconnectionDelay: Int64 = 1000
    public var reconnectionDelayMax: Int64 = 5000
    public var randomizationFactor: Double = 0.5
    public var timeout: Int64 = 20000
    /// Extra HTTP headers on the WebSocket upgrade request.
    public var headers: [(String, String)] = []
    /// A PEM file of CA certificates to trust for wss:// instead of the system's roots
    /// (e.g. a private CA); nil trusts the system roots. Hostnames are verified either way.
    public var tlsTrustRootsFile: String? = nil
    /// Event and ack arguments keep containers nested this deep as `.raw` JSON text
    /// (`SocketPacketDecoder.rawFromDepth`); `.max` builds every value.
    public var rawFromDepth: Int = .max
    /// Told, in words, each connection attempt, its result and each back-off delay (for a
    /// debug log); nil: nothing is said, and nothing is formatted.
    public var trace: (@Sendable (String) -> Void)? = nil
    /// The clock of the heartbeat check, the connection attempt's timeout and the
    /// reconnection back-off; nil: the event loop's own timers. `rtlua test` gives its
    /// virtual clock.
    public var clock: EventClock? = nil

    public init(url: String, auth: JSONValue? = nil) {
        self.url = url
        self.auth = auth
    }
}

public struct SocketIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server answered CONNECT_ERROR; `data` holds its payload ({"message": …}).
        case connectRefused
        case timeout
        case transport
        case protocolViolation
        case payloadTooLarge
        case notConnected
        case invalidArgument
    }
    public var kind: Kind
    public var message: String
    public var data: JSONValue?

    public init(_ kind: Kind, _ message: String, data: JSONValue? = nil) {
        self.kind = kind
        self.message = message
        self.data = data
    }
    public var description: String { message }
}

/// Receives the connection's life and its events, always on the connection's EventLoop.
public protocol SocketIOConnectionDelegate: AnyObject {
    /// CONNECT succeeded (first connect or a reconnect); `sid` is the Socket.IO socket id.
    func socketDidConnect(sid: String)
    /// An established connection ended. `willReconnect` is false after `disconnect()`.
    func socketDidDisconnect(reason: String, willReconnect: Bool)
    /// A connection attempt failed (refused, timed out, transport error).
    /// After a CONNECT_ERROR the client does not retry (`willReconnect == false`).
    func socketDidFail(error: SocketIOError, willReconnect: Bool)
    /// Fires before reconnection attempt `attempt` (1, 2, …).
    func socketWillReconnect(attempt: Int)
    /// An EVENT or BINARY_EVENT. `ack` is non-nil when the server asked for an ack.
    func socketDidReceive(event: String, args: [JSONValue], ack: (([JSONValue]) -> Void)?)
}

/// What the realtime manager needs from a Socket.IO client.
public protocol SocketIOConnection: AnyObject {
    var delegate: SocketIOConnectionDelegate? { get set }
    var eventLoop: EventLoop { get }
    /// The socket id while connected, else nil.
    var sid: String? { get }
    var isConnected: Bool { get }
    /// Starts connecting (and reconnecting, per config) until `disconnect()`.
    func connect()
    /// Closes for good: no reconnection until `connect()` again.
    func disconnect()
    /// `disconnect()`, then `completion` (on the loop) once the transport is really closed:
    /// what was emitted before has left, the server has been told, and its answer drained.
    func disconnect(completion: @escaping () -> Void)
    /// Sends EVENT (or BINARY_EVENT when `args` hold binary). With `ack`, the server's
    /// ACK arguments are delivered to it; pending acks get an error when the connection
    /// drops. Throws `.notConnected` when not connected, `.payloadTooLarge` above the
    /// server's maxPayload.
    func emit(_ event: String, _ args: [JSONValue], ack: ((Result<[JSONValue], SocketIOError>) -> Void)?) throws(SocketIOError)
    /// Sends EVENT `[event, argument]` without an ack, `argument` writing the one argument's
    /// JSON text (valid JSON, no binary) into the packet being built. Throws like `emit`;
    /// `.notConnected` may come before or after `argument` is called.
    func emit(_ event: String, argumentText argument: (inout [UInt8]) -> Void) throws(SocketIOError)
}

extension SocketIOConnection {
    /// Through `emit(_:_:ack:)`, with the argument as `.raw` text.
    public func emit(_ event: String, argumentText argument: (inout [UInt8]) -> Void) throws(SocketIOError) {
        var text: [UInt8] = []
        argument(&text)
        try emit(event, [.raw(RawJSON(unchecked: text))], ack: nil)
    }

    /// For connections with nothing to wait for once `disconnect()` returns.
    public func disconnect(completion: @escaping () -> Void) {
        disconnect()
        completion()
    }
}
