import AltogicProtocol
import Clocks
import CLua
import NIOCore
import Realtime
import RTJSON

/// `realtime:waitFor(event, {channel=, match=, timeout=})`: suspends only the calling
/// coroutine until an event arrives that matches, and returns its data; `nil, err` when the
/// timeout (on the script's clock, 10 s by default) passes first. Channel events, presence
/// events (`channel:join/leave/update`), the `user:*` events and `connect`/`disconnect` can
/// be waited for. The listener it adds is gone when it returns (a to-be-closed waiter).
///
/// The matching loop is Lua (a `match` function is called as Lua code, and may itself wait);
/// the waiter under it is Swift: it queues the arrivals from the moment waitFor is called,
/// so none is missed while `match` runs.
extension LuaScript {
    static let waiterMeta = "rtlua.waiter"

    /// How waitFor's `match` decides, as a Lua function `matches(data, match)`: no match
    /// takes anything; a function is called with the data; a table matches when every field
    /// it names is equal in `data.message` (or in `data` when it has no message), recursively.
    /// `rtlua test`'s clients match what they kept with it too (TestPrelude).
    static let eventMatchSource = """
    local type, pairs = ...
    local function same(expected, actual)
      if type(expected) ~= "table" then return expected == actual end
      if type(actual) ~= "table" then return false end
      for k, v in pairs(expected) do
        if not same(v, actual[k]) then return false end
      end
      return true
    end
    return function(data, match)
      if match == nil then return true end
      if type(match) == "function" then return match(data) end
      local subject = data.message
      if subject == nil then subject = data end
      return same(match, subject)
    end
    """

    /// Pushes a new `matches(data, match)` (`eventMatchSource`).
    static func pushEventMatch(_ L: OpaquePointer) throws(LuaRaise) {
        let status = eventMatchSource.withCString { luaL_loadbufferx(L, $0, eventMatchSource.utf8.count, "=waitFor", "t") }
        precondition(status == LUA_OK, "rtlua waitFor match: \(Lua.errorText(L, -1))")
        for name in ["type", "pairs"] { lua_getglobal(L, name) }
        guard lua_pcallk(L, 2, 1, 0, 0, nil) == LUA_OK else { throw LuaRaise.message(Lua.errorText(L, -1)) }
    }

    private static let waitForSource = """
    local open, matches, pcall, error, tostring = ...
    return function(self, event, opts)
      local ok, waiter, match = pcall(open, self, event, opts)
      if not ok then
        -- A bad argument is the caller's mistake: raised at the caller's line, named waitFor.
        local text = tostring(waiter):gsub("^waitFor:%d+: ", "", 1):gsub("^(bad argument #%d+ to )'[^']*'", "%1'waitFor'", 1)
        error(text, 2)
      end
      local w <close> = waiter
      while true do
        local data, err = w:next()
        if data == nil then return nil, err end
        if matches(data, match) then return data end
      end
    end
    """

    /// Pushes the `waitFor` function (built now), and keeps it in the method table `methods`.
    func makeWaitFor(_ co: OpaquePointer, methods: Int32) throws(LuaRaise) {
        luaL_newmetatable(co, Self.waiterMeta)
        lua_createtable(co, 0, 1)
        Lua.setFunction(co, -1, "next", waiterNext)
        lua_setfield(co, -2, "__index")
        Lua.pushFunction(co, waiterClose)
        lua_setfield(co, -2, "__close")
        Lua.pushFunction(co, waiterCollect)
        lua_setfield(co, -2, "__gc")
        Lua.pop(co)

        let status = Self.waitForSource.withCString { luaL_loadbufferx(co, $0, Self.waitForSource.utf8.count, "=waitFor", "t") }
        precondition(status == LUA_OK, "rtlua waitFor: \(Lua.errorText(co, -1))")
        Lua.pushFunction(co, waiterOpen)
        try Self.pushEventMatch(co)
        for name in ["pcall", "error", "tostring"] { lua_getglobal(co, name) }
        guard lua_pcallk(co, 5, 1, 0, 0, nil) == LUA_OK else { throw LuaRaise.message(Lua.errorText(co, -1)) }
        lua_pushvalue(co, -1)
        lua_setfield(co, methods, "waitFor")
    }
}

/// One waitFor in progress: the arrivals not yet looked at, the coroutine waiting for one.
final class EventWaiter: @unchecked Sendable {  // confined to its script's event loop
    let description: String
    let timeout: Double
    let deadline: Double
    var queue: [(OpaquePointer) -> Int32] = []
    var waitingThread: OpaquePointer?
    var timeoutTask: ClockTask?
    var unsubscribe: (() -> Void)?
    var closed = false

    init(description: String, timeout: Double, deadline: Double) {
        self.description = description
        self.timeout = timeout
        self.deadline = deadline
    }

    var timeoutMessage: String {
        let seconds = timeout == timeout.rounded() ? String(Int(timeout)) : String(timeout)
        return "\(description): nothing arrived within \(seconds)s"
    }

