import CLua
import Metrics
import NIOCore
import Realtime
import RTJSON

/// `check(value, {name = predicate, …})`, `metrics.counter/rate/trend/gauge(name)` with
/// `:add(value [, tags])`, and the built-in metrics recorded on the message paths
/// (docs/metrics.md). Everything goes to the registry of the script's event loop: no lock.
extension LuaScript {
    /// `check` and the metric objects are thin Lua over one Swift recorder, so a predicate
    /// runs (and may wait) in the caller's coroutine like any Lua function.
    private static let metricsPrelude = """
    local record, declare, pcall, pairs, type, tostring, error, setmetatable = ...
    function check(value, checks)
      if type(checks) ~= "table" then
        error("bad argument #2 to 'check' (table of predicates expected, got " .. type(checks) .. ")", 2)
      end
      local all = true
      for name, predicate in pairs(checks) do
        local passed
        if type(predicate) == "function" then
          local ok, result = pcall(predicate, value)
          passed = ok and result ~= nil and result ~= false
        else
          passed = predicate ~= nil and predicate ~= false
        end
        record("rate", "checks", passed, { check = tostring(name) })
        if not passed then all = false end
      end
      return all
    end
    metrics = {}
    for _, kind in pairs({ "counter", "rate", "trend", "gauge" }) do
      local meta = { __name = "metrics." .. kind, __index = {} }
      meta.__index.add = function(self, value, tags)
        record(kind, self.name, value, tags)
      end
      meta.__tostring = function(self) return "metrics." .. kind .. "(" .. self.name .. ")" end
      metrics[kind] = function(name)
        declare(kind, name)
        return setmetatable({ name = name, kind = kind }, meta)
      end
    end
    """

    func installMetricsGlobals() {
        let status = Self.metricsPrelude.withCString { luaL_loadbufferx(L, $0, Self.metricsPrelude.utf8.count, "=rtlua", "t") }
        precondition(status == LUA_OK, "rtlua metrics prelude: \(Lua.errorText(L, -1))")
        Lua.pushFunction(L, metricRecord)
        Lua.pushFunction(L, metricDeclare)
        for name in ["pcall", "pairs", "type", "tostring", "error", "setmetatable"] { lua_getglobal(L, name) }
        let ran = lua_pcallk(L, 8, 0, 0, 0, nil)
        precondition(ran == LUA_OK, "rtlua metrics prelude: \(Lua.errorText(L, -1))")
    }

    /// The registry of this script's loop (nil when the runner keeps no metrics).
    var metricsRegistry: MetricsRegistry? { options.metrics?.registry(for: ObjectIdentifier(eventLoop)) }

    /// The registry when built-in metrics are on; the hooks below cost this one check otherwise.
    var builtinMetrics: MetricsRegistry? {
        guard let run = options.metrics, run.builtins else { return nil }
        return run.registry(for: ObjectIdentifier(eventLoop))
    }

    /// A message this script sent: counted, and its send time noted for the delivery latency.
    func noteSent(event: String, channel: String?, message: JSONValue) {
        guard let registry = builtinMetrics else { return }
        let cells = registry.cells(event: event)
        cells.sent.add(1)
        if case .raw(let raw) = message {
            cells.bytesSent.add(Double(raw.bytes.count))
            options.metrics!.delivery.sent(DeliveryClock.key(event: event, channel: channel, text: raw.bytes),
                                           at: NIODeadline.now().uptimeNanoseconds)
        }
    }

    /// Milliseconds since `start` into the built-in trend `name` (getMembers, http).
    func noteDuration(_ name: String, since start: NIODeadline) {
        guard let registry = builtinMetrics else { return }
        try? registry.add(name, .trend, Double((NIODeadline.now() - start).nanoseconds) / 1e6)
    }

