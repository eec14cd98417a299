import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import XCTest
@testable import LuaHost

/// The `http` global against a real loopback server: the coroutine waits, others go on.
final class HTTPTests: XCTestCase {
    var server: EchoServer!

    override func setUpWithError() throws { server = try EchoServer() }
    override func tearDownWithError() throws { try server.stop() }

    func testGetResumesTheCoroutineWithTheResponse() throws {
        let run = try runScript("""
        timer.after(0, function() print("meanwhile") end)
        local r = http.get("\(server.base)/echo", {["X-Test"] = "1"})
        print(r.status, r.headers["content-type"])
        local body = json.decode(r.body)
        print(body.method, body.test)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["meanwhile", "200\tapplication/json", "GET\t1"])
    }

    func testTableBodyIsSentAsJSONWithContentType() throws {
        let run = try runScript("""
        local r = http.post("\(server.base)/echo", {n = 1, list = json.array()})
        local echoed = json.decode(r.body)
        print(echoed.method, echoed.contentType, echoed.body)
        local r2 = http.request{method = "put", url = "\(server.base)/echo", body = "raw", headers = {["Content-Type"] = "text/plain"}}
        echoed = json.decode(r2.body)
        print(echoed.method, echoed.contentType, echoed.body)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["POST\tapplication/json\t{\"list\":[],\"n\":1}", "PUT\ttext/plain\traw"])
    }

    func testStatusCodesAreResponsesAndTransportFailuresAreNilErr() throws {
        let run = try runScript("""
        local r = http.get("\(server.base)/missing")
        print(r.status, r.body)
        local none, err = http.request{url = "http://127.0.0.1:1/", timeout = 5}
        print(none, type(err), #err > 0)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["404\tnot here", "nil\tstring\ttrue"])
    }

    func testBadRequestArgumentsNameTheField() throws {
        let run = try runScript("""
        print(select(2, pcall(http.request, {method = "GET"})))
        print(select(2, pcall(http.post, "http://127.0.0.1:1/", print)))
        """)
        XCTAssertEqual(run.lines, [
            "bad argument #1 to 'http.request' (field 'url' must be a string, got nil)",
            "bad argument #2 to 'http.post' (body must be a string or a table, got function)",
        ])
    }

    func testAPendingRequestKeepsTheScriptAlive() throws {
        let run = try runScript("""
        timer.after(0, function()
          local r = http.get("\(server.base)/echo")
          print("got", r.status)
        end)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["got\t200"])
    }
}

/// /echo answers JSON {method, body, contentType, test (X-Test header)}; the members REST
/// endpoint answers for channel "room"; /bytes/N answers N bytes; anything else 404.
final class EchoServer: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let channel: Channel
    var base: String { "http://127.0.0.1:\(channel.localAddress!.port!)" }

    init() throws {
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() throws {
        try channel.close().wait()
        try group.syncShutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                var status = HTTPResponseStatus.ok
                var text: String
                var contentType = "application/json"
                if head.uri == "/echo" {
                    let v: JSONValueShim = [
                        "method": head.method.rawValue,
                        "body": String(decoding: body, as: UTF8.self),
                        "contentType": head.headers.first(name: "content-type") ?? "",
                        "test": head.headers.first(name: "x-test") ?? "",
                    ]
                    text = v.json
                } else if head.uri == "/_api/rest/v1/realtime/get-members" {
                    // PROTOCOL.md §5, just enough: channel "room" has one member, no channel is a 400.
                    let request = String(decoding: body, as: UTF8.self)
                    if request.contains("\"room\"") {
                        text = #"[{"id":"member-1","data":{"name":"ann"}}]"#
                    } else if request.contains("\"channel\"") {
                        text = "[]"
                    } else {
                        status = .badRequest
                        text = #"{"status":400,"statusText":"Bad Request","items":[{"origin":"client_error","code":"missing_required_field","message":"channel is required"}]}"#
                    }
                } else if head.uri.hasPrefix("/bytes/"), let n = Int(head.uri.dropFirst(7)) {
                    text = String(repeating: "x", count: n)  // a body of n bytes
                    contentType = "text/plain"
                } else {
                    status = .notFound
                    text = "not here"
                    contentType = "text/plain"
                }
                var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(text.utf8.count))])
                headers.add(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

/// A string-only JSON object for the echo server's answers.
struct JSONValueShim: ExpressibleByDictionaryLiteral {
    var pairs: [(String, String)]
    init(dictionaryLiteral elements: (String, String)...) { pairs = elements }
    var json: String {
        "{" + pairs.map { "\"\($0.0)\":\"\($0.1.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" }.joined(separator: ",") + "}"
    }
}
