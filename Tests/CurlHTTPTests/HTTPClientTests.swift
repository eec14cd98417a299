import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest
@testable import CurlHTTP

final class HTTPClientTests: XCTestCase {
    private var server: TestHTTPServer!
    private var group: MultiThreadedEventLoopGroup!
    private var client: HTTPClient!

    override func setUpWithError() throws {
        server = try TestHTTPServer()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        client = HTTPClient(threadCount: 4)
    }

    override func tearDownWithError() throws {
        client.shutdown()
        try group.syncShutdownGracefully()
        try server.stop()
    }

    private func run(_ request: HTTPRequest) throws -> HTTPResponse {
        try client.execute(request, on: group.next()).wait()
    }

    private func runExpectingError(_ request: HTTPRequest, file: StaticString = #filePath, line: UInt = #line) -> HTTPError? {
        do {
            let response = try run(request)
            XCTFail("expected an error, got status \(response.status)", file: file, line: line)
            return nil
        } catch let error as HTTPError {
            return error
        } catch {
            XCTFail("expected HTTPError, got \(error)", file: file, line: line)
            return nil
        }
    }

    private func header(_ response: HTTPResponse, _ name: String) -> String? {
        response.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func testGet() throws {
        let response = try run(HTTPRequest(url: server.base + "/hello", timeout: 20))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "hello")
        XCTAssertEqual(response.body, Array("hello".utf8))
        XCTAssertEqual(header(response, "Content-Type"), "text/plain")
        XCTAssertEqual(header(response, "Content-Length"), "5")
    }

