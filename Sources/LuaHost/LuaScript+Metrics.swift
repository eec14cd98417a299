import CLua
import Metrics
import NIOCore
import Realtime
import RTJSON

/// The built-in message metrics of one connection: its loop's registry and the run's
/// delivery clock, looked up once (when the binding starts watching its manager), so a send
/// or a receipt costs no lookup of either, and the clock is read once per message.
final class MessageMetrics {
    let registry: MetricsRegistry
    let clock: DeliveryClock
    /// `--delivery-stamp`: message objects carry their send time (DeliveryStamp).
    let stamp: Bool

    init(registry: MetricsRegistry, clock: DeliveryClock, stamp: Bool = false) {
        self.registry = registry
        self.clock = clock
        self.stamp = stamp
    }

    /// With the stamp on, a message object with its send time spliced in (else as it is).
    func outgoing(_ message: JSONValue) -> JSONValue {
        guard stamp, case .raw(let raw) = message,
              let text = DeliveryStamp.stamped(raw.bytes, atMilliseconds: DeliveryStamp.nowMilliseconds()) else { return message }
        return .raw(RawJSON(unchecked: text))
    }

    /// A message the script sent: counted, and its send time noted for the delivery latency
    /// (unless it carries it: a stamped message is timed from its stamp only).
    func sent(event: String, channel: String?, message: JSONValue) {
        let cells = registry.cells(event: event)
        cells.sent.add(1)
        guard case .raw(let raw) = message else { return }
        cells.bytesSent.add(Double(raw.bytes.count))
        if stamp, DeliveryStamp.objectStart(raw.bytes) != nil { return }
        clock.sent(DeliveryClock.key(event: event, channel: channel, text: raw.bytes), at: NIODeadline.now().uptimeNanoseconds)
    }

    /// A message received: counted, and timed from its stamp when it carries one (stamp
    /// on), else when this process sent it.
    func received(event: String, data: EventData) {
        let cells = registry.cells(event: event)
        cells.received.add(1)
        guard case .raw(let raw) = data.message else { return }
        cells.bytesReceived.add(Double(raw.bytes.count))
        if stamp, let sent = DeliveryStamp.read(raw.bytes) {
            cells.delivery.add(max(0, DeliveryStamp.nowMilliseconds() - sent.milliseconds))
            return
        }
        let key = DeliveryClock.key(event: event, channel: data.channel, text: raw.bytes)
        if let ms = clock.delivered(key, at: NIODeadline.now().uptimeNanoseconds) { cells.delivery.add(ms) }
    }
}

/// `check(value, {name = predicate, …})`, `metrics.counter/rate/trend/gauge(name)` with
/// `:add(value [, tags])`, and the built-in metrics recorded on the message paths
/// (docs/metrics.md). Everything goes to the registry of the script's event loop: no lock.
extension LuaScript {
    static let metricMeta = "rtlua.metric"

    /// Pushes `check`. It and `metrics` are made when first touched
    /// (LuaScript+LazyGlobals.swift); the metric objects' metatable on first use.
    func pushCheckFunction() {
        Lua.pushFunction(L, checkFunction)
    }

    /// Pushes the `metrics` table.
    func pushMetricsTable() {
        lua_createtable(L, 0, 4)
        Lua.setFunction(L, -1, "counter", metricCounter)
        Lua.setFunction(L, -1, "rate", metricRate)
        Lua.setFunction(L, -1, "trend", metricTrend)
        Lua.setFunction(L, -1, "gauge", metricGauge)
    }

    /// The registry of this script's loop (nil when the runner keeps no metrics).
    var metricsRegistry: MetricsRegistry? { options.metrics?.registry(for: ObjectIdentifier(eventLoop)) }

    /// The registry when built-in metrics are on; the hooks below cost this one check otherwise.
    var builtinMetrics: MetricsRegistry? {
        guard let run = options.metrics, run.builtins else { return nil }
        return run.registry(for: ObjectIdentifier(eventLoop))
    }

    /// The recorder of the built-in message metrics for one connection (nil when they are off).
    func messageMetrics() -> MessageMetrics? {
        guard let registry = builtinMetrics, let run = options.metrics else { return nil }
        return MessageMetrics(registry: registry, clock: run.delivery, stamp: run.deliveryStamp)
    }