    func arrive(_ host: LuaScript, _ push: @escaping (OpaquePointer) -> Int32) {
        guard !closed else { return }
        queue.append(push)
        if let co = waitingThread {
            waitingThread = nil
            host.wake(co) { [self] co in queue.isEmpty ? 0 : queue.removeFirst()(co) }
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        queue = []
        timeoutTask?.cancel()
        timeoutTask = nil
        unsubscribe?()
        unsubscribe = nil
    }
}

private func waiter(_ L: OpaquePointer) throws(LuaRaise) -> EventWaiter {
    guard let p = luaL_testudata(L, 1, LuaScript.waiterMeta), let raw = p.load(as: UnsafeRawPointer?.self) else {
        throw Lua.typeError(L, 1, "waiter")
    }
    return Unmanaged<EventWaiter>.fromOpaque(raw).takeUnretainedValue()
}

/// open(self, event, opts) → waiter, match
private let waiterOpen: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let host = LuaScript.host(L)
        let b = try host.binding(L, "waitFor")
        let event = try Lua.checkString(L, 2, name: "eventName")
        guard !event.isEmpty else { throw LuaRaise.argument(2, "event name must not be empty") }
        var channel: String?
        var timeout = 10.0
        let hasOptions = lua_type(L, 3) > LUA_TNIL
        if hasOptions {
            try Lua.checkTable(L, 3, name: "options")
            lua_getfield(L, 3, "channel")
            if lua_type(L, -1) > LUA_TNIL {
                guard lua_type(L, -1) == LUA_TSTRING else { throw LuaRaise.argument(3, "options.channel: string expected") }
                channel = Lua.string(L, -1)
            }
            Lua.pop(L)
            lua_getfield(L, 3, "timeout")
            if lua_type(L, -1) > LUA_TNIL {
                var ok: Int32 = 0
                let t = lua_tonumberx(L, -1, &ok)
                guard ok != 0, t.isFinite, t >= 0 else { throw LuaRaise.argument(3, "options.timeout: non-negative number of seconds expected") }
                timeout = t
            }
            Lua.pop(L)
            lua_getfield(L, 3, "match")
            let t = lua_type(L, -1)
            guard t <= LUA_TNIL || t == LUA_TFUNCTION || t == LUA_TTABLE else {
                throw LuaRaise.argument(3, "options.match: function or table expected, got \(Lua.typeName(L, -1))")
            }
            Lua.pop(L)
        }
        let manager = try b.use(host)
        var what = "waitFor('\(event)'"
        if let channel { what += " on channel '\(channel)'" }
        what += ")"
        let w = EventWaiter(description: what, timeout: timeout, deadline: host.clock.now() + timeout)
        let deliver: (@escaping (OpaquePointer) -> Int32) -> Void = { [weak host, weak w] push in
            guard let host, let w, !host.isEnded else { return }
            w.arrive(host, push)
        }
        let token: ListenerToken
        switch event {
        case _ where ProtocolNames.userEvents.contains(event):
            token = manager.onUserEvent { [weak host] name, session in
                guard name == event, let host else { return }
                deliver { co in
                    lua_createtable(co, 0, 2)
                    Lua.pushString(co, name)
                    lua_setfield(co, -2, "event")
                    host.bridge.push(co, session)
                    lua_setfield(co, -2, "session")
                    return 1
                }
            }
        case "connect":
            // Waiting to be connected: at once when already so.
            token = manager.onConnect { deliver { co in lua_createtable(co, 0, 0); return 1 } }
            if manager.isConnected() { deliver { co in lua_createtable(co, 0, 0); return 1 } }
        case "disconnect":
            token = manager.onDisconnect { reason in
                deliver { co in
                    lua_createtable(co, 0, 1)
                    Lua.pushString(co, reason)
                    lua_setfield(co, -2, "reason")
                    return 1
                }
            }
        default:
            token = manager.on(event) { [weak host] data in
                guard let host else { return }
                if let channel, data.channel != channel { return }
                deliver { co in host.pushEventData(co, data); return 1 }
            }
        }
        w.unsubscribe = { [weak manager] in manager?.removeListener(token: token) }
        let p = lua_newuserdatauv(L, MemoryLayout<UnsafeRawPointer>.size, 0)!
        p.storeBytes(of: UnsafeRawPointer(Unmanaged.passRetained(w).toOpaque()), as: UnsafeRawPointer?.self)
        luaL_setmetatable(L, LuaScript.waiterMeta)
        if hasOptions { lua_getfield(L, 3, "match") } else { lua_pushnil(L) }
        return 2
    }
}

/// waiter:next() → the next arrival's data, or nil, err once the deadline has passed.
private let waiterNext: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let w = try waiter(L)
        let host = LuaScript.host(L)
        if !w.queue.isEmpty { return w.queue.removeFirst()(L) }
        if w.closed || host.clock.now() >= w.deadline {
            lua_pushnil(L)
            Lua.pushString(L, w.timeoutMessage)
            return 2
        }
        try host.suspend(L, "waitFor")
        w.waitingThread = L
        if w.timeoutTask == nil {
            w.timeoutTask = host.clock.schedule(at: w.deadline, on: host.eventLoop) { [weak host, weak w] in
                guard let host, let w else { return }
                w.timeoutTask = nil
                guard let co = w.waitingThread else { return }
                w.waitingThread = nil
                let message = w.timeoutMessage
                host.wake(co) { co in
                    lua_pushnil(co)
                    Lua.pushString(co, message)
                    return 2
                }
            }
        }
        return LuaReturn.yield
    }
}

private let waiterClose: LuaSwiftFunction = { L in
    let L = L!
    if let p = luaL_testudata(L, 1, LuaScript.waiterMeta), let raw = p.load(as: UnsafeRawPointer?.self) {
        Unmanaged<EventWaiter>.fromOpaque(raw).takeUnretainedValue().close()
    }
    return 0
}

private let waiterCollect: LuaSwiftFunction = { L in
    let L = L!
    if let p = luaL_testudata(L, 1, LuaScript.waiterMeta), let raw = p.load(as: UnsafeRawPointer?.self) {
        let w = Unmanaged<EventWaiter>.fromOpaque(raw)
        w.takeUnretainedValue().close()
        w.release()
        p.storeBytes(of: nil, as: UnsafeRawPointer?.self)
    }
    return 0
}
