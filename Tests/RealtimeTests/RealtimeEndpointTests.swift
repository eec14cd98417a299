import NIOEmbedded
import RTJSON
import XCTest

@testable import Realtime

final class RealtimeEndpointTests: XCTestCase {
    func testDerivationTable() throws {
        // (baseURL, realtimeURL, expected url, subdomain, envId)
        let table: [(String, String?, String, String?, String?)] = [
            ("https://myapp.c1-na.altogic.com", nil, "wss://realtime.c1-na.altogic.com", "myapp", nil),
            ("https://myapp.c1-na.altogic.com/", nil, "wss://realtime.c1-na.altogic.com", "myapp", nil),
            ("https://myapp.c1-na.altogic.com/some/path?x=1", nil, "wss://realtime.c1-na.altogic.com", "myapp", nil),
            ("HTTPS://MyApp.C1-NA.Altogic.com", nil, "wss://realtime.c1-na.altogic.com", "myapp", nil),
            ("https://c1-na.altogic.com/e:62a30491c9b4", nil, "wss://realtime.c1-na.altogic.com", nil, "62a30491c9b4"),
            ("https://c1-na.altogic.com/e:62a30491c9b4/", nil, "wss://realtime.c1-na.altogic.com", nil, "62a30491c9b4"),
            ("https://c1-na.altogic.com/e:env1/rest/v1", nil, "wss://realtime.c1-na.altogic.com", nil, "env1"),
            ("http://c1-na.altogic.com:8080/e:env1", nil, "ws://realtime.c1-na.altogic.com:8080", nil, "env1"),
            // A cluster URL without an environment, and look-alike hosts, are plain hosts.
            ("https://c1-na.altogic.com", nil, "wss://c1-na.altogic.com", nil, nil),
            ("https://c1-na.altogic.com/x:abc", nil, "wss://c1-na.altogic.com", nil, nil),
            ("https://app.c1.altogic.com.evil.example", nil, "wss://app.c1.altogic.com.evil.example", nil, nil),
            ("https://a.b.c.altogic.com", nil, "wss://a.b.c.altogic.com", nil, nil),
            ("http://127.0.0.1:8080", nil, "ws://127.0.0.1:8080", nil, nil),
            ("http://127.0.0.1:8080/", nil, "ws://127.0.0.1:8080", nil, nil),
            ("https://example.com/api/v1", nil, "wss://example.com", nil, nil),
            ("  http://localhost:9000  ", nil, "ws://localhost:9000", nil, nil),
            ("http://user:pw@localhost:9000", nil, "ws://localhost:9000", nil, nil),
            ("http://[::1]:8080/x", nil, "ws://[::1]:8080", nil, nil),
            ("ws://127.0.0.1:1", nil, "ws://127.0.0.1:1", nil, nil),
            ("wss://example.com", nil, "wss://example.com", nil, nil),
            // An explicit realtime URL wins for the URL; routing still comes from the base.
            ("https://myapp.c1-na.altogic.com", "http://127.0.0.1:9999", "ws://127.0.0.1:9999", "myapp", nil),
            ("https://c1-na.altogic.com/e:env1", "https://rt.example.com/", "wss://rt.example.com", nil, "env1"),
            ("http://127.0.0.1:8080", "ws://127.0.0.1:7/custom/socket.io/", "ws://127.0.0.1:7/custom/socket.io/", nil, nil),
            ("", "ws://127.0.0.1:7", "ws://127.0.0.1:7", nil, nil),
            ("http://127.0.0.1:8080", "", "ws://127.0.0.1:8080", nil, nil),
        ]
        for (base, explicit, url, subdomain, envId) in table {
            let endpoint = try RealtimeEndpoint.derive(baseURL: base, realtimeURL: explicit)
            XCTAssertEqual(endpoint, RealtimeEndpoint(url: url, subdomain: subdomain, envId: envId), "\(base) + \(explicit ?? "nil")")
        }
    }

    func testBadURLsAreRefusedNamingTheArgument() {
        let bad: [(String, String?, String)] = [
            ("", nil, "baseURL must be an http(s) or ws(s) URL (no scheme): ''"),
            ("127.0.0.1:8080", nil, "baseURL must be an http(s) or ws(s) URL (no scheme): '127.0.0.1:8080'"),
            ("ftp://example.com", nil, "baseURL must be an http(s) or ws(s) URL (unsupported scheme): 'ftp://example.com'"),
            ("http://", nil, "baseURL must be an http(s) or ws(s) URL (no host): 'http://'"),
            ("http://host:abc", nil, "baseURL must be an http(s) or ws(s) URL (bad port): 'http://host:abc'"),
            ("http://host:70000", nil, "baseURL must be an http(s) or ws(s) URL (bad port): 'http://host:70000'"),
            ("http://[::1", nil, "baseURL must be an http(s) or ws(s) URL (unclosed IPv6 address): 'http://[::1'"),
            ("http://127.0.0.1:1", "nope", "realtimeURL must be an http(s) or ws(s) URL (no scheme): 'nope'"),
            ("not a url", "ws://127.0.0.1:1", "baseURL must be an http(s) or ws(s) URL (no scheme): 'not a url'"),
        ]
        for (base, explicit, message) in bad {
            XCTAssertThrowsError(try RealtimeEndpoint.derive(baseURL: base, realtimeURL: explicit), base) { error in
                XCTAssertEqual((error as? RealtimeError)?.message, message)
            }
        }
    }

    func testAuthObjectCarriesEchoRoutingKeyAndSession() throws {
        var config = RealtimeConfig(baseURL: "https://myapp.c1.altogic.com", clientKey: "ck", session: "tok")
        config.options.echoMessages = false
        let endpoint = try RealtimeEndpoint.derive(baseURL: config.baseURL, realtimeURL: nil)
        XCTAssertEqual(
            HandshakeAuth.object(config: config, endpoint: endpoint),
            ["echoMessages": false, "subdomain": "myapp", "clientKey": "ck", "Session": "tok"])

        let env = try RealtimeEndpoint.derive(baseURL: "https://c1.altogic.com/e:E1", realtimeURL: nil)
        XCTAssertEqual(
            HandshakeAuth.object(config: RealtimeConfig(baseURL: "https://c1.altogic.com/e:E1"), endpoint: env),
            ["echoMessages": true, "envId": "E1"])
    }
}

final class RealtimeManagerInitTests: XCTestCase {
    func testTheConnectingInitRefusesBadConfiguration() {
        let loop = EmbeddedEventLoop()
        XCTAssertThrowsError(try RealtimeManager(config: RealtimeConfig(baseURL: "nope"), eventLoop: loop)) {
            XCTAssertEqual(($0 as? RealtimeError)?.message, "baseURL must be an http(s) or ws(s) URL (no scheme): 'nope'")
        }
        var config = RealtimeConfig(baseURL: "http://127.0.0.1:1")
        config.options.timeout = 0
        XCTAssertThrowsError(try RealtimeManager(config: config, eventLoop: loop)) {
            XCTAssertEqual(($0 as? RealtimeError)?.message, "timeout must be positive")
        }
        config.options.timeout = 1000
        config.options.reconnectionDelay = -1
        XCTAssertThrowsError(try RealtimeManager(config: config, eventLoop: loop)) {
            XCTAssertEqual(($0 as? RealtimeError)?.message, "reconnectionDelay must not be negative")
        }
        config.options.reconnectionDelay = 10
        let m = try? RealtimeManager(config: config, eventLoop: loop)
        XCTAssertNotNil(m)
        XCTAssertFalse(m?.isOpen ?? true, "the manager connects only on open()")
    }
}