    /// Milliseconds since `start` into the built-in trend `name` (getMembers, http).
    func noteDuration(_ name: String, since start: NIODeadline) {
        guard let registry = builtinMetrics else { return }
        try? registry.add(name, .trend, Double((NIODeadline.now() - start).nanoseconds) / 1e6)
    }

    /// Listens on `manager` for the built-in metrics: messages received (and their delivery
    /// latency, through `messages`), connect time, reconnection attempts, errors. Called
    /// again after the script's removeAllListeners.
    func watchMetrics(_ manager: RealtimeManager, _ messages: MessageMetrics?) -> [ListenerToken] {
        guard let messages else { return [] }
        let registry = messages.registry
        let loop = eventLoop
        var since: NIODeadline? = manager.isConnected() ? nil : .now()
        return [manager.onAny(messages.received),
        manager.onConnect {
            loop.preconditionInEventLoop()
            if let start = since {
                try? registry.add(Builtin.connect, .trend, Double((NIODeadline.now() - start).nanoseconds) / 1e6)
                registry.connected += 1
            }
            since = nil
        },
        manager.onDisconnect { _ in
            if since == nil { registry.connected -= 1 }
            since = since ?? .now()
        },
        manager.onReconnectAttempt { _ in try? registry.add(Builtin.reconnects, .counter, 1) },
        manager.onError { _ in try? registry.add(Builtin.errors, .counter, 1) }]
    }
}

extension LuaScript {
    /// At script end, before its listeners go: a connection still up stops counting as one.
    func forgetMetrics(_ manager: RealtimeManager) {
        if let registry = builtinMetrics, manager.isConnected() { registry.connected -= 1 }
    }
}

/// `check(value, {name = predicate, …})`: each predicate called in a protected call; a
/// result other than nil/false passes, anything else (an error too) fails, and an error is
/// logged. A predicate cannot wait (`sleep`, `getMembers`): that is an error, so a failure.
private let checkFunction: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        guard lua_type(L, 2) == LUA_TTABLE else { throw Lua.typeError(L, 2, "table of predicates", name: "checks") }
        lua_settop(L, 2)
        let registry = LuaScript.host(L).metricsRegistry
        var all = true
        lua_pushnil(L)
        while lua_next(L, 2) != 0 {
            // The name: a string or number key as Lua prints it (Lua.text leaves the key
            // lua_next goes on from as it is), else its type's name.
            let name = Lua.text(L, -2) ?? Lua.typeName(L, -2)
            let passed: Bool
            if lua_type(L, -1) == LUA_TFUNCTION {
                lua_pushvalue(L, 1)
                let status = shim_lua_pcall_budgeted(L, 1, 1, 0)
                passed = status == LUA_OK && lua_toboolean(L, -1) != 0
                if status != LUA_OK { reportPredicateError(L, name: name) }
                Lua.pop(L)  // its result or its error; the key stays for lua_next
            } else {
                passed = lua_toboolean(L, -1) != 0
                Lua.pop(L)
            }
            if !passed { all = false }
            if let registry { try? registry.add(Builtin.checks, .rate, passed ? 1 : 0, tags: ["check": name]) }
        }
        lua_pushboolean(L, all ? 1 : 0)
        return 1
    }
}

/// A predicate that raised fails its check, silently as far as the script goes; the log
/// says why, once per check name (at most `LuaScript.checkErrorNames` names). The error is
/// on the top of the stack.
private func reportPredicateError(_ L: OpaquePointer, name: String) {
    let host = LuaScript.host(L)
    guard host.checkErrorsReported.count < LuaScript.checkErrorNames,
          host.checkErrorsReported.insert(name).inserted else { return }
    host.logger.log(.warn, "check '\(name)' failed: its predicate raised: \(Lua.errorText(L, -1))")
}

private let metricCounter: LuaSwiftFunction = { L in makeMetric(L!, .counter) }
private let metricRate: LuaSwiftFunction = { L in makeMetric(L!, .rate) }
private let metricTrend: LuaSwiftFunction = { L in makeMetric(L!, .trend) }
private let metricGauge: LuaSwiftFunction = { L in makeMetric(L!, .gauge) }

