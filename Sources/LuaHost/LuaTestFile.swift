import Clocks
import CLua
import NIOConcurrencyHelpers
import NIOCore
import Realtime
import RTJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One test's result.
public struct TestOutcome: Sendable {
    public enum Status: Sendable { case passed, failed, skipped }
    public var file: String
    public var name: String
    public var status: Status
    public var seconds: Double
    /// For a failure: `file:line: what`, expected and actual, then what the test saw.
    public var message: String?
    /// The test file's own printed lines during this test (shown with --verbose).
    public var output: [String] = []

    public init(file: String, name: String, status: Status, seconds: Double, message: String? = nil) {
        self.file = file
        self.name = name
        self.status = status
        self.seconds = seconds
        self.message = message
    }
}

/// How `rtlua test` runs the tests of a file.
public struct TestSettings: Sendable {
    /// Seconds of real time one test may take.
    public var timeout: Double
    /// Only tests whose name contains this (plain text) run.
    public var filter: String?
    public var logLevel: LogLevel

    public init(timeout: Double = 5, filter: String? = nil, logLevel: LogLevel = .info) {
        self.timeout = timeout
        self.filter = filter
        self.logLevel = logLevel
    }
}

/// Runs the tests of one `*_test.lua` file: one VM for the file (its main chunk registers
/// the tests with `test(name, fn)`), then each test in turn with a fresh hub and a fresh
/// virtual clock, the bots it spawns stopped and its clients closed afterwards. A test that
/// raises, fails an expectation, outlives `settings.timeout` or whose bot crashed fails with
/// its file:line; the next test runs regardless.
public final class LuaTestFile: @unchecked Sendable {  // confined to `loop`
    public let path: String
    let loop: EventLoop
    let hub: TestHubControl
    let settings: TestSettings
    private let promise: EventLoopPromise<[TestOutcome]>
    private var script: LuaScript!
    private let clockSlot = ClockSlot()
    private var pRef: Int32 = 0
    private var registered: [(name: String, skip: Bool, line: Int)] = []
    private var mainFailure: String?
    private var outcomes: [TestOutcome] = []
    private let printed = NIOLockedValueBox<[String]>([])

    // The test running now.
    private var current: Int?
    private var currentStart = NIODeadline.now()
    private var currentThread: OpaquePointer?
    private var currentResult: (ok: Bool, error: String?, seen: String)?
    private var timeoutTask: Scheduled<Void>?
    var bots: [Int: TestBot] = [:]
    private var nextBotID = 1
    private var botsChecked: Set<Int> = []

    public init(path: String, loop: EventLoop, hub: TestHubControl, settings: TestSettings) {
        self.path = path
        self.loop = loop
        self.hub = hub
        self.settings = settings
        self.promise = loop.makePromise(of: [TestOutcome].self)
    }

    /// Runs every test of the file; the outcomes in the file's order.
    public func run() -> EventLoopFuture<[TestOutcome]> {
        loop.execute { [self] in
            hub.start(clock: clockSlot).hop(to: loop).whenComplete { [self] result in
                switch result {
                case .failure(let error):
                    fileFailure("cannot start the test hub: \(error)")
                case .success:
                    startFile()
                }
            }
        }
        return promise.futureResult
    }

    private func fileFailure(_ message: String) {
        outcomes.append(TestOutcome(file: path, name: "(file)", status: .failed, seconds: 0, message: message))
        finishFile()
    }

    private func finishFile() {
        let end: EventLoopFuture<Void> = script.map { s in
            s.stop()
            return s.ended.map { _ in () }
        } ?? loop.makeSucceededVoidFuture()
        end.flatMap { [self] in hub.stop() }.hop(to: loop).whenComplete { [self] _ in
            script = nil
            promise.succeed(outcomes)
        }
    }

