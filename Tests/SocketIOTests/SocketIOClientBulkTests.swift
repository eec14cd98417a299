import Foundation
import NIOCore
import NIOPosix
import RTJSON
import XCTest
@testable import SocketIO

/// Many small messages through the client and back: every one arrives, in order. Bounded in
/// count; prints the rate for the curious but asserts nothing about time.
final class SocketIOClientBulkTests: XCTestCase {
    final class Counter: SocketIOConnectionDelegate, @unchecked Sendable {
        // Touched only on the client's loop.
        var expected: Int64 = 0
        var outOfOrder = 0
        let done: EventLoopPromise<Void>
        let connected: EventLoopPromise<Void>
        let total: Int64

        init(loop: EventLoop, total: Int64) {
            done = loop.makePromise()
            connected = loop.makePromise()
            self.total = total
        }

        func socketDidConnect(sid: String) { connected.succeed() }
        func socketDidDisconnect(reason: String, willReconnect: Bool) {
            done.fail(SocketIOError(.transport, "disconnected: \(reason)"))
        }
        func socketDidFail(error: SocketIOError, willReconnect: Bool) { connected.fail(error) }
        func socketWillReconnect(attempt: Int) {}
        func socketDidReceive(event: String, args: [JSONValue], ack: (([JSONValue]) -> Void)?) {
            if args.first?.int64Value != expected { outOfOrder += 1 }
            expected += 1
            if expected == total { done.succeed() }
        }
    }

    func testManySmallEventsEchoInOrder() throws {
        let server = try MiniEngineServer()
        defer { server.shutdown() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        #if DEBUG
        let total: Int64 = 20_000  // unoptimised NIO is ~20x slower; keep the test to seconds
        #else
        let total: Int64 = 200_000
        #endif
        let counter = Counter(loop: loop, total: total)
        let client = SocketIOClient(config: SocketIOClientConfig(url: server.url), eventLoop: loop)
        try loop.submit {
            client.delegate = counter
            client.connect()
        }.wait()
        try counter.connected.futureResult.wait()

        let start = DispatchTime.now()
        // Emit in slices so the loop also gets to read the echoes meanwhile.
        @Sendable func emitSlice(from: Int64) {
            let end = min(from + 2000, total)
            do {
                for i in from..<end { try client.emit("tick", [.integer(i), "payload"], ack: nil) }
            } catch {
                counter.done.fail(error)
                return
            }
            if end < total { loop.execute { emitSlice(from: end) } }
        }
        loop.execute { emitSlice(from: 0) }

        let deadline = loop.scheduleTask(in: .seconds(120)) {
            counter.done.fail(SocketIOError(.timeout, "bulk echo did not finish"))
        }
        try counter.done.futureResult.wait()
        deadline.cancel()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        print("bulk: \(total) events out and back in \(String(format: "%.2f", seconds)) s (\(Int(Double(total) / seconds))/s)")
        XCTAssertEqual(try loop.submit { counter.outOfOrder }.wait(), 0)
        try loop.submit { client.disconnect() }.wait()
    }
}
