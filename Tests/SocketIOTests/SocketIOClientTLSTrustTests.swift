import Foundation
import RTJSON
import XCTest
@testable import SocketIO

/// wss:// against the python-socketio peer serving TLS with a certificate from a private CA
/// made at test time with the openssl CLI: `tlsTrustRootsFile` makes it trusted, the system
/// roots do not, and the hostname is still checked.
final class SocketIOClientTLSTrustTests: XCTestCase {
    static let openssl = "/usr/bin/openssl"
    var server: PeerServer?
    var harness: ClientHarness?
    var dir: URL!

    override func setUpWithError() throws {
        // scripts/setup installs openssl: without it this is a failure, not a skip.
        guard FileManager.default.isExecutableFile(atPath: Self.openssl) else {
            throw SocketIOError(.invalidArgument, "\(Self.openssl) not found: it makes the test CA and server certificate (run scripts/setup)")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sio-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        harness?.shutdown()
        server?.stop()
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func run(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.openssl)
        p.arguments = arguments
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let output = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "openssl", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey:
                "openssl \(arguments.first ?? "") failed: \(String(decoding: output, as: UTF8.self))"])
        }
    }

    /// A CA (ca.pem) and a server certificate it signed (server.pem, server.key) for `san`.
    func makeCertificates(san: String) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + ec + ["-days", "1", "-subj", "/CN=rtlua test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", path("ca.key"), "-out", path("ca.pem")])
        try run(["req", "-new"] + ec + ["-subj", "/CN=rtlua test server", "-keyout", path("server.key"), "-out", path("server.csr")])
        try "subjectAltName=\(san)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                 "-set_serial", "2", "-days", "1", "-extfile", path("server.ext"), "-out", path("server.pem")])
    }

    func startTLSServer() throws -> PeerServer {
        let server = try PeerServer(arguments: ["--tls-cert", path("server.pem"), "--tls-key", path("server.key")])
        self.server = server
        return server
    }

    func client(port: Int, trustRootsFile: String?) throws -> ClientHarness {
        var config = ClientHarness.config(url: "wss://127.0.0.1:\(port)")
        config.reconnection = false
        config.tlsTrustRootsFile = trustRootsFile
        let h = ClientHarness(config: config)
        harness = h
        try h.onLoop { $0.connect() }
        return h
    }

    func failure(_ h: ClientHarness) throws -> SocketIOError {
        try h.waitFor("TLS failure") { log in
            log.lazy.compactMap { r -> SocketIOError? in if case .fail(let e, false) = r { e } else { nil } }.first
        }
    }

    func testTrustingThePrivateCAConnectsAndEchoes() throws {
        try makeCertificates(san: "IP:127.0.0.1")
        let server = try startTLSServer()
        let h = try client(port: server.port, trustRootsFile: path("ca.pem"))
        let sid = try h.waitForConnect()
        XCTAssertFalse(sid.isEmpty)
        let args: [JSONValue] = ["over TLS ✓", 7, [.binary([0, 0xFF])]]
        try h.emit("echo", args)
        XCTAssertEqual(try h.waitForEvent("echo"), args)
    }

    func testWithoutTheTrustFileTheSameServerIsRejected() throws {
        try makeCertificates(san: "IP:127.0.0.1")
        let server = try startTLSServer()
        let error = try failure(try client(port: server.port, trustRootsFile: nil))
        XCTAssertEqual(error.kind, .transport)
        XCTAssertTrue(error.message.contains("CERTIFICATE_VERIFY_FAILED"), error.message)
        XCTAssertFalse(harness!.events.contains { if case .connect = $0 { true } else { false } })
    }

    func testTrustedCertificateForAnotherAddressIsRejected() throws {
        try makeCertificates(san: "IP:127.0.0.2")
        let server = try startTLSServer()
        let error = try failure(try client(port: server.port, trustRootsFile: path("ca.pem")))
        XCTAssertEqual(error.kind, .transport)
        XCTAssertTrue(error.message.contains("ailedToValidateHostname"), error.message)
        XCTAssertFalse(harness!.events.contains { if case .connect = $0 { true } else { false } })
    }

    func testMissingTrustFileIsAClearSetupError() throws {
        let error = try failure(try client(port: 1, trustRootsFile: path("no-such-ca.pem")))
        XCTAssertEqual(error.kind, .transport)
        XCTAssertTrue(error.message.hasPrefix("TLS setup failed"), error.message)
    }
}