    private func startFile() {
        var options = ScriptOptions(path: path, realtime: RealtimeConfig(baseURL: hub.baseURL),
                                    log: LogSettings(level: settings.logLevel))
        let printed = self.printed
        options.output = ScriptOutput(
            stdout: { bytes in printed.withLockedValue { $0.append(String(decoding: bytes.last == 0x0A ? bytes.dropLast() : bytes[...], as: UTF8.self)) } },
            stderr: { text in printed.withLockedValue { $0.append(contentsOf: text.split(separator: "\n").map(String.init)) } })
        options.clock = clockSlot
        options.makeManager = TestBot.managers(on: clockSlot)
        options.cpuLimit = .fromSeconds(settings.timeout)
        let s = LuaScript(options: options, eventLoop: loop)
        script = s
        s.keepAlive = true
        guard installPrelude() else { return }
        s.spawn({ [self] co in
            lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), lua_Integer(pRef))
            lua_getfield(co, -1, "main")
            shim_lua_remove(co, -2)
            if luaL_loadfilex(co, path, "t") != LUA_OK {
                mainFailure = Lua.errorText(co, -1)
                return nil
            }
            return 1
        }, onDone: { [self] in loop.execute { [self] in afterMain() } })
    }

    private func installPrelude() -> Bool {
        let L = script.L
        lua_pushlightuserdata(L, Unmanaged.passUnretained(self).toOpaque())
        lua_setfield(L, shim_LUA_REGISTRYINDEX(), Self.registryKey)
        let source = TestPrelude.source
        let status = source.withCString { luaL_loadbufferx(L, $0, source.utf8.count, "=rtlua.test", "t") }
        guard status == LUA_OK else {
            fileFailure("rtlua test prelude: \(Lua.errorText(L, -1))")
            return false
        }
        for f in [testNote, testSpawn, testBotOp, testClockOp, testHubOp, testSettle] { Lua.pushFunction(L, f) }
        Lua.pushString(L, hub.baseURL)
        do { try LuaScript.pushEventMatch(L) } catch {
            fileFailure("rtlua test prelude: cannot build waitFor's matcher")
            return false
        }
        guard lua_pcallk(L, 8, 1, 0, 0, nil) == LUA_OK else {
            fileFailure("rtlua test prelude: \(Lua.errorText(L, -1))")
            return false
        }
        pRef = luaL_ref(L, shim_LUA_REGISTRYINDEX())
        return true
    }

    static let registryKey = "rtlua.testfile"

    static func of(_ L: OpaquePointer) -> LuaTestFile {
        lua_getfield(L, shim_LUA_REGISTRYINDEX(), registryKey)
        let p = lua_touserdata(L, -1)!
        Lua.pop(L)
        return Unmanaged<LuaTestFile>.fromOpaque(p).takeUnretainedValue()
    }

    // MARK: the tests

    func note(_ L: OpaquePointer) {
        switch Lua.string(L, 1) ?? "" {
        case "test":
            registered.append((Lua.string(L, 2) ?? "?", lua_toboolean(L, 3) != 0, Int(lua_tointegerx(L, 4, nil))))
        case "main":
            if lua_toboolean(L, 2) == 0 { mainFailure = Lua.string(L, 3) ?? "error" }
        case "result":
            let i = Int(lua_tointegerx(L, 2, nil))
            guard i == current else { return }
            currentResult = (lua_toboolean(L, 3) != 0, Lua.string(L, 4), Lua.string(L, 5) ?? "")
        default:
            break
        }
    }

    private func afterMain() {
        if let mainFailure {
            fileFailure(mainFailure)
            return
        }
        runTest(0, hubFresh: true)
    }

    private func runTest(_ i: Int, hubFresh: Bool) {
        guard i < registered.count else {
            finishFile()
            return
        }
        let t = registered[i]
        if let filter = settings.filter, !t.name.contains(filter) {
            runTest(i + 1, hubFresh: hubFresh)
            return
        }
        if t.skip {
            outcomes.append(TestOutcome(file: path, name: t.name, status: .skipped, seconds: 0))
            runTest(i + 1, hubFresh: hubFresh)
            return
        }
        guard hubFresh else {
            hub.start(clock: clockSlot).hop(to: loop).whenComplete { [self] result in
                if case .failure(let error) = result {
                    outcomes.append(TestOutcome(file: path, name: t.name, status: .failed, seconds: 0,
                                                message: "cannot start the test hub: \(error)"))
                    runTest(i + 1, hubFresh: false)
                } else {
                    runTest(i, hubFresh: true)
                }
            }
            return
        }
        let clock = VirtualClock(start: TestTime.start)
        // Runs on `loop` (the clock steps there), where the bots live.
        clock.isSettled = { [weak self] in
            guard let self else { return true }
            return !bots.values.contains { $0.scripts.contains { $0.isWaitingOnIO } }
        }
        clockSlot.set(clock)
        printed.withLockedValue { $0 = [] }
        current = i + 1
        currentResult = nil
        currentStart = .now()
        botsChecked = []
        let index = i + 1
        script.spawn({ [self] co in
            currentThread = co
            lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), lua_Integer(pRef))
            lua_getfield(co, -1, "run")
            shim_lua_remove(co, -2)
            lua_pushinteger(co, lua_Integer(index))
            return 1
        }, onDone: { [self] in loop.execute { [self] in finishTest(index, timedOut: false) } })
        timeoutTask = loop.scheduleTask(in: .fromSeconds(settings.timeout)) { [self] in finishTest(index, timedOut: true) }
    }

    private func finishTest(_ index: Int, timedOut: Bool) {
        guard current == index else { return }
        current = nil
        timeoutTask?.cancel()
        timeoutTask = nil
        let t = registered[index - 1]
        let seconds = Double((NIODeadline.now() - currentStart).nanoseconds) / 1e9
        var failure: String?
        var seen = ""
        if timedOut {
            let place = currentThread.flatMap { testPlace($0) } ?? "\(path):\(t.line)"
            failure = "\(place): timed out after \(Self.seconds(settings.timeout))s (--timeout)"
            seen = seenSoFar()
        } else if let r = currentResult {
            if !r.ok { failure = r.error ?? "error" }
            seen = r.seen
        } else {
            failure = "\(path):\(t.line): the test ended without a result (stopped by the CPU guard?)"
        }
        currentThread = nil
        // A bot that crashed fails the test, unless the test looked at its status.
        for (id, bot) in bots.sorted(by: { $0.key < $1.key }) where !botsChecked.contains(id) {
            if let crash = bot.crash, failure == nil {
                failure = "\(bot.path) crashed: \(crash)"
            }
        }
        var outcome = TestOutcome(file: path, name: t.name, status: failure == nil ? .passed : .failed, seconds: seconds)
        if var text = failure {
            if !seen.isEmpty { text += "\n  events the test saw last:\n" + seen.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
            for bot in bots.values.sorted(by: { $0.id < $1.id }) {
                let lines = bot.logLines.withLockedValue { Array($0.suffix(8)) }
                if !lines.isEmpty { text += "\n  \(bot.path) logged last:\n" + lines.map { "    " + $0 }.joined(separator: "\n") }
            }
            outcome.message = text
        }
        outcome.output = printed.withLockedValue { $0 }
        outcomes.append(outcome)
        cleanUp { [self] in runTest(index, hubFresh: false) }
    }

    /// The last events the test's clients received (the test's own coroutine is waiting or
    /// preempted, so the VM may be called).
    private func seenSoFar() -> String {
        let L = script.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_rawgeti(L, shim_LUA_REGISTRYINDEX(), lua_Integer(pRef))
        lua_getfield(L, -1, "seen")
        guard lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK else { return "" }
        return Lua.string(L, -1) ?? ""
    }

    /// Stops the test's bots, closes its clients and its hub.
    private func cleanUp(then next: @escaping () -> Void) {
        let stopping = bots.values.flatMap { $0.stopAll() }
        bots = [:]
        let bounded = loop.makePromise(of: Void.self)
        let guardTask = loop.scheduleTask(in: .seconds(5)) { bounded.succeed(()) }
        EventLoopFuture.andAllComplete(stopping, on: loop).whenComplete { _ in bounded.succeed(()) }
        bounded.futureResult.whenComplete { [self] _ in
            guardTask.cancel()
            script.spawn({ [self] co in
                lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), lua_Integer(pRef))
                lua_getfield(co, -1, "cleanup")
                shim_lua_remove(co, -2)
                return 0
            }, onDone: { [self] in
                // The clients' close goes out before the hub goes away.
                loop.scheduleTask(in: .milliseconds(5)) { [self] in
                    hub.stop().hop(to: loop).whenComplete { _ in next() }
                }
            })
        }
    }

    /// `file:line` of the innermost frame of `co` in this test file.
    private func testPlace(_ co: OpaquePointer) -> String? {
        var ar = lua_Debug()
        var level: Int32 = 0
        let wanted = "@" + path
        while lua_getstack(co, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(co, "Sl", &ar) != 0, ar.currentline > 0, let source = ar.source, String(cString: source) == wanted else { continue }
            return "\(path):\(ar.currentline)"
        }
        return nil
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }

    // MARK: bots

    func spawnBot(_ L: OpaquePointer) throws(LuaRaise) -> Int32 {
        let given = try Lua.checkString(L, 1)
        var resolved = given
        if !given.hasPrefix("/") {
            let beside = path.contains("/") ? String(path[...path.lastIndex(of: "/")!]) + given : given
            if access(beside, F_OK) == 0 { resolved = beside }
        }
        guard access(resolved, R_OK) == 0 else {
            lua_pushnil(L)
            Lua.pushString(L, "spawn: cannot read '\(given)' (looked beside the test file and in the current folder)")
            return 2
        }
        var instances = 1
        var args: [String] = []
        var session: String?
        var echo = true
        lua_getfield(L, 2, "instances")
        if lua_type(L, -1) > LUA_TNIL {
            var ok: Int32 = 0
            let n = lua_tointegerx(L, -1, &ok)
            guard ok != 0, n >= 1, n <= 1000 else { throw LuaRaise.argument(2, "instances: integer 1...1000 expected") }
            instances = Int(n)
        }
        lua_getfield(L, 2, "args")
        if lua_type(L, -1) == LUA_TTABLE {
            var i: lua_Integer = 1
            while lua_rawgeti(L, -1, i) != LUA_TNIL {
                args.append(Lua.string(L, -1) ?? "")
                Lua.pop(L)
                i += 1
            }
            Lua.pop(L)
        }
        lua_getfield(L, 2, "session")
        if lua_type(L, -1) == LUA_TSTRING { session = Lua.string(L, -1) }
        lua_getfield(L, 2, "echo")
        if lua_type(L, -1) == LUA_TBOOLEAN { echo = lua_toboolean(L, -1) != 0 }
        lua_settop(L, 2)

        var config = RealtimeConfig(baseURL: hub.baseURL, session: session)
        config.options.echoMessages = echo
        let id = nextBotID
        nextBotID += 1
        let bot = TestBot(id: id, path: given, file: resolved, instances: instances, args: args, config: config,
                          clock: clockSlot.current, loop: loop, settings: settings)
        bots[id] = bot
        bot.startAll()
        let host = LuaScript.host(L)
        try host.suspend(L, "spawn")
        let thread = LuaThread(state: L)
        bot.whenSettled { host.wake(thread.state) { co in lua_pushinteger(co, lua_Integer(id)); return 1 } }
        return LuaReturn.yield
    }

    func botOp(_ L: OpaquePointer) throws(LuaRaise) -> Int32 {
        let id = Int(lua_tointegerx(L, 1, nil))
        guard let bot = bots[id] else { throw LuaRaise.message("this bot belongs to a test that has ended") }
        let host = LuaScript.host(L)
        switch Lua.string(L, 2) ?? "" {
        case "logs":
            Lua.pushStringArray(L, bot.logLines.withLockedValue { $0 })
            return 1
        case "status":
            botsChecked.insert(id)
            if let status = bot.status { lua_pushinteger(L, lua_Integer(status)) } else { lua_pushnil(L) }
            return 1
        case "stop", "restart":
            let restart = Lua.string(L, 2) == "restart"
            try host.suspend(L, "bot:stop")
            let thread = LuaThread(state: L)
            EventLoopFuture.andAllComplete(bot.stopAll(), on: loop).whenComplete { _ in
                guard restart else {
                    host.wake(thread.state) { _ in 0 }
                    return
                }
                bot.startAll()
                bot.whenSettled { host.wake(thread.state) { _ in 0 } }
            }
            return LuaReturn.yield
        default:
            throw LuaRaise.message("unknown bot operation")
        }
    }

    // MARK: clock and hub

    /// Completes when no manager of the test file or its bots is connected (at most ~2 s).
    private func allDisconnected() -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        loop.poll(every: .milliseconds(5), tries: 400, until: { [self] in
            let scripts = [script!] + bots.values.flatMap { $0.scripts }
            return !scripts.contains { s in s.managers.values.contains { $0.manager?.isConnected() ?? false } }
        }) { promise.succeed(()) }
        return promise.futureResult
    }

    func clockOp(_ L: OpaquePointer) throws(LuaRaise) -> Int32 {
        let host = LuaScript.host(L)
        let clock = clockSlot.current
        let op = Lua.string(L, 1) ?? ""
        switch op {
        case "advance":
            let seconds: Double
            if lua_type(L, 2) == LUA_TNUMBER {
                seconds = lua_tonumberx(L, 2, nil)
            } else if lua_type(L, 2) == LUA_TSTRING, let d = TestTime.duration(Lua.string(L, 2) ?? "") {
                seconds = d
            } else {
                throw LuaRaise.message("bad argument #1 to 'clock.advance' (seconds or a duration such as \"90m\", \"1h30m\", \"2d\" expected, got \(Lua.typeName(L, 2)))")
            }
            guard seconds.isFinite, seconds >= 0 else { throw LuaRaise.message("bad argument #1 to 'clock.advance' (a non-negative duration expected)") }
            try host.suspend(L, "clock.advance")
            let thread = LuaThread(state: L)
            clock.advance(by: seconds, on: loop) { host.wake(thread.state) { _ in 0 } }
        case "set":
            guard lua_type(L, 2) == LUA_TSTRING, let epoch = TestTime.instant(Lua.string(L, 2) ?? "") else {
                throw LuaRaise.message("bad argument #1 to 'clock.set' (an ISO 8601 time such as \"2026-12-31T23:59:00Z\" expected)")
            }
            try host.suspend(L, "clock.set")
            let thread = LuaThread(state: L)
            clock.set(to: epoch, on: loop) { host.wake(thread.state) { _ in 0 } }
        case "next":
            if let due = clock.nextDue { lua_pushnumber(L, due) } else { lua_pushnil(L) }
            return 1
        case "to":
            let epoch = lua_tonumberx(L, 2, nil)
            try host.suspend(L, "waitFor")
            let thread = LuaThread(state: L)
            clock.set(to: max(epoch, clock.now()), on: loop) { host.wake(thread.state) { _ in 0 } }
        case "idle":
            try host.suspend(L, "clock.runUntilIdle")
            let thread = LuaThread(state: L)
            clock.runUntilIdle(on: loop) { idle in
                host.wake(thread.state) { co in
                    lua_pushboolean(co, idle ? 1 : 0)
                    return 1
                }
            }
        default:
            throw LuaRaise.message("unknown clock operation")
        }
        return LuaReturn.yield
    }

    func hubOp(_ L: OpaquePointer) throws(LuaRaise) -> Int32 {
        let host = LuaScript.host(L)
        let op = Lua.string(L, 1) ?? ""
        func waitOn<T>(_ future: EventLoopFuture<T>, _ push: @escaping @Sendable (OpaquePointer, T) -> Int32) throws(LuaRaise) -> Int32 {
            try host.suspend(L, "hub.\(op)")
            let thread = LuaThread(state: L)
            future.hop(to: loop).whenComplete { result in
                host.wake(thread.state) { co in
                    switch result {
                    case .success(let value): return push(co, value)
                    case .failure(let error):
                        lua_pushnil(co)
                        Lua.pushString(co, "hub.\(op): \(error)")
                        return 2
                    }
                }
            }
            return LuaReturn.yield
        }
        switch op {
        case "members":
            let channel = try Lua.checkString(L, 2)
            return try waitOn(hub.members(channel)) { co, v in host.bridge.push(co, v); return 1 }
        case "userEvent":
            let name = try Lua.checkString(L, 2)
            guard name.hasPrefix("user:") else { throw LuaRaise.message("bad argument #1 to 'hub.userEvent' (a user:* event name expected, got '\(name)')") }
            let session = lua_type(L, 3) == LUA_TSTRING ? Lua.string(L, 3)! : "*"
            return try waitOn(hub.userEvent(name, session: session)) { co, n in lua_pushinteger(co, lua_Integer(n)); return 1 }
        case "kick":
            let socket = try Lua.checkString(L, 2)
            return try waitOn(hub.kick(socket)) { co, ok in lua_pushboolean(co, ok ? 1 : 0); return 1 }
        case "restart":
            // Back once every connection of the test has seen the disconnect, so the test
            // goes on from a known state: all waiting out their (virtual) back-off.
            let disconnected = hub.restart().hop(to: loop).flatMap { [self] in allDisconnected() }
            return try waitOn(disconnected) { _, _ in 0 }
        case "log":
            return try waitOn(hub.log()) { co, lines in
                Lua.pushStringArray(co, lines)
                return 1
            }
        case "drop":
            let rate = try Lua.checkNumber(L, 2)
            guard rate >= 0, rate <= 1 else { throw LuaRaise.message("bad argument #1 to 'hub.drop' (a rate 0...1 expected)") }
            return try waitOn(hub.setDropRate(rate)) { _, _ in 0 }
        case "delay":
            let ms = try Lua.checkNumber(L, 2)
            guard ms >= 0, ms <= 60_000 else { throw LuaRaise.message("bad argument #1 to 'hub.delay' (milliseconds 0...60000 expected)") }
            return try waitOn(hub.setDelay(milliseconds: Int(ms))) { _, _ in 0 }
        default:
            throw LuaRaise.message("unknown hub operation")
        }
    }
}