    /// Listens on `manager` for the built-in metrics: messages received (and their delivery
    /// latency), connect time, reconnection attempts, errors. Called again after the
    /// script's removeAllListeners.
    func watchMetrics(_ manager: RealtimeManager) {
        guard let registry = builtinMetrics, let run = options.metrics else { return }
        let loop = eventLoop
        var since: NIODeadline? = manager.isConnected() ? nil : .now()
        manager.onAny { event, data in
            let now = NIODeadline.now().uptimeNanoseconds
            let cells = registry.cells(event: event)
            cells.received.add(1)
            if case .raw(let raw) = data.message {
                cells.bytesReceived.add(Double(raw.bytes.count))
                if let ms = run.delivery.delivered(DeliveryClock.key(event: event, channel: data.channel, text: raw.bytes), at: now) {
                    cells.delivery.add(ms)
                }
            }
        }
        manager.onConnect {
            loop.preconditionInEventLoop()
            if let start = since {
                try? registry.add(Builtin.connect, .trend, Double((NIODeadline.now() - start).nanoseconds) / 1e6)
                registry.connected += 1
            }
            since = nil
        }
        manager.onDisconnect { _ in
            if since == nil { registry.connected -= 1 }
            since = since ?? .now()
        }
        manager.onReconnectAttempt { _ in try? registry.add(Builtin.reconnects, .counter, 1) }
        manager.onError { _ in try? registry.add(Builtin.errors, .counter, 1) }
    }
}

extension LuaScript {
    /// At script end, before its listeners go: a connection still up stops counting as one.
    func forgetMetrics(_ manager: RealtimeManager) {
        if let registry = builtinMetrics, manager.isConnected() { registry.connected -= 1 }
    }
}

/// `record(kind, name, value, tags)`: one value into a series of this loop's registry.
private let metricRecord: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let host = LuaScript.host(L)
        let kind = MetricKind(rawValue: Lua.string(L, 1) ?? "") ?? .counter
        let name = Lua.string(L, 2) ?? ""
        let value: Double
        switch (kind, lua_type(L, 3)) {
        case (.rate, LUA_TBOOLEAN), (.rate, LUA_TNIL):
            value = lua_toboolean(L, 3) != 0 ? 1 : 0
        case (_, LUA_TNUMBER):
            value = lua_tonumberx(L, 3, nil)
            guard value.isFinite else { throw LuaRaise.message("bad argument #1 to 'add' (a finite number expected)") }
            if kind == .trend, value < 0 { throw LuaRaise.message("bad argument #1 to 'add' (a trend takes values ≥ 0, got \(value))") }
        default:
            throw LuaRaise.message("bad argument #1 to 'add' (\(kind == .rate ? "boolean or number" : "number") expected, got \(Lua.typeName(L, 3)))")
        }
        var tags: Tags = [:]
        switch lua_type(L, 4) {
        case LUA_TNONE, LUA_TNIL: break
        case LUA_TTABLE:
            lua_pushnil(L)
            while lua_next(L, 4) != 0 {
                guard lua_type(L, -2) == LUA_TSTRING, let key = Lua.string(L, -2) else {
                    throw LuaRaise.message("bad argument #2 to 'add' (tag names must be strings)")
                }
                switch lua_type(L, -1) {
                case LUA_TSTRING, LUA_TNUMBER: tags[key] = Lua.string(L, -1) ?? ""
                case LUA_TBOOLEAN: tags[key] = lua_toboolean(L, -1) != 0 ? "true" : "false"
                default: throw LuaRaise.message("bad argument #2 to 'add' (tag '\(key)' must be a string, got \(Lua.typeName(L, -1)))")
                }
                Lua.pop(L)
            }
        default:
            throw LuaRaise.message("bad argument #2 to 'add' (table of tags expected, got \(Lua.typeName(L, 4)))")
        }
        guard let registry = host.metricsRegistry else { return 0 }
        do { try registry.add(name, kind, value, tags: tags) } catch { throw LuaRaise.message("\(error)") }
        return 0
    }
}

/// `declare(kind, name)`: checks the name and that the metric keeps one kind.
private let metricDeclare: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let kind = MetricKind(rawValue: Lua.string(L, 1) ?? "") ?? .counter
        guard lua_type(L, 2) == LUA_TSTRING, let name = Lua.string(L, 2) else {
            throw LuaRaise.message("bad argument #1 to 'metrics.\(kind)' (string expected, got \(Lua.typeName(L, 2)))")
        }
        guard MetricName.isValid(name) else {
            throw LuaRaise.message("bad argument #1 to 'metrics.\(kind)' (a metric name is letters, digits and _, not starting with a digit: '\(name)')")
        }
        if Builtin.kinds[name] != nil {
            throw LuaRaise.message("bad argument #1 to 'metrics.\(kind)' ('\(name)' is a built-in metric)")
        }
        guard let registry = LuaScript.host(L).metricsRegistry else { return 0 }
        do { try registry.declare(name, kind) } catch { throw LuaRaise.message("\(error)") }
        return 0
    }
}
