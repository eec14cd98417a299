import ArgumentParser
import Foundation
import LuaHost
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the *_test.lua files under PATHs (default: the current folder), each test on a fresh in-process hub and a virtual clock.",
        discussion: "Exit status: 0 when every test passed, 1 when one failed, 2 for bad use."
    )

    @Argument(help: "Test files or folders (searched recursively, hidden folders skipped).")
    var paths: [String] = []

    @Option(name: .customLong("filter"), help: ArgumentHelp("Run only the tests whose name contains this text.", valueName: "PATTERN"))
    var filter: String?

    @Option(name: .customLong("junit"), help: ArgumentHelp("Also write the results as JUnit XML to FILE.", valueName: "FILE"))
    var junit: String?

    @Flag(name: .customLong("tap"), help: "Print the results as TAP (version 13) on stdout.")
    var tap = false

    @Option(name: .customLong("jobs"), help: "Run this many test files in parallel.")
    var jobs: Int = 1

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Real seconds one test may take.", valueName: "SECONDS"))
    var timeout: Double = 5

    @Flag(name: .customLong("verbose"), help: "Show what each test printed and logged.")
    var verbose = false

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64") }
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be a number of seconds above 0 (at most 3600)") }
    }

    func run() throws {
        // Schedules read the local time zone: tests see UTC unless TZ says otherwise, so a
        // test gives the same result on every machine.
        if ProcessInfo.processInfo.environment["TZ"] == nil {
            setenv("TZ", "UTC", 1)
            tzset()
        }
        let files: [String]
        do {
            files = try TestFiles.find(paths.isEmpty ? ["."] : paths)
        } catch {
            writeError("rtlua test: \(error)")
            terminate(2)
        }
        guard !files.isEmpty else {
            writeError("rtlua test: no *_test.lua files under \(paths.isEmpty ? "." : paths.joined(separator: ", "))")
            terminate(2)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: jobs)
        let hubGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let settings = TestSettings(timeout: timeout, filter: filter, logLevel: .info)
        let report = TestReport(tap: tap, verbose: verbose)
        let started = Date()
        let all = TestScheduler(files: files, jobs: jobs) { path in
            LuaTestFile(path: path, loop: group.next(), hub: TestHub(group: hubGroup), settings: settings).run()
                .map { outcomes in
                    report.print(file: path, outcomes)
                    return outcomes
                }
        }.run(on: group.next())
        let outcomes = (try? all.wait()) ?? []
        let seconds = Date().timeIntervalSince(started)
        report.finish(outcomes)
        if let junit {
            do {
                try TestReport.junit(outcomes, seconds: seconds).write(toFile: junit, atomically: true, encoding: .utf8)
            } catch {
                writeError("rtlua test: cannot write \(junit): \(error)")
                terminate(2)
            }
        }
        terminate(outcomes.contains { $0.status == .failed } ? 1 : 0)
    }
}

/// Runs the files `jobs` at a time; the outcomes in the files' order.
struct TestScheduler {
    let files: [String]
    let jobs: Int
    let runFile: @Sendable (String) -> EventLoopFuture<[TestOutcome]>

    init(files: [String], jobs: Int, runFile: @escaping @Sendable (String) -> EventLoopFuture<[TestOutcome]>) {
        self.files = files
        self.jobs = jobs
        self.runFile = runFile
    }

    func run(on loop: EventLoop) -> EventLoopFuture<[TestOutcome]> {
        let results = NIOLockedValueBox([[TestOutcome]?](repeating: nil, count: files.count))
        let next = NIOLockedValueBox(0)
        let done = loop.makePromise(of: [TestOutcome].self)
        let files = self.files, runFile = self.runFile
        @Sendable func take() {
            let i = next.withLockedValue { n -> Int in defer { n += 1 }; return n }
            guard i < files.count else {
                let finished = results.withLockedValue { r in r.allSatisfy { $0 != nil } }
                if finished { done.succeed(results.withLockedValue { $0.flatMap { $0 ?? [] } }) }
                return
            }
            runFile(files[i]).whenComplete { result in
                let outcomes: [TestOutcome]
                switch result {
                case .success(let o): outcomes = o
                case .failure(let error):
                    outcomes = [TestOutcome(file: files[i], name: "(file)", status: .failed, seconds: 0, message: "\(error)")]
                }
                results.withLockedValue { $0[i] = outcomes }
                take()
            }
        }
        for _ in 0..<min(jobs, files.count) { take() }
        return done.futureResult
    }
}

enum TestFiles {
    struct NotFound: Error, CustomStringConvertible {
        var path: String
        var description: String { "no such file or folder: \(path)" }
    }

    /// Every `*_test.lua` under `paths` (a file given by name is taken whatever its name),
    /// sorted, hidden folders skipped.
    static func find(_ paths: [String]) throws -> [String] {
        var found: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw NotFound(path: path) }
            if !isDir.boolValue {
                found.append(path)
                continue
            }
            var inFolder: [String] = []
            walk(path, fm, &inFolder)
            found += inFolder.sorted()
        }
        var seen = Set<String>()
        return found.filter { seen.insert($0).inserted }
    }

    private static func walk(_ dir: String, _ fm: FileManager, _ out: inout [String]) {
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return }
        for name in names.sorted() where !name.hasPrefix(".") {
            let full = dir == "." ? "./" + name : (dir.hasSuffix("/") ? dir + name : dir + "/" + name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                walk(full, fm, &out)
            } else if name.hasSuffix("_test.lua") {
                out.append(full.hasPrefix("./") ? String(full.dropFirst(2)) : full)
            }
        }
    }
}
