import Foundation
import NIOCore
import NIOPosix
import RTJSON
import XCTest

@testable import Realtime

/// A real RealtimeManager on its own event loop, recording everything it hears, for the
/// interop tests. All manager calls hop onto the loop; waits poll a condition with a deadline.
final class LiveManager: @unchecked Sendable {  // `manager` and `log` are touched only on `loop`
    let loop: EventLoop
    let manager: RealtimeManager
    /// Everything heard, in order: "connect", "disconnect:<reason>", "error:<message>",
    /// "attempt:<n>", and for events (name, data).
    private(set) var events: [(String, EventData)] = []
    private(set) var lifecycle: [String] = []
    private(set) var errors: [RealtimeError] = []
    private(set) var userEvents: [(String, JSONValue)] = []

    init(loop: EventLoop, config: RealtimeConfig) throws {
        self.loop = loop
        self.manager = try loop.submit { try RealtimeManager(config: config, eventLoop: loop) }.wait()
        try onLoop {
            self.manager.onAny { [unowned self] name, data in events.append((name, data)) }
            self.manager.onConnect { [unowned self] in lifecycle.append("connect") }
            self.manager.onDisconnect { [unowned self] _ in lifecycle.append("disconnect") }
            self.manager.onError { [unowned self] in
                lifecycle.append("error")
                errors.append($0)
            }
            self.manager.onReconnectAttempt { [unowned self] in lifecycle.append("attempt:\($0)") }
            self.manager.onUserEvent { [unowned self] in userEvents.append(($0, $1)) }
        }
    }

    @discardableResult
    func onLoop<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = UncheckedBox<(body: () throws -> T, result: T?)>((body, nil))
        try loop.submit { box.value.result = try box.value.body() }.wait()
        return box.value.result!
    }

    /// Waits until `condition` (evaluated on the loop) holds, failing after `timeout` seconds.
    func wait(_ what: String, timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line,
              until condition: @escaping (LiveManager) -> Bool) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if try onLoop({ condition(self) }) { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("timed out after \(timeout)s waiting for \(what); heard \(try onLoop { self.describe() })", file: file, line: line)
        throw PeerError("timed out waiting for \(what)")
    }

    func connect() throws {
        try onLoop { self.manager.open() }
        try wait("connect") { $0.manager.isConnected() }
    }

    var socketId: String { (try? onLoop { self.manager.getSocketId() }) .flatMap { $0 } ?? "" }

    func received(_ name: String) -> [EventData] {
        events.filter { $0.0 == name }.map(\.1)
    }

    /// Closes and waits (bounded) until the connection is down.
    func close() {
        let closed = loop.makePromise(of: Void.self)
        _ = try? onLoop { self.manager.close { closed.succeed(()) } }
        _ = try? closed.futureResult.wait()
    }

    private func describe() -> String {
        "lifecycle \(lifecycle), events \(events.map { "\($0.0) \($0.1.channel ?? "-") \($0.1.message)" }), user \(userEvents)"
    }
}

final class UncheckedBox<T>: @unchecked Sendable {  // written on the loop, read after the future completes
    var value: T
    init(_ value: T) { self.value = value }
}
