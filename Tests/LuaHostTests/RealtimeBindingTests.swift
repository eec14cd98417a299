import Foundation
import NIOCore
import Realtime
import RTJSON
import SocketIO
import XCTest
@testable import LuaHost

/// A Socket.IO connection that acts as a one-member hub: what the manager emits comes back
/// as the server would deliver it to a member with echo on (PROTOCOL.md §4), on a later
/// loop turn. Confined to its loop.
final class LoopbackConnection: SocketIOConnection, @unchecked Sendable {
    weak var delegate: SocketIOConnectionDelegate?
    let eventLoop: EventLoop
    private(set) var sid: String?
    private(set) var isConnected = false
    private var channels: Set<String> = []
    /// Sees every emit that reaches the "wire".
    var onEmit: (@Sendable (String, [JSONValue]) -> Void)?
    private var profile: JSONValue = .null

    init(eventLoop: EventLoop) { self.eventLoop = eventLoop }

    func connect() {
        eventLoop.execute { [self] in
            isConnected = true
            sid = "loopback-sid"
            delegate?.socketDidConnect(sid: "loopback-sid")
        }
    }

    func disconnect() {
        guard isConnected else { return }
        isConnected = false
        sid = nil
        eventLoop.execute { [self] in delegate?.socketDidDisconnect(reason: "io client disconnect", willReconnect: false) }
    }

    /// Sees the Engine.IO frame text of every emit that reaches the "wire", and whether it was
    /// written from the argument's text (`emit(_:argumentText:)`).
    var onFrame: (@Sendable (String, _ fromText: Bool) -> Void)?

    func emit(_ event: String, argumentText argument: (inout [UInt8]) -> Void) throws(SocketIOError) {
        guard isConnected else { throw SocketIOError(.notConnected, "not connected") }
        var frame: [UInt8] = []
        SocketPacketEncoder.writeEventFrame(event, into: &frame, argument: argument)
        var text: [UInt8] = []
        argument(&text)
        try deliver(event, [.raw(RawJSON(unchecked: text))], frame: (String(decoding: frame, as: UTF8.self), true))
    }

    func emit(_ event: String, _ args: [JSONValue], ack: ((Result<[JSONValue], SocketIOError>) -> Void)?) throws(SocketIOError) {
        guard isConnected else { throw SocketIOError(.notConnected, "not connected") }
        let encoded = try? SocketPacketEncoder.encode(.event(event, args))
        try deliver(event, args, frame: encoded.map { ($0.engineText, false) })
    }

    private func deliver(_ event: String, _ args: [JSONValue], frame: (String, Bool)?) throws(SocketIOError) {
        if let frame { onFrame?(frame.0, frame.1) }
        onEmit?(event, args)
        let p = args.first ?? .null
        var deliveries: [(String, JSONValue)] = []
        let me: JSONValue = ["id": "loopback-sid", "data": profile]
        switch event {
        case "message":
            let channel = p["channel"]?.stringValue
            let name = p["eventName"]?.stringValue ?? ""
            let echo = p["echo"]?.boolValue ?? true
            if echo && (channel == nil || channels.contains(channel!)) {
                deliveries.append((name, ["channel": channel.map(JSONValue.string) ?? .null, "message": p["message"] ?? .null]))
            }
        case "join":
            let channel = p["channel"]?.stringValue ?? ""
            if channels.insert(channel).inserted && (p["echo"]?.boolValue ?? true) {
                deliveries.append(("channel:join", ["channel": .string(channel), "message": me]))
            }
        case "leave":
            let channel = p["channel"]?.stringValue ?? ""
            if channels.remove(channel) != nil && (p["echo"]?.boolValue ?? true) {
                deliveries.append(("channel:leave", ["channel": .string(channel), "message": me]))
            }
        case "update":
            profile = p["data"] ?? .null
            if p["echo"]?.boolValue ?? true {
                for c in channels.sorted() {
                    deliveries.append(("channel:update", ["channel": .string(c), "message": ["id": "loopback-sid", "data": profile]]))
                }
            }
        default:
            break
        }
        let queued = deliveries
        eventLoop.execute { [self] in
            for (name, data) in queued { delegate?.socketDidReceive(event: name, args: [data], ack: nil) }
        }
    }

    /// A user event as the server would push it.
    func pushUserEvent(_ name: String, session: JSONValue) {
        delegate?.socketDidReceive(event: name, args: [.string(name), session], ack: nil)
    }
}