/// The clock of the test file's own VM, its managers and its hub: the running test's virtual clock.
final class ClockSlot: EventClock, @unchecked Sendable {
    private let box = NIOLockedValueBox(VirtualClock(start: TestTime.start))
    var current: VirtualClock { box.withLockedValue { $0 } }
    func set(_ clock: VirtualClock) { box.withLockedValue { $0 = clock } }
    func now() -> Double { current.now() }
    func schedule(in seconds: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        current.schedule(in: seconds, on: loop, fn)
    }
    func schedule(at epoch: Double, on loop: EventLoop, _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        current.schedule(at: epoch, on: loop, fn)
    }
    func scheduleLiveness(at epoch: Double, _ timer: LivenessTimer, on loop: EventLoop,
                          _ fn: @escaping @Sendable () -> Void) -> ClockTask {
        current.scheduleLiveness(at: epoch, timer, on: loop, fn)
    }
    func hold() -> ClockTask { current.hold() }
}

private let testNote: LuaSwiftFunction = { L in
    LuaTestFile.of(L!).note(L!)
    return 0
}

private let testSpawn: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in try LuaTestFile.of(L).spawnBot(L) }
}

private let testBotOp: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in try LuaTestFile.of(L).botOp(L) }
}

private let testClockOp: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in try LuaTestFile.of(L).clockOp(L) }
}

private let testHubOp: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in try LuaTestFile.of(L).hubOp(L) }
}

/// A short real-time pause (for expectations on what travels over the network).
private let testSettle: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let host = LuaScript.host(L)
        try host.suspend(L, "expect.members")
        let thread = LuaThread(state: L)
        let ms = lua_type(L, 1) == LUA_TNUMBER ? Int64(lua_tointegerx(L, 1, nil)) : 20
        host.eventLoop.scheduleTask(in: .milliseconds(max(0, min(ms, 1000)))) { host.wake(thread.state) { _ in 0 } }
        return LuaReturn.yield
    }
}
