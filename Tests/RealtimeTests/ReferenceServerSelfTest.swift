import Foundation
import XCTest

/// Runs scripts/peer/selftest.py: the reference server's own PROTOCOL.md checks with
/// python-socketio clients, so a server regression shows up in `swift test` too.
final class ReferenceServerSelfTest: XCTestCase {
    func testReferenceServerPassesItsSelfTest() throws {
        let python = PeerServer.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw PeerError("no python at \(python): run scripts/setup or set RTLUA_PEER_PYTHON")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [PeerServer.packageRoot.appendingPathComponent("scripts/peer/selftest.py").path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // selftest.py bounds itself (60 s for the checks); read until it exits.
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("checks passed"), output)
    }
}
