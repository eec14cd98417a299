import Foundation
import XCTest

/// `rtlua serve --port 0` as a separate process, for tests that need the hub's URL.
final class HubProcess {
    let process: RTLuaProcess
    let url: String

    init(keys: [String] = [], extraArguments: [String] = [], launcher: [String] = []) throws {
        process = try RTLuaProcess(["serve", "--port", "0"] + keys.flatMap { ["--key", $0] } + extraArguments, launcher: launcher)
        var found: String?
        process.waitFor(timeout: 60) { p in
            guard let range = p.stderr.range(of: "hub listening at ") else { return false }
            let rest = p.stderr[range.upperBound...]
            guard let end = rest.firstIndex(of: "\n") else { return false }
            found = String(rest[..<end])
            return true
        }
        guard let found else {
            process.signal(SIGKILL)
            throw HubStartError(stderr: process.stderr)
        }
        url = found
    }

    func stop() {
        process.signal(SIGINT)
        _ = process.waitForExit(timeout: 30)
    }

    struct HubStartError: Error { var stderr: String }
}

/// The repository's examples/ directory.
var examplesDirectory: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")
}