    func testPostEchoesBodyBytes() throws {
        let body: [UInt8] = [0, 1, 2, 0xFF, 0x0D, 0x0A, 0] + Array("tail".utf8)
        let response = try run(HTTPRequest(url: server.base + "/echo", method: "POST", body: body, timeout: 20))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, body)
        XCTAssertEqual(header(response, "X-Method"), "POST")
    }

    func testEveryMethodIsSentAsGiven() throws {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let body = Array("body of \(method)".utf8)
            let response = try run(HTTPRequest(url: server.base + "/echo", method: method, body: body, timeout: 20))
            XCTAssertEqual(header(response, "X-Method"), method)
            XCTAssertEqual(response.body, body, method)
        }
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let response = try run(HTTPRequest(url: server.base + "/echo", method: method, timeout: 20))
            XCTAssertEqual(header(response, "X-Method"), method)
            XCTAssertEqual(response.body, [], method)
        }
        let lower = try run(HTTPRequest(url: server.base + "/echo", method: "patch", timeout: 20))
        XCTAssertEqual(header(lower, "X-Method"), "PATCH")
    }

    func testHeadHasHeadersButNoBody() throws {
        let response = try run(HTTPRequest(url: server.base + "/hello", method: "HEAD", timeout: 20))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, [])
        XCTAssertEqual(header(response, "Content-Length"), "5")
    }

    func testRequestHeadersReachServerInOrderAsNamed() throws {
        let sent = [("X-One", "1"), ("x-two", "two  words"), ("X-Empty", ""), ("X-One", "again"), ("Content-Type", "application/json")]
        // A body big enough that libcurl would ask for 100-continue unless told not to.
        let response = try run(HTTPRequest(url: server.base + "/headers", method: "POST", headers: sent,
                                           body: [UInt8](repeating: 0x20, count: 2 << 20), timeout: 20))
        let lines = response.bodyText.split(separator: "\n").map(String.init)
        let ours = lines.filter { line in sent.contains { line.hasPrefix($0.0 + ":") } }
        XCTAssertEqual(ours, ["X-One: 1", "x-two: two  words", "X-Empty: ", "X-One: again", "Content-Type: application/json"])
        XCTAssertFalse(lines.contains { $0.lowercased().hasPrefix("expect:") }, "\(lines)")
        XCTAssertTrue(lines.contains("User-Agent: rtlua"), "\(lines)")
    }

    func testResponseHeadersInOrderAsNamed() throws {
        let response = try run(HTTPRequest(url: server.base + "/multi", timeout: 20))
        let ours = response.headers.filter { $0.0.lowercased() != "content-length" }
        XCTAssertEqual(ours.map { "\($0.0)=\($0.1)" }, ["Set-Cookie=a=1", "X-Mixed-Case=Yes", "Set-Cookie=b=2", "x-lower=v", "X-Empty="])
    }

    func testNotFoundIsAResponseNotAnError() throws {
        let response = try run(HTTPRequest(url: server.base + "/status/404", timeout: 20))
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(response.bodyText, "not here")
    }

    func testTimeoutGivesHTTPError() throws {
        let error = runExpectingError(HTTPRequest(url: server.base + "/slow", timeout: 0.3))
        XCTAssertEqual(error?.curlCode, 28)
        XCTAssertTrue(error?.message.contains("timed out") ?? false, "\(String(describing: error))")
    }

    func testConnectionRefusedGivesHTTPError() throws {
        // A port that was just listening and is now closed.
        let probe = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = probe.localAddress!.port!
        try probe.close().wait()
        let error = runExpectingError(HTTPRequest(url: "http://127.0.0.1:\(port)/", timeout: 20))
        XCTAssertEqual(error?.curlCode, 7)
        XCTAssertTrue(error?.message.hasPrefix("curl: ") ?? false)
        XCTAssertTrue(error?.message.contains("\(port)") ?? false, "curl's own message names the port: \(String(describing: error))")
        XCTAssertEqual(error?.description, error?.message)
    }

    func testCompletesOnTheGivenLoop() throws {
        let loops = [group.next(), group.next()]
        XCTAssertFalse(loops[0] === loops[1])
        for loop in loops {
            for url in [server.base + "/hello", "http://127.0.0.1:1/"] {
                let future = client.execute(HTTPRequest(url: url, timeout: 20), on: loop)
                XCTAssertTrue(future.eventLoop === loop)
                let onLoop = try future.map { _ in loop.inEventLoop }.recover { _ in loop.inEventLoop }.wait()
                XCTAssertTrue(onLoop, url)
            }
        }
    }

    func testManyConcurrentRequests() throws {
        let count = 100
        let futures = (0..<count).map { i in
            client.execute(HTTPRequest(url: server.base + "/echo", method: "POST", body: Array("request \(i)".utf8), timeout: 30),
                           on: group.next())
        }
        for (i, future) in futures.enumerated() {
            let response = try future.wait()
            XCTAssertEqual(response.bodyText, "request \(i)")
        }
    }

    func testRedirectsAreFollowedUpToFive() throws {
        let response = try run(HTTPRequest(url: server.base + "/redirect/5", timeout: 20))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "landed")
        XCTAssertEqual(header(response, "X-Final"), "yes")
        XCTAssertNil(header(response, "Location"), "only the final response's headers")
        XCTAssertNil(header(response, "X-Hop"))

        let tooMany = runExpectingError(HTTPRequest(url: server.base + "/redirect/6", timeout: 20))
        XCTAssertEqual(tooMany?.curlCode, 47)
        let loop = runExpectingError(HTTPRequest(url: server.base + "/loop", timeout: 20))
        XCTAssertEqual(loop?.curlCode, 47)
    }

    func testLargeBodiesBothWays() throws {
        let big = try run(HTTPRequest(url: server.base + "/big", timeout: 30))
        XCTAssertEqual(big.body, TestHTTPServer.bigBody)
        let upload = [UInt8](repeating: 0x5A, count: 3 << 20)
        let echo = try run(HTTPRequest(url: server.base + "/echo", method: "PUT", body: upload, timeout: 30))
        XCTAssertEqual(echo.body.count, upload.count)
        XCTAssertEqual(echo.body, upload)
    }

    func testBadRequestsAreRefusedWithClearErrors() {
        let url = server.base + "/echo"
        let cases: [(HTTPRequest, String, Int, UInt)] = [
            (HTTPRequest(url: url, headers: [("Bad Name", "x")]), "invalid header name 'Bad Name'", -1, #line),
            (HTTPRequest(url: url, headers: [("", "x")]), "invalid header name ''", -1, #line),
            (HTTPRequest(url: url, headers: [("X-A", "1\r\nX-B: 2")]), "invalid value for header 'X-A' (contains CR, LF or NUL)", -1, #line),
            (HTTPRequest(url: url, method: "GE T"), "invalid HTTP method 'GE T'", -1, #line),
            (HTTPRequest(url: url, method: ""), "invalid HTTP method ''", -1, #line),
            (HTTPRequest(url: url, method: "HEAD", body: [1]), "a HEAD request cannot have a body", -1, #line),
            (HTTPRequest(url: url, timeout: 0), "timeout must be a positive number of seconds, got 0.0", -1, #line),
            (HTTPRequest(url: url, timeout: -1), "timeout must be a positive number of seconds, got -1.0", -1, #line),
            (HTTPRequest(url: url, timeout: .nan), "timeout must be a positive number of seconds, got nan", -1, #line),
            (HTTPRequest(url: "http://127.0.0.1/\u{0}x"), "URL contains a NUL byte", -1, #line),
        ]
        for (request, message, code, line) in cases {
            let error = runExpectingError(request, line: line)
            XCTAssertEqual(error?.message, message, line: line)
            XCTAssertEqual(error?.curlCode, code, line: line)
        }
        // Refused by libcurl itself: only http and https, and the URL must parse.
        XCTAssertEqual(runExpectingError(HTTPRequest(url: "file:///etc/hostname"))?.curlCode, 1)
        XCTAssertEqual(runExpectingError(HTTPRequest(url: "ftp://127.0.0.1/"))?.curlCode, 1)
        XCTAssertEqual(runExpectingError(HTTPRequest(url: "http://exa mple/"))?.curlCode, 3)
        XCTAssertEqual(runExpectingError(HTTPRequest(url: ""))?.curlCode, 3)
    }

    func testShutdownFailsLaterRequests() throws {
        let other = HTTPClient(threadCount: 1)
        XCTAssertEqual(try other.execute(HTTPRequest(url: server.base + "/hello", timeout: 20), on: group.next()).wait().status, 200)
        other.shutdown()
        other.shutdown()
        XCTAssertThrowsError(try other.execute(HTTPRequest(url: server.base + "/hello", timeout: 20), on: group.next()).wait()) {
            XCTAssertEqual(($0 as? HTTPError)?.message, "HTTP client is shut down")
        }
    }

    func testSharedClientIsOneAndSurvivesShutdown() throws {
        XCTAssertTrue(HTTPClient.shared === HTTPClient.shared)
        HTTPClient.shared.shutdown()
        let response = try HTTPClient.shared.execute(HTTPRequest(url: server.base + "/hello", timeout: 20), on: group.next()).wait()
        XCTAssertEqual(response.bodyText, "hello")
    }
}
