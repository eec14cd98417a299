import Foundation
import NIOCore
import NIOPosix
import RTJSON
import XCTest
@testable import SocketIO

/// What a SocketIOClient told its delegate (and its ack callbacks), in order.
enum Recorded: Equatable {
    case connect(sid: String)
    case disconnect(reason: String, willReconnect: Bool)
    case fail(SocketIOError, willReconnect: Bool)
    case willReconnect(attempt: Int)
    case event(String, [JSONValue], askedForAck: Bool)
    case ack(tag: String, Result<[JSONValue], SocketIOError>)
}

/// A client on its own event loop with a recording delegate. Tests talk to the client
/// through `onLoop` and wait for recorded conditions with generous timeouts.
final class ClientHarness: SocketIOConnectionDelegate, @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var loop: EventLoop { group.next() }
    private(set) var client: SocketIOClient!
    /// Runs on the loop for every event, e.g. to answer the server's ack request.
    var onEvent: ((String, [JSONValue], (([JSONValue]) -> Void)?) -> Void)?

    private let cond = NSCondition()
    private var log: [Recorded] = []

    init(config: SocketIOClientConfig) {
        client = SocketIOClient(config: config, eventLoop: group.next())
        client.delegate = self
    }

    static func config(url: String, key: String = "good") -> SocketIOClientConfig {
        var c = SocketIOClientConfig(url: url, auth: ["key": .string(key)])
        c.reconnectionDelay = 100
        c.reconnectionDelayMax = 400
        c.timeout = 10_000
        return c
    }

    func shutdown() {
        try? onLoop { $0.disconnect() }
        try? group.syncShutdownGracefully()
    }

    @discardableResult
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (SocketIOClient) throws -> T) throws -> T {
        let client = self.client!
        return try loop.submit { try body(client) }.wait()
    }

    func emit(_ event: String, _ args: [JSONValue], ackTag: String? = nil) throws {
        try onLoop { client in
            try client.emit(event, args, ack: ackTag.map { tag in { [self] result in self.record(.ack(tag: tag, result)) } })
        }
    }

    var events: [Recorded] {
        cond.lock()
        defer { cond.unlock() }
        return log
    }

    private func record(_ r: Recorded) {
        cond.lock()
        log.append(r)
        cond.broadcast()
        cond.unlock()
    }

    /// Waits until `match` finds something in the log; fails the test after `seconds`.
    @discardableResult
    func waitFor<T>(_ what: String, seconds: Double = 30, file: StaticString = #filePath, line: UInt = #line,
                    _ match: ([Recorded]) -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        cond.lock()
        defer { cond.unlock() }
        while true {
            if let found = match(log) { return found }
            if !cond.wait(until: deadline) {
                if let found = match(log) { return found }
                XCTFail("timed out waiting for \(what); recorded: \(log)", file: file, line: line)
                throw CancellationError()
            }
        }
    }

    func waitForConnect(count: Int = 1, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try waitFor("connect #\(count)", file: file, line: line) { log in
            let sids = log.compactMap { r -> String? in if case .connect(let sid) = r { return sid } else { return nil } }
            return sids.count >= count ? sids[count - 1] : nil
        }
    }

    func waitForEvent(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [JSONValue] {
        try waitFor("event \(name)", file: file, line: line) { log in
            log.lazy.compactMap { r -> [JSONValue]? in
                if case .event(name, let args, _) = r { return args } else { return nil }
            }.first
        }
    }

    func waitForAck(_ tag: String, file: StaticString = #filePath, line: UInt = #line) throws -> Result<[JSONValue], SocketIOError> {
        try waitFor("ack \(tag)", file: file, line: line) { log in
            log.lazy.compactMap { r -> Result<[JSONValue], SocketIOError>? in
                if case .ack(tag, let result) = r { return result } else { return nil }
            }.first
        }
    }

    // MARK: SocketIOConnectionDelegate (called on the loop)

    func socketDidConnect(sid: String) { record(.connect(sid: sid)) }
    func socketDidDisconnect(reason: String, willReconnect: Bool) { record(.disconnect(reason: reason, willReconnect: willReconnect)) }
    func socketDidFail(error: SocketIOError, willReconnect: Bool) { record(.fail(error, willReconnect: willReconnect)) }
    func socketWillReconnect(attempt: Int) { record(.willReconnect(attempt: attempt)) }
    func socketDidReceive(event: String, args: [JSONValue], ack: (([JSONValue]) -> Void)?) {
        record(.event(event, args, askedForAck: ack != nil))
        onEvent?(event, args, ack)
    }
}
