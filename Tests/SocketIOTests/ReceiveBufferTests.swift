import NIOCore
import NIOPosix
import XCTest
@testable import SocketIO

/// The client channel's receive buffers: small for an idle connection, growing for bursts.
final class ReceiveBufferTests: XCTestCase {
    final class NullSink: WebSocketTransportSink, @unchecked Sendable {
        func transportReceivedText(_ data: ByteBuffer, epoch: UInt64) {}
        func transportReceivedBinary(_ data: ByteBuffer, epoch: UInt64) {}
        func transportClosed(reason: String, epoch: UInt64) {}
    }

    func testClientChannelStartsWithASmallAdaptiveReceiveBuffer() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let server = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let endpoint = try WebSocketEndpoint(url: "ws://127.0.0.1:\(server.localAddress!.port!)/socket.io/")
        let channel = try WebSocketConnector.connect(endpoint: endpoint, headers: [], tls: nil, connectTimeout: .seconds(5),
                                                     eventLoop: group.next(), sink: NullSink(), outlet: MaskedFrameOutlet(), epoch: 1).wait()
        defer { try? channel.close().wait() }
        let allocator = try XCTUnwrap(channel.getOption(.recvAllocator).wait() as? AdaptiveRecvByteBufferAllocator)
        XCTAssertEqual(allocator.initial, 512)
        XCTAssertEqual(allocator.maximum, 65536)
        XCTAssertEqual(allocator.nextBufferSize(), 512)
    }
}
