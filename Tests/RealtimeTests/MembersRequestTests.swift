import RTJSON
import XCTest

@testable import Realtime

/// PROTOCOL.md §5 without a network: the request we build and how answers become results.
final class MembersRequestTests: XCTestCase {
    func testRequestCarriesKeySessionAndChannel() throws {
        let config = RealtimeConfig(baseURL: "https://myapp.c1.altogic.com/", clientKey: "ck", session: "tok")
        let request = try MembersRequest.make(config: config, channel: "room")
        XCTAssertEqual(request.url, "https://myapp.c1.altogic.com/_api/rest/v1/realtime/get-members")
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.headers.first { $0.0 == "X-Client-Key" }?.1, "ck")
        XCTAssertNil(request.headers.first { $0.0 == "Authorization" }, "Authorization is the apiKey's, not the client key's")
        XCTAssertEqual(request.headers.first { $0.0 == "Session" }?.1, "tok")
        XCTAssertEqual(request.headers.first { $0.0 == "Content-Type" }?.1, "application/json")
        XCTAssertEqual(try JSONValue.parse(request.body ?? []), ["channel": "room"])

        let env = try MembersRequest.make(config: RealtimeConfig(baseURL: "https://c1.altogic.com/e:E1"), channel: "c")
        XCTAssertEqual(env.url, "https://c1.altogic.com/e:E1/_api/rest/v1/realtime/get-members")
        XCTAssertNil(env.headers.first { $0.0 == "X-Client-Key" || $0.0 == "Session" })
    }

    func testRequestNeedsAnHTTPBase() {
        XCTAssertThrowsError(try MembersRequest.make(config: RealtimeConfig(baseURL: "ws://127.0.0.1:1"), channel: "c")) {
            XCTAssertEqual(($0 as? RealtimeError)?.message, "baseURL must be an http(s) URL for getMembers: 'ws://127.0.0.1:1'")
        }
    }

    func testOKArrayIsTheMembers() {
        let body = Array(#"[{"id":"s1","data":{"n":1}},{"id":"s2","data":null}]"#.utf8)
        XCTAssertEqual(try MembersRequest.result(status: 200, body: body).get(), [["id": "s1", "data": ["n": 1]], ["id": "s2", "data": .null]])
        XCTAssertEqual(try MembersRequest.result(status: 200, body: Array("[]".utf8)).get(), [])
    }

    func testAltogicErrorBodyIsKeptAsTheErrorValue() {
        let text = #"{"status":401,"statusText":"Unauthorized","items":[{"origin":"client_error","code":"invalid_client_key","message":"Invalid client key"}]}"#
        let result = MembersRequest.result(status: 401, body: Array(text.utf8))
        XCTAssertEqual(result, .failure(RealtimeError(message: "Invalid client key", code: "invalid_client_key", value: try! JSONValue.parse(text))))
    }

    func testOtherFailuresGetTheAltogicShape() {
        guard case .failure(let error) = MembersRequest.result(status: 502, body: Array("<html>bad gateway</html>".utf8)) else {
            return XCTFail("502 must fail")
        }
        XCTAssertEqual(error.code, "http_error")
        XCTAssertEqual(error.value["status"], 502)
        XCTAssertEqual(error.value["statusText"], "Bad Gateway")
        XCTAssertEqual(error.value["items"]?.arrayValue?.first?["code"], "http_error")

        guard case .failure(let odd) = MembersRequest.result(status: 200, body: Array(#"{"not":"an array"}"#.utf8)) else {
            return XCTFail("a 200 that is not an array must fail")
        }
        XCTAssertEqual(odd.code, "invalid_response")
    }
}
