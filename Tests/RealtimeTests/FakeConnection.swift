import NIOCore
import RTJSON
import SocketIO

@testable import Realtime

/// A scripted `SocketIOConnection`: records every emit and lets a test play the server's
/// side of the delegate calls.
final class FakeConnection: SocketIOConnection {
    weak var delegate: SocketIOConnectionDelegate?
    let eventLoop: EventLoop
    private(set) var sid: String?
    var isConnected: Bool { sid != nil }
    private(set) var connectCalls = 0
    private(set) var disconnectCalls = 0
    /// What was emitted, in order, while connected.
    private(set) var sent: [OutboundEmit] = []
    /// Makes the next emits throw this error.
    var failNextEmit: SocketIOError?
    /// Emits that asked for an ack, with their ack callbacks.
    private(set) var awaitingAck: [(emit: OutboundEmit, ack: (Result<[JSONValue], SocketIOError>) -> Void)] = []

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    func connect() { connectCalls += 1 }

    func disconnect() {
        disconnectCalls += 1
        let wasConnected = sid != nil
        sid = nil
        if wasConnected { delegate?.socketDidDisconnect(reason: "io client disconnect", willReconnect: false) }
    }

    /// disconnect(completion:) callers waiting for the transport to be closed.
    private(set) var closeWaiters: [() -> Void] = []

    func disconnect(completion: @escaping () -> Void) {
        disconnect()
        closeWaiters.append(completion)
    }

    /// The Engine.IO frame text of every emit sent, in order (what the real client writes).
    private(set) var frames: [String] = []
    /// How many of the emits sent came through `emit(_:argumentText:)`.
    private(set) var textEmits = 0

    func emit(_ event: String, argumentText argument: (inout [UInt8]) -> Void) throws(SocketIOError) {
        try checkEmit()
        var frame: [UInt8] = []
        SocketPacketEncoder.writeEventFrame(event, into: &frame, argument: argument)
        frames.append(String(decoding: frame, as: UTF8.self))
        textEmits += 1
        var text: [UInt8] = []
        argument(&text)
        sent.append(OutboundEmit(event: event, payload: .raw(RawJSON(unchecked: text))))
    }

    private func checkEmit() throws(SocketIOError) {
        if let error = failNextEmit {
            failNextEmit = nil
            throw error
        }
        guard sid != nil else { throw SocketIOError(.notConnected, "not connected") }
    }

    func emit(_ event: String, _ args: [JSONValue], ack: ((Result<[JSONValue], SocketIOError>) -> Void)?) throws(SocketIOError) {
        try checkEmit()
        precondition(args.count == 1, "the manager always emits one payload argument")
        if ack == nil, let encoded = try? SocketPacketEncoder.encode(.event(event, args)) { frames.append(encoded.engineText) }
        if let ack {
            awaitingAck.append((OutboundEmit(event: event, payload: args[0]), ack))
        } else {
            sent.append(OutboundEmit(event: event, payload: args[0]))
        }
    }

    // MARK: The server's side

    func serverAccepts(sid: String = "sid-1") {
        self.sid = sid
        delegate?.socketDidConnect(sid: sid)
    }

    /// The transport of a disconnect() is closed at last (the server answered the close).
    func transportClosed() {
        let waiters = closeWaiters
        closeWaiters = []
        for waiter in waiters { waiter() }
    }

    func transportDrops(reason: String = "transport close") {
        sid = nil
        delegate?.socketDidDisconnect(reason: reason, willReconnect: true)
        let acks = awaitingAck
        awaitingAck = []
        for pending in acks { pending.ack(.failure(SocketIOError(.notConnected, "connection closed before the ack arrived"))) }
    }

    func serverDelivers(_ event: String, _ args: [JSONValue]) {
        delegate?.socketDidReceive(event: event, args: args, ack: nil)
    }

    /// The server answers the oldest pending ack.
    func serverAcks(_ args: [JSONValue] = [[]]) {
        awaitingAck.removeFirst().ack(.success(args))
    }

    func takeSent() -> [OutboundEmit] {
        defer { sent = [] }
        return sent
    }
}

/// The payloads a test expects on the wire.
enum Wire {
    static func message(_ eventName: String, _ message: JSONValue, channel: String? = nil, echo: Bool? = nil) -> OutboundEmit {
        var p: [String: JSONValue] = ["eventName": .string(eventName), "message": message]
        if let channel { p["channel"] = .string(channel) }
        if let echo { p["echo"] = .bool(echo) }
        return OutboundEmit(event: "message", payload: .object(p))
    }

    static func join(_ channel: String, echo: Bool? = nil) -> OutboundEmit {
        var p: [String: JSONValue] = ["channel": .string(channel)]
        if let echo { p["echo"] = .bool(echo) }
        return OutboundEmit(event: "join", payload: .object(p))
    }

    static func leave(_ channel: String, echo: Bool? = nil) -> OutboundEmit {
        var p: [String: JSONValue] = ["channel": .string(channel)]
        if let echo { p["echo"] = .bool(echo) }
        return OutboundEmit(event: "leave", payload: .object(p))
    }

    static func update(_ data: JSONValue, echo: Bool? = nil) -> OutboundEmit {
        var p: [String: JSONValue] = ["data": data]
        if let echo { p["echo"] = .bool(echo) }
        return OutboundEmit(event: "update", payload: .object(p))
    }

    static func delivered(_ channel: String?, _ message: JSONValue) -> [JSONValue] {
        [["channel": channel.map { .string($0) } ?? .null, "message": message]]
    }
}