/// The `realtime` global bound to a real RealtimeManager over the loopback connection.
final class RealtimeBindingTests: XCTestCase {
    private func runRealtime(_ source: String, timeout: Int64 = 30) throws -> ScriptRun {
        try runScript(source, timeout: timeout) { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { config, loop, http in
                RealtimeManager(config: config, connection: LoopbackConnection(eventLoop: loop), http: http)
            }
        }
    }

    func testOnDeliversDataWithChannelAndMessage() throws {
        let run = try runRealtime("""
        realtime:on("chat", function(d)
          print(d.channel, d.message.text, d.message.n, math.type(d.message.n))
          realtime:close()
        end)
        realtime:broadcast("chat", {text = "hi", n = 2})
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["nil\thi\t2\tinteger"])
    }

    func testSendJoinLeaveAndPresenceListeners() throws {
        let run = try runRealtime("""
        realtime:onJoin(function(d) print("join", d.channel, d.message.id) end)
        realtime:onUpdate(function(d) print("update", d.channel, d.message.data.name) end)
        realtime:onLeave(function(d)
          print("leave", d.channel, d.message.id)
          realtime:close()
        end)
        realtime:on("msg", function(d)
          print("msg", d.channel, d.message)
          realtime:updateProfile({name = "bot"})
          realtime:leave("room")
        end)
        realtime:join("room")
        realtime:send("room", "msg", "hello")
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["join\troom\tloopback-sid", "msg\troom\thello", "update\troom\tbot", "leave\troom\tloopback-sid"])
    }

    func testOnceOffOnAnyOffAny() throws {
        let run = try runRealtime("""
        local function any(name, d) print("any", name, d.message) end
        local function keep(d) print("keep", d.message) end
        local function dropped(d) print("dropped", d.message) end
        realtime:once("e", function(d) print("once", d.message) end)
        realtime:on("e", keep)
        realtime:on("e", dropped)
        realtime:off("e", dropped)
        realtime:onAny(any)
        realtime:broadcast("e", 1)
        timer.after(0.1, function()
          realtime:offAny(any)
          realtime:broadcast("e", 2)
          timer.after(0.1, function()
            realtime:off("e")
            realtime:broadcast("e", 3)
            timer.after(0.1, function() realtime:close() end)
          end)
        end)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        // onAny listeners hear an event before its own listeners (socket.io-client order).
        XCTAssertEqual(run.lines, ["any\te\t1", "once\t1", "keep\t1", "keep\t2"])
    }

    func testConnectionLifeSocketIdAndIsConnected() throws {
        let run = try runRealtime("""
        print("before", realtime:getSocketId(), realtime:isConnected())
        realtime:onConnect(function()
          print("connected", realtime:getSocketId(), realtime:isConnected())
          realtime:close()
        end)
        realtime:onDisconnect(function(reason) print("disconnected", reason) end)
        realtime:onError(function(err) print("error", err) end)
        realtime:onReconnectAttempt(function(n) print("attempt", n) end)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["before\tnil\tfalse", "connected\tloopback-sid\ttrue", "disconnected\tio client disconnect"])
    }

    func testOpenAgainAfterClose() throws {
        let run = try runRealtime("""
        local n = 0
        realtime:onConnect(function()
          n = n + 1
          print("connect", n)
          realtime:close()
          if n == 1 then timer.after(0.05, function() realtime:open() end) end
        end)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["connect\t1", "connect\t2"])
    }

    func testUserEventsAndRemoveListener() throws {
        let run = try runRealtime("""
        local function user(name, session) print(name, session.token) end
        realtime:onUserEvent(user)
        realtime:removeListener(user)
        realtime:onUserEvent(function(name, session) print("user", name, session == json.null) end)
        realtime:removeAllListeners()
        realtime:onConnect(function() print("still alive"); realtime:close() end)
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["still alive"])
    }