/// `metrics.KIND(name)`: checks the name and that the metric keeps one kind; returns the
/// object `{name=, kind=}` whose `:add` records.
private func makeMetric(_ L: OpaquePointer, _ kind: MetricKind) -> Int32 {
    luaBody(L) { () throws(LuaRaise) -> Int32 in
        guard lua_type(L, 1) == LUA_TSTRING, let name = Lua.string(L, 1) else { throw Lua.typeError(L, 1, "string", name: "name") }
        guard MetricName.isValid(name) else {
            throw LuaRaise.argument(1, "a metric name is letters, digits and _, not starting with a digit: '\(name)'")
        }
        if Builtin.kinds[name] != nil { throw LuaRaise.argument(1, "'\(name)' is a built-in metric") }
        if let registry = LuaScript.host(L).metricsRegistry {
            do { try registry.declare(name, kind) } catch { throw LuaRaise.message("\(error)") }
        }
        lua_createtable(L, 0, 2)
        Lua.pushString(L, name)
        lua_setfield(L, -2, "name")
        Lua.pushString(L, kind.rawValue)
        lua_setfield(L, -2, "kind")
        if luaL_newmetatable(L, LuaScript.metricMeta) != 0 {
            Lua.pushString(L, "metric")
            lua_setfield(L, -2, "__name")
            lua_createtable(L, 0, 1)
            Lua.setFunction(L, -1, "add", metricAdd)
            lua_setfield(L, -2, "__index")
        }
        lua_setmetatable(L, -2)
        return 1
    }
}

/// `metric:add(value [, tags])`: one value into a series of this loop's registry.
private let metricAdd: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        guard lua_type(L, 1) == LUA_TTABLE else { throw LuaRaise.message("metric:add must be called with a colon: m:add(value, tags)") }
        Lua.rawField(L, 1, "kind")
        Lua.rawField(L, 1, "name")
        guard let kind = MetricKind(rawValue: Lua.string(L, -2) ?? ""), let name = Lua.string(L, -1) else {
            throw LuaRaise.message("metric:add must be called on an object of metrics.counter/rate/trend/gauge")
        }
        Lua.pop(L, 2)
        let value: Double
        switch (kind, lua_type(L, 2)) {
        case (.rate, LUA_TBOOLEAN), (.rate, LUA_TNIL), (.rate, LUA_TNONE):
            value = lua_toboolean(L, 2) != 0 ? 1 : 0
        case (_, LUA_TNUMBER):
            value = lua_tonumberx(L, 2, nil)
            guard value.isFinite else { throw LuaRaise.argument(2, "a finite number expected") }
            if kind == .trend, value < 0 { throw LuaRaise.argument(2, "a trend takes values ≥ 0, got \(value)") }
        default:
            throw Lua.typeError(L, 2, kind == .rate ? "boolean or number" : "number", name: "value")
        }
        var tags: Tags = [:]
        switch lua_type(L, 3) {
        case LUA_TNONE, LUA_TNIL: break
        case LUA_TTABLE:
            lua_settop(L, 3)
            lua_pushnil(L)
            while lua_next(L, 3) != 0 {
                guard lua_type(L, -2) == LUA_TSTRING, let key = Lua.string(L, -2) else {
                    throw LuaRaise.argument(3, "tag names must be strings")
                }
                switch lua_type(L, -1) {
                case LUA_TSTRING, LUA_TNUMBER:
                    tags[key] = Lua.text(L, -1) ?? ""
                case LUA_TBOOLEAN: tags[key] = lua_toboolean(L, -1) != 0 ? "true" : "false"
                default: throw LuaRaise.argument(3, "tag '\(key)' must be a string, got \(Lua.typeName(L, -1))")
                }
                Lua.pop(L)
            }
        default:
            throw Lua.typeError(L, 3, "table of tags", name: "tags")
        }
        guard let registry = LuaScript.host(L).metricsRegistry else { return 0 }
        do { try registry.add(name, kind, value, tags: tags) } catch { throw LuaRaise.message("\(error)") }
        return 0
    }
}
