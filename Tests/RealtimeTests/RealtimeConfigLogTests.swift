import XCTest

@testable import Realtime

/// The members base when only a realtime URL is given, URL checks that name their option,
/// and the redacted debug description of an endpoint (issue #11).
final class RealtimeConfigLogTests: XCTestCase {
    func testMembersBaseIsTheBaseURLOrTheRealtimeURLsHostOverHTTP() throws {
        XCTAssertEqual(RealtimeConfig(baseURL: "https://app.example.com/api").membersBaseURL, "https://app.example.com/api")
        XCTAssertEqual(RealtimeConfig(baseURL: "", realtimeURL: "ws://127.0.0.1:8080/socket.io").membersBaseURL, "http://127.0.0.1:8080")
        XCTAssertEqual(RealtimeConfig(baseURL: "", realtimeURL: "wss://rt.example.com").membersBaseURL, "https://rt.example.com")
        // The base URL wins when both are given.
        XCTAssertEqual(RealtimeConfig(baseURL: "http://a:1", realtimeURL: "ws://b:2").membersBaseURL, "http://a:1")

        let request = try MembersRequest.make(config: RealtimeConfig(baseURL: "", realtimeURL: "ws://127.0.0.1:9/x"), channel: "c")
        XCTAssertEqual(request.url, "http://127.0.0.1:9/_api/rest/v1/realtime/get-members")
        XCTAssertTrue(MembersRequest.hasHTTPBase(RealtimeConfig(baseURL: "", realtimeURL: "wss://rt.example.com")))
    }

    func testURLCheckNamesTheOption() {
        XCTAssertNoThrow(try RealtimeEndpoint.check(url: "http://127.0.0.1:1", argument: "--url"))
        XCTAssertThrowsError(try RealtimeEndpoint.check(url: "localhost:80", argument: "--url")) {
            XCTAssertEqual(($0 as? RealtimeError)?.message, "--url must be an http(s) or ws(s) URL (no scheme): 'localhost:80'")
        }
        XCTAssertThrowsError(try RealtimeEndpoint.check(url: "ws://h:x", argument: "--realtime-url")) {
            XCTAssertEqual(($0 as? RealtimeError)?.message, "--realtime-url must be an http(s) or ws(s) URL (bad port): 'ws://h:x'")
        }
    }

    func testDescriptionRedactsSecrets() throws {
        var config = RealtimeConfig(baseURL: "https://myapp.c1.altogic.com", clientKey: "0123456789abcdef", session: "short")
        config.options.echoMessages = false
        let endpoint = try RealtimeEndpoint.derive(baseURL: config.baseURL, realtimeURL: nil)
        let text = RealtimeManager.describe(config: config, endpoint: endpoint)
        XCTAssertEqual(text, "endpoint wss://realtime.c1.altogic.com (derived from https://myapp.c1.altogic.com); "
            + "auth echoMessages=false, subdomain=myapp, clientKey=0123… (16 chars), Session=… (5 chars); "
            + "members via https://myapp.c1.altogic.com")
        XCTAssertFalse(text.contains("0123456789abcdef"))
    }
}