    func testBinaryGoesOutAsBinaryAndComesBackAsAString() throws {
        let run = try runRealtime("""
        realtime:on("bin", function(d)
          print(type(d.message.raw), #d.message.raw, d.message.raw == "\\xff\\x00", d.message.tagged)
          realtime:close()
        end)
        realtime:broadcast("bin", {raw = "\\xff\\x00", tagged = realtime.binary("ok")})
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["string\t2\ttrue\tok"])
    }

    func testBadArgumentsNameTheArgumentAtTheCallersLine() throws {
        let run = try runRealtime("""
        print(select(2, pcall(function() realtime:send("room", nil, {}) end)))
        print(select(2, pcall(function() realtime:send("room", "ev", {items = {1, 2, {fn = print}}}) end)))
        print(select(2, pcall(function() realtime:join() end)))
        print(select(2, pcall(function() realtime:broadcast("connect", 1) end)))
        print(select(2, pcall(function() realtime:broadcast("", 1) end)))
        print(select(2, pcall(function() realtime:join(string.rep("c", 300)) end)))
        print(select(2, pcall(function() realtime.broadcast("ev", 1) end)))
        print(select(2, pcall(function() realtime:on("ev") end)))
        realtime:close()
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        let lines = run.relativeLines
        XCTAssertEqual(lines.count, 8, run.stdout)
        guard lines.count == 8 else { return }
        XCTAssertEqual(lines[0], "test.lua:1: bad argument #2 to 'send' (eventName: string expected, got nil)")
        XCTAssertEqual(lines[1], "test.lua:2: bad argument #3 to 'send' (message.items[3].fn: a function has no JSON form)")
        XCTAssertEqual(lines[2], "test.lua:3: bad argument #1 to 'join' (channel: string expected, got no value)")
        XCTAssertTrue(lines[3].hasPrefix("test.lua:4: ") && lines[3].contains("eventName"), lines[3])
        XCTAssertTrue(lines[4].hasPrefix("test.lua:5: ") && lines[4].contains("eventName"), lines[4])
        XCTAssertTrue(lines[5].hasPrefix("test.lua:6: ") && lines[5].contains("channel"), lines[5])
        XCTAssertEqual(lines[6], "test.lua:7: realtime.broadcast must be called with a colon: realtime:broadcast(…)")
        XCTAssertEqual(lines[7], "test.lua:8: bad argument #2 to 'on' (listener: function expected, got no value)")
    }

    /// Runs a script whose `realtime` sits on a loopback connection logging every frame sent.
    private func runScriptLoggingFrames(_ source: String, frames: FrameLog) throws -> ScriptRun {
        try runScript(source) { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { config, loop, http in
                let connection = LoopbackConnection(eventLoop: loop)
                connection.onFrame = { frames.add($0, $1) }
                return RealtimeManager(config: config, connection: connection, http: http)
            }
        }
    }

    /// What a script's send puts on the wire, byte for byte: the packet python-socketio reads,
    /// the same whether it was buffered while connecting (flushed through the encoder) or
    /// written straight from the table's text once connected.
    func testSentMessagesAreTheExactPacketsBufferedOrDirect() throws {
        let frames = FrameLog()
        let run = try runScriptLoggingFrames("""
        local bodies = {
          {seq = 1},
          {'q"u\\\\o\\nte\\1'},
          {u = "é€😀"},
          {a = {1, {b = {true, json.null, 2.5, -0.125}}}},
          {n = 1764486280.123456},
          {e = json.array()},
        }
        local function sendAll(echo)
          for _, b in ipairs(bodies) do realtime:send("c\\"h", "ev/é", b, echo) end
        end
        sendAll(false)  -- not connected yet: buffered
        realtime:onConnect(function()
          sendAll(false)
          realtime:broadcast("all", {seq = 2})
          realtime:close()
        end)
        """, frames: frames)
        XCTAssertEqual(run.end, .finished, run.stderr)
        let bodies = [#"{"seq":1}"#, #"["q\"u\\o\nte\u0001"]"#, #"{"u":"é€😀"}"#, #"{"a":[1,{"b":[true,null,2.5,-0.125]}]}"#,
                      #"{"n":1764486280.123456}"#, #"{"e":[]}"#]
        let expected = bodies.map { #"42["message",{"channel":"c\"h","eventName":"ev/é","message":"# + $0 + #","echo":false}]"# }
        let log = frames.all
        XCTAssertEqual(log.map(\.text), expected + expected + [#"42["message",{"eventName":"all","message":{"seq":2}}]"#])
        XCTAssertEqual(log.map(\.fromText), Array(repeating: false, count: bodies.count) + Array(repeating: true, count: bodies.count + 1),
                       "buffered sends go through the encoder, connected ones are written from their text")
    }

    /// Channel and event names change from send to send (strings of the same length, a
    /// number, bytes that are not UTF-8): each send carries its own.
    func testNamesChangingFromSendToSend() throws {
        let frames = FrameLog()
        let run = try runScriptLoggingFrames("""
        realtime:onConnect(function()
          for _, c in ipairs({"ab", "ab", "cd", 7, "ab", "\\xff"}) do
            for _, e in ipairs({"e1", "e2"}) do realtime:send(c, e, {n = 1}) end
          end
          realtime:broadcast("e2", 1)
          realtime:broadcast(3, 2)
          realtime:close()
        end)
        realtime:open()
        """, frames: frames)
        XCTAssertEqual(run.end, .finished, run.stderr)
        let channels = ["ab", "ab", "cd", "7", "ab", "\u{FFFD}"]
        XCTAssertEqual(frames.all.map(\.text), channels.flatMap { c in
            ["e1", "e2"].map { #"42["message",{"channel":""# + c + #"","eventName":""# + $0 + #"","message":{"n":1}}]"# }
        } + [#"42["message",{"eventName":"e2","message":1}]"#, #"42["message",{"eventName":"3","message":2}]"#])
    }

    func testAMessageTextKeptByTheManagerIsNotOverwrittenByTheNextSend() throws {
        // The profile is kept for the replay after a reconnect, while later messages reuse the
        // text buffer: the profile must stay what it was.
        let frames = FrameLog()
        let run = try runScriptLoggingFrames("""
        local connects = 0
        realtime:onConnect(function()
          connects = connects + 1
          if connects == 1 then
            realtime:updateProfile({name = "first"})
            for i = 1, 3 do realtime:broadcast("m", {pad = string.rep("z", 40) .. i}) end  -- one key: a fixed order
            realtime:close()
          else
            realtime:close()
          end
        end)
        realtime:onDisconnect(function()
          if connects == 1 then realtime:open() end
        end)
        realtime:open()
        """, frames: frames)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(frames.all.map(\.text), [
            #"42["update",{"data":{"name":"first"}}]"#,
            #"42["message",{"eventName":"m","message":{"pad":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1"}}]"#,
            #"42["message",{"eventName":"m","message":{"pad":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz2"}}]"#,
            #"42["message",{"eventName":"m","message":{"pad":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz3"}}]"#,
            #"42["update",{"data":{"name":"first"}}]"#,
        ])
    }

    func testAMethodCalledOnAnotherUserdataIsTheColonError() throws {
        let run = try runRealtime("""
        print(select(2, pcall(function() realtime.send(json.null, "c", "e", {}) end)))
        print(select(2, pcall(function() realtime.send(realtime.binary("x"), "c", "e", {}) end)))
        print(select(2, pcall(function() realtime.send({}, "c", "e", {}) end)))
        realtime:close()
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.relativeLines, Array(repeating: "realtime.send must be called with a colon: realtime:send(…)", count: 3).enumerated().map {
            "test.lua:\($0.offset + 1): " + $0.element
        })
    }

    func testAScriptThatNeverTouchesRealtimeOpensNothingAndEnds() throws {
        let run = try runScript("print('no socket')") { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { _, _, _ in
                XCTFail("a manager was made")
                throw RealtimeErrorStandIn()
            }
        }
        XCTAssertEqual(run.end, .finished)
    }

    func testAnOpenConnectionKeepsTheScriptAliveUntilClosed() throws {
        let run = try runRealtime("""
        realtime:onConnect(function()
          print("connected")
          timer.after(0.1, function() print("closing"); realtime:close() end)
        end)
        """)
        XCTAssertEqual(run.end, .finished)
        XCTAssertEqual(run.lines, ["connected", "closing"])
    }

    func testGetMembersWaitsForTheRESTAnswerWithoutBlockingOthers() throws {
        let server = try EchoServer()
        defer { try? server.stop() }
        let run = try runScript("""
        timer.after(0, function() print("meanwhile") end)
        local members = realtime:getMembers("room")
        print(#members, members[1].id, members[1].data.name)
        local none = realtime:getMembers("empty")
        print(#none, json.encode(none))
        realtime:close()
        """) { options in
            options.realtime = RealtimeConfig(baseURL: server.base)
            options.makeManager = { config, loop, http in
                RealtimeManager(config: config, connection: LoopbackConnection(eventLoop: loop), http: http)
            }
        }
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["meanwhile", "1\tmember-1\tann", "0\t[]"])
    }

    func testGetMembersFailureIsNilAndAnErrorObject() throws {
        let run = try runRealtime("""
        local members, err = realtime:getMembers("room")
        print(members, type(err), type(err.message), tostring(err) == err.message)
        realtime:close()
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.lines, ["nil\ttable\tstring\ttrue"])
    }

    func testExitGivesAConnectingManagerTheChanceToFlush() throws {
        let sent = SentLog()
        let run = try runScript("realtime:broadcast('bye', {n = 1})\nexit(0)\n") { options in
            options.realtime = RealtimeConfig(baseURL: "http://127.0.0.1:1")
            options.makeManager = { config, loop, http in
                let connection = LoopbackConnection(eventLoop: loop)
                connection.onEmit = { event, args in sent.append(event, args) }
                return RealtimeManager(config: config, connection: connection, http: http)
            }
        }
        XCTAssertEqual(run.end, .exited(0))
        XCTAssertEqual(sent.entries.map(\.0), ["message"])
        XCTAssertEqual(sent.entries.first?.1.first?["eventName"], "bye")
    }

    func testManyListenersAddedAndRemovedKeepMemoryFlat() throws {
        let run = try runRealtime("""
        local function churn(n)
          for i = 1, n do
            local fn = function() return i end
            realtime:on("ev", fn)
            realtime:off("ev", fn)
            local g = function() return i end
            realtime:onJoin(g)
            realtime:removeListener(g)
          end
        end
        churn(1000)
        collectgarbage(); collectgarbage()
        local base = collectgarbage("count")
        churn(100000)
        collectgarbage(); collectgarbage()
        print(math.floor(collectgarbage("count") - base))
        realtime:close()
        """, timeout: 120)
        XCTAssertEqual(run.end, .finished, run.stderr)
        let growthKB = Int(run.lines.first ?? "") ?? Int.max
        XCTAssertLessThan(growthKB, 64, "Lua memory grew by \(growthKB) KB over 100,000 listeners")
    }

    func testRealtimeConnectMakesAnIndependentManager() throws {
        let run = try runRealtime("""
        local other = realtime.connect{url = "http://127.0.0.1:2", echoMessages = true, timeout = 5000}
        other:onConnect(function()
          print("other connected", other:getSocketId())
          other:close()
        end)
        local inherited = realtime.connect{key = "k"}  -- url from the command line
        print("inherited", inherited ~= realtime, inherited ~= other)
        inherited:close()
        print(pcall(function() return realtime.connect{url = "http://x", timeout = "soon"} end))
        """)
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.relativeLines, [
            "inherited\ttrue\ttrue",
            "false\ttest.lua:9: bad argument #1 to 'connect' (field 'timeout' must be a non-negative integer (milliseconds))",
            "other connected\tloopback-sid",
        ])
    }

    func testRealtimeConnectWithoutAURLAnywhereNamesTheField() throws {
        let run = try runScript("print(pcall(function() return realtime.connect{key = 'k'} end))\n")
        XCTAssertEqual(run.end, .finished, run.stderr)
        XCTAssertEqual(run.relativeLines, [
            "false\ttest.lua:1: bad argument #1 to 'connect' (field 'url' must be a string, got nil (and the command line gives none))",
        ])
    }
}

struct RealtimeErrorStandIn: Error {}

/// Emits seen by a loopback connection, from its loop, read by the test afterwards.
final class SentLog: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var items: [(String, [JSONValue])] = []
    func append(_ event: String, _ args: [JSONValue]) { lock.withLock { items.append((event, args)) } }
    var entries: [(String, [JSONValue])] { lock.withLock { items } }
}

/// Frames seen by a LoopbackConnection, from the script's loop, read by the test after the run.
final class FrameLog: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var list: [(text: String, fromText: Bool)] = []
    var all: [(text: String, fromText: Bool)] { lock.withLock { list } }
    func add(_ text: String, _ fromText: Bool) { lock.withLock { list.append((text, fromText)) } }
}

final class NameCacheTests: XCTestCase {
    /// The kept String comes back only for the very same bytes: a difference in the
    /// eight-byte words or in the tail, or another length, makes a new one.
    func testSameBytesOnly() {
        var cache = NameCache()
        func name(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { cache.string($0) } }
        let base = Array("channel-name-17x".utf8)  // two words
        XCTAssertEqual(name(base), "channel-name-17x")
        XCTAssertEqual(name(base), "channel-name-17x")
        for at in base.indices {
            var other = base
            other[at] ^= 0x01
            XCTAssertEqual(name(other), String(decoding: other, as: UTF8.self), "byte \(at)")
            XCTAssertEqual(name(base), "channel-name-17x")
        }
        XCTAssertEqual(name(Array(base.dropLast())), "channel-name-17")
        XCTAssertEqual(name([]), "")
        XCTAssertEqual(name([0x61, 0xFF]), "a\u{FFFD}", "repaired like Lua.string")
        XCTAssertEqual(name([0x61, 0xFE]), "a\u{FFFD}")
        XCTAssertEqual(name(Array("abcdefghi".utf8)), "abcdefghi")
        XCTAssertEqual(name(Array("abcdefghj".utf8)), "abcdefghj")
    }
}
