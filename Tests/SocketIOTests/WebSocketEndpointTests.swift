import XCTest
@testable import SocketIO

final class WebSocketEndpointTests: XCTestCase {
    func testHTTPBaseURLBecomesSocketIOPathOnWebSocket() throws {
        let e = try WebSocketEndpoint(url: "http://127.0.0.1:8080")
        XCTAssertFalse(e.tls)
        XCTAssertEqual(e.host, "127.0.0.1")
        XCTAssertEqual(e.port, 8080)
        XCTAssertEqual(e.requestURI, "/socket.io/?EIO=4&transport=websocket")
        XCTAssertEqual(e.hostHeader, "127.0.0.1:8080")
    }

    func testSecureSchemesUseTLSAndDefaultPort() throws {
        for url in ["https://realtime.c1.altogic.com/", "wss://realtime.c1.altogic.com"] {
            let e = try WebSocketEndpoint(url: url)
            XCTAssertTrue(e.tls)
            XCTAssertEqual(e.port, 443)
            XCTAssertEqual(e.hostHeader, "realtime.c1.altogic.com")
            XCTAssertEqual(e.requestURI, "/socket.io/?EIO=4&transport=websocket")
        }
    }

    func testExplicitPathAndQueryAreKeptAndCompleted() throws {
        XCTAssertEqual(try WebSocketEndpoint(url: "ws://h:1/raw/?mode=x").requestURI, "/raw/?mode=x&EIO=4&transport=websocket")
        XCTAssertEqual(try WebSocketEndpoint(url: "ws://h/p?EIO=4&transport=websocket#frag").requestURI, "/p?EIO=4&transport=websocket")
        let v6 = try WebSocketEndpoint(url: "ws://[::1]:9000")
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(v6.hostHeader, "[::1]:9000")
    }

    func testBadURLsAreClearErrors() {
        for url in ["127.0.0.1:80", "ftp://h", "ws://", "ws://h:0", "ws://h:99999", "ws://h:x", "ws://[::1"] {
            XCTAssertThrowsError(try WebSocketEndpoint(url: url), url) { error in
                XCTAssertEqual((error as? SocketIOError)?.kind, .invalidArgument, url)
                XCTAssertTrue((error as? SocketIOError)?.message.contains(url) ?? false)
            }
        }
    }
}
