import CLua
import Metrics
import NIOCore
import Realtime
import RTJSON

/// The `realtime` global: every method of RealtimeManager, called with a colon, plus
/// `realtime.connect{…}` and `realtime.binary(s)`.
extension LuaScript {
    static let managerMeta = "rtlua.realtime"
    static let errorMeta = "rtlua.realtimeerror"

    private static let methods: [(String, LuaSwiftFunction)] = [
        ("on", rtOn), ("once", rtOnce), ("off", rtOff), ("onAny", rtOnAny), ("offAny", rtOffAny),
        ("broadcast", rtBroadcast), ("send", rtSend), ("join", rtJoin), ("leave", rtLeave),
        ("updateProfile", rtUpdateProfile), ("getMembers", rtGetMembers), ("getSocketId", rtGetSocketId),
        ("isConnected", rtIsConnected), ("open", rtOpen), ("close", rtClose),
        ("onConnect", rtOnConnect), ("onDisconnect", rtOnDisconnect), ("onError", rtOnError),
        ("onReconnectAttempt", rtOnReconnectAttempt), ("onJoin", rtOnJoin), ("onLeave", rtOnLeave),
        ("onUpdate", rtOnUpdate), ("onUserEvent", rtOnUserEvent),
        ("removeListener", rtRemoveListener), ("removeAllListeners", rtRemoveAllListeners),
        ("connect", rtConnect), ("binary", rtBinary),
    ]

    /// Every method by name, for the methods table's __index (`realtimeMethod`).
    static let methodsByName = Dictionary(uniqueKeysWithValues: methods)

    /// The name of every method a manager has, made at its first lookup (`waitFor` too,
    /// LuaScript+WaitFor.swift): what tools that list the API (`rtlua types`' test, the
    /// REPL's completion) go by, since `pairs` sees only those looked up so far.
    public static let methodNames: [String] = (methods.map(\.0) + ["waitFor"]).sorted()

    /// The `realtime` global. Its methods are made when first looked up: an idle bot uses
    /// three of the 27, and each costs a closure and a table slot in every VM.
    func installRealtimeGlobals() {
        luaL_newmetatable(L, Self.managerMeta)
        managerMetaPointer = lua_topointer(L, -1)
        Lua.pushString(L, "realtime")
        lua_setfield(L, -2, "__name")
        lua_createtable(L, 0, 4)
        lua_createtable(L, 0, 1)
        Lua.pushFunction(L, realtimeMethod)
        lua_setfield(L, -2, "__index")
        lua_setmetatable(L, -2)
        lua_setfield(L, -2, "__index")
        Lua.pop(L)

        pushManager(L, ManagerBinding(config: options.realtime))
        lua_setglobal(L, "realtime")
    }

    /// Pushes the metatable of the realtime error objects, made on first use.
    func pushErrorMeta(_ co: OpaquePointer) {
        guard luaL_newmetatable(co, Self.errorMeta) != 0 else { return }
        Lua.pushString(co, "realtime error")
        lua_setfield(co, -2, "__name")
        Lua.pushFunction(co, errorToString)
        lua_setfield(co, -2, "__tostring")
    }

    /// Pushes a new manager object for `binding`.
    func pushManager(_ co: OpaquePointer, _ binding: ManagerBinding) {
        let id = newHandleID()
        managers[id] = binding
        let p = lua_newuserdatauv(co, MemoryLayout<Int>.size, 0)!
        p.storeBytes(of: id, as: Int.self)
        luaL_setmetatable(co, Self.managerMeta)
    }

    /// The manager a method was called on (argument 1), or the colon-call error.
    func binding(_ co: OpaquePointer, _ method: String) throws(LuaRaise) -> ManagerBinding {
        // luaL_testudata, with the metatable compared by identity rather than looked up by name.
        guard let p = lua_touserdata(co, 1), let meta = bridge.metatablePointer(co, 1), meta == managerMetaPointer,
              let b = managers[p.load(as: Int.self)] else {
            throw LuaRaise.message("realtime.\(method) must be called with a colon: realtime:\(method)(…)")
        }
        return b
    }

    /// Argument `index` as a message (nil is null), refusing what has no JSON form. The
    /// message is a host-side copy made for the script: it must fit in what is left of the
    /// script's memory budget, else the script gets "not enough memory".
    func message(_ co: OpaquePointer, _ index: Int32, root: String) throws(LuaRaise) -> JSONValue {
        // Most messages are plain tables: written straight to text, carried as `.raw`. The
        // buffer is kept for the next message; it is unique again once this one is sent.
        var text = messageText
        messageText = []
        text.removeAll(keepingCapacity: true)
        let limit = bridge.remainingBudget
        let written = bridge.writeJSONText(co, index, into: &text, limit: limit)
        let tooLarge = !written && LuaValueBridge.textTooLarge(text, limit: limit)
        if text.capacity <= Self.keptMessageCapacity { messageText = text }
        if written { return .raw(RawJSON(unchecked: text)) }
        if tooLarge { throw LuaRaise.outOfMemory }
        do throws(LuaValueBridge.ConversionError) {
            return try bridge.toJSON(co, index, root: root)
        } catch {
            if error.outOfMemory { throw LuaRaise.outOfMemory }
            throw LuaRaise.argument(index, error.description)
        }
    }

    /// `Lua.checkString` for the channel and event name of a send: the String made from the
    /// same bytes last time is reused (a script sends with the same names over and over).
    func checkName(_ co: OpaquePointer, _ arg: Int32, _ cache: inout NameCache, name: String) throws(LuaRaise) -> String {
        guard lua_type(co, arg) == LUA_TSTRING else { return try Lua.checkString(co, arg, name: name) }
        var len = 0
        let p = lua_tolstring(co, arg, &len)!
        return cache.string(UnsafeRawBufferPointer(start: p, count: len))
    }

    func pushEventData(_ co: OpaquePointer, _ data: EventData) {
        var data = data
        // --delivery-stamp: the script sees the message as its sender wrote it.
        if options.metrics?.deliveryStamp == true, case .raw(let raw) = data.message, let read = DeliveryStamp.read(raw.bytes) {
            data.message = .raw(RawJSON(unchecked: read.unstamped))
        }
        lua_createtable(co, 0, 2)
        if let channel = data.channel {
            Lua.pushString(co, channel)
            lua_setfield(co, -2, "channel")
        }
        bridge.push(co, data.message)
        lua_setfield(co, -2, "message")
    }

    func pushError(_ co: OpaquePointer, _ error: RealtimeError) {
        if case .object = error.value { bridge.push(co, error.value) } else { lua_createtable(co, 0, 2) }
        Lua.pushString(co, error.message)
        lua_setfield(co, -2, "message")
        if let code = error.code {
            Lua.pushString(co, code)
            lua_setfield(co, -2, "code")
        }
        pushErrorMeta(co)
        lua_setmetatable(co, -2)
    }

    /// Registers the function at argument `fn` as a listener of `kind`; `subscribe` hands
    /// the manager a Swift closure that calls `deliver(listenerID, pushArguments, once)`.
    func addListener(_ co: OpaquePointer, _ b: ManagerBinding, _ manager: RealtimeManager, kind: ManagerBinding.Kind,
                     fn: Int32, subscribe: (_ deliver: @escaping (_ push: @escaping (OpaquePointer) -> Int32) -> Void) -> ListenerToken,
                     once: Bool = false) {
        let function = lua_topointer(co, fn)!
        lua_pushvalue(co, fn)
        let ref = luaL_ref(co, shim_LUA_REGISTRYINDEX())
        var listenerID = 0
        let account = self.account  // the delivery below does not retain the script for it
        let token = subscribe { [weak self, weak b] push in
            guard let self, let b, !self.isEnded else { return }
            let id = listenerID
            self.spawn { co in
                // off() may have run while this delivery waited its turn.
                guard let l = b.listeners[id] else { return nil }
                lua_rawgeti(co, shim_LUA_REGISTRYINDEX(), lua_Integer(l.ref))
                if once {
                    b.listeners[id] = nil
                    luaL_unref(co, shim_LUA_REGISTRYINDEX(), l.ref)
                }
                _ = lua_checkstack(co, 8)
                let refusals = account.pointee.refusals
                let n = push(co)
                // The arguments were pushed in host mode: they may not fit in the budget.
                if account.pointee.refusals != refusals || account.pointee.left < 0,
                   !LuaScript.host(co).argumentsFit(co, refusalsBefore: refusals, LuaScript.eventDescription(l.kind)) {
                    return nil
                }
                return n
            }
        }
        listenerID = b.add(.init(kind: kind, token: token, function: function, ref: ref))
    }

    static func eventDescription(_ kind: ManagerBinding.Kind) -> String {
        if case .event(let name) = kind { return "a '\(name)' event" }
        return "a \(kind) event"
    }

    func release(refs: [Int32]) {
        for ref in refs { luaL_unref(L, shim_LUA_REGISTRYINDEX(), ref) }
    }
}

// MARK: method bodies

/// The shared prologue: the binding, its (lazily opened) manager and the host. Inlined into
/// each method: as a call of its own it cost ~30 instructions per `send`.
@inline(__always)
private func methodBody(_ L: OpaquePointer?, _ name: String, opens: Bool = true,
                        _ body: (OpaquePointer, LuaScript, ManagerBinding, RealtimeManager?) throws(LuaRaise) -> Int32) -> Int32 {
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let host = LuaScript.host(L)
        let b = try host.binding(L, name)
        let manager = opens ? try b.use(host) : b.manager
        return try body(L, host, b, manager)
    }
}

private func realtimeCall(_ body: () throws(RealtimeError) -> Void) throws(LuaRaise) {
    do { try body() } catch { throw LuaRaise.message(error.message) }
}

private let rtOn: LuaSwiftFunction = { L in
    methodBody(L, "on") { L, host, b, m throws(LuaRaise) in
        let event = try Lua.checkString(L, 2, name: "eventName")
        try Lua.checkFunction(L, 3, name: "listener")
        host.addListener(L, b, m!, kind: .event(event), fn: 3) { deliver in
            m!.on(event) { data in deliver { co in host.pushEventData(co, data); return 1 } }
        }
        lua_settop(L, 1)
        return 1
    }
}

private let rtOnce: LuaSwiftFunction = { L in
    methodBody(L, "once") { L, host, b, m throws(LuaRaise) in
        let event = try Lua.checkString(L, 2, name: "eventName")
        try Lua.checkFunction(L, 3, name: "listener")
        host.addListener(L, b, m!, kind: .event(event), fn: 3, subscribe: { deliver in
            m!.once(event) { data in deliver { co in host.pushEventData(co, data); return 1 } }
        }, once: true)
        lua_settop(L, 1)
        return 1
    }
}

private let rtOff: LuaSwiftFunction = { L in
    methodBody(L, "off", opens: false) { L, host, b, _ throws(LuaRaise) in
        let event = try Lua.checkString(L, 2, name: "eventName")
        var function: UnsafeRawPointer?
        if lua_type(L, 3) > LUA_TNIL {
            try Lua.checkFunction(L, 3, name: "listener")
            function = lua_topointer(L, 3)
        }
        // onJoin/onLeave/onUpdate are shorthands for on("channel:join"/…) in the seed API.
        let shorthand: ManagerBinding.Kind? = switch event {
        case "channel:join": .join
        case "channel:leave": .leave
        case "channel:update": .update
        default: nil
        }
        host.release(refs: b.remove {
            ($0.kind == .event(event) || $0.kind == shorthand) && (function == nil || $0.function == function)
        })
        return 0
    }
}

private let rtOnAny: LuaSwiftFunction = { L in
    methodBody(L, "onAny") { L, host, b, m throws(LuaRaise) in
        try Lua.checkFunction(L, 2, name: "listener")
        host.addListener(L, b, m!, kind: .any, fn: 2) { deliver in
            m!.onAny { event, data in
                deliver { co in
                    Lua.pushString(co, event)
                    host.pushEventData(co, data)
                    return 2
                }
            }
        }
        lua_settop(L, 1)
        return 1
    }
}

private let rtOffAny: LuaSwiftFunction = { L in
    methodBody(L, "offAny", opens: false) { L, host, b, _ throws(LuaRaise) in
        var function: UnsafeRawPointer?
        if lua_type(L, 2) > LUA_TNIL {
            try Lua.checkFunction(L, 2, name: "listener")
            function = lua_topointer(L, 2)
        }
        host.release(refs: b.remove { $0.kind == .any && (function == nil || $0.function == function) })
        return 0
    }
}

private let rtBroadcast: LuaSwiftFunction = { L in
    methodBody(L, "broadcast") { L, host, b, m throws(LuaRaise) in
        let event = try host.checkName(L, 2, &host.eventName, name: "eventName")
        let message = try host.message(L, 3, root: "message")
        let stamped = b.messageMetrics?.outgoing(message) ?? message
        let echo = try Lua.optBoolean(L, 4, name: "echo")
        try realtimeCall { () throws(RealtimeError) in try m!.broadcast(eventName: event, message: stamped, echo: echo) }
        b.messageMetrics?.sent(event: event, channel: nil, message: stamped)
        return 0
    }
}

private let rtSend: LuaSwiftFunction = { L in
    methodBody(L, "send") { L, host, b, m throws(LuaRaise) in
        let channel = try host.checkName(L, 2, &host.channelName, name: "channel")
        let event = try host.checkName(L, 3, &host.eventName, name: "eventName")
        let message = try host.message(L, 4, root: "message")
        let stamped = b.messageMetrics?.outgoing(message) ?? message
        let echo = try Lua.optBoolean(L, 5, name: "echo")
        try realtimeCall { () throws(RealtimeError) in
            try m!.send(channel: channel, eventName: event, message: stamped, echo: echo)
        }
        b.messageMetrics?.sent(event: event, channel: channel, message: stamped)
        return 0
    }
}

private let rtJoin: LuaSwiftFunction = { L in
    methodBody(L, "join") { L, _, _, m throws(LuaRaise) in
        let channel = try Lua.checkString(L, 2, name: "channel")
        let echo = try Lua.optBoolean(L, 3, name: "echo")
        try realtimeCall { () throws(RealtimeError) in try m!.join(channel: channel, echo: echo) }
        return 0
    }
}

private let rtLeave: LuaSwiftFunction = { L in
    methodBody(L, "leave") { L, _, _, m throws(LuaRaise) in
        let channel = try Lua.checkString(L, 2, name: "channel")
        let echo = try Lua.optBoolean(L, 3, name: "echo")
        try realtimeCall { () throws(RealtimeError) in try m!.leave(channel: channel, echo: echo) }
        return 0
    }
}

private let rtUpdateProfile: LuaSwiftFunction = { L in
    methodBody(L, "updateProfile") { L, host, _, m throws(LuaRaise) in
        guard lua_type(L, 2) > LUA_TNIL else { throw Lua.typeError(L, 2, "profile data", name: "data") }
        let data = try host.message(L, 2, root: "data")
        let echo = try Lua.optBoolean(L, 3, name: "echo")
        try realtimeCall { () throws(RealtimeError) in try m!.updateProfile(data, echo: echo) }
        return 0
    }
}

private let rtGetMembers: LuaSwiftFunction = { L in
    methodBody(L, "getMembers") { L, host, _, m throws(LuaRaise) in
        let channel = try Lua.checkString(L, 2, name: "channel")
        // A bad channel is the caller's mistake, raised like join's, not an answer to wait for.
        try realtimeCall { () throws(RealtimeError) in try ArgumentCheck.channel(channel) }
        try host.suspend(L, "getMembers")
        let thread = LuaThread(state: L)
        let start = NIODeadline.now()
        m!.getMembers(channel: channel) { result in
            host.noteDuration(Builtin.members, since: start)
            host.wake(thread.state) { co in
                host.pushResults(co) { co in
                    switch result {
                    case .success(let members):
                        host.bridge.push(co, members)
                        return 1
                    case .failure(let error):
                        // The error object (Altogic shape, with `message`; tostring gives the message).
                        lua_pushnil(co)
                        host.pushError(co, error)
                        return 2
                    }
                }
            }
        }
        return LuaReturn.yield
    }
}

private let rtGetSocketId: LuaSwiftFunction = { L in
    // Asking does not open the lazy connection: before first use the answer is nil.
    methodBody(L, "getSocketId", opens: false) { L, _, _, m throws(LuaRaise) in
        if let id = m?.getSocketId() { Lua.pushString(L, id) } else { lua_pushnil(L) }
        return 1
    }
}

private let rtIsConnected: LuaSwiftFunction = { L in
    // Asking does not open the lazy connection: before first use the answer is false.
    methodBody(L, "isConnected", opens: false) { L, _, _, m throws(LuaRaise) in
        lua_pushboolean(L, m?.isConnected() ?? false ? 1 : 0)
        return 1
    }
}

private let rtOpen: LuaSwiftFunction = { L in
    methodBody(L, "open") { _, _, _, m throws(LuaRaise) in
        if !m!.isOpen { m!.open() }
        return 0
    }
}

private let rtClose: LuaSwiftFunction = { L in
    methodBody(L, "close", opens: false) { _, host, b, _ throws(LuaRaise) in
        b.close(host)
        return 0
    }
}

/// The connection-life listeners share one shape: `onX(fn)`.
private func lifeListener(_ L: OpaquePointer?, _ name: String, _ kind: ManagerBinding.Kind,
                          _ subscribe: @escaping (LuaScript, RealtimeManager, @escaping (@escaping (OpaquePointer) -> Int32) -> Void) -> ListenerToken) -> Int32 {
    methodBody(L, name) { L, host, b, m throws(LuaRaise) in
        try Lua.checkFunction(L, 2, name: "listener")
        host.addListener(L, b, m!, kind: kind, fn: 2) { deliver in subscribe(host, m!, deliver) }
        lua_settop(L, 1)
        return 1
    }
}

private let rtOnConnect: LuaSwiftFunction = { L in
    lifeListener(L, "onConnect", .connect) { _, m, deliver in m.onConnect { deliver { _ in 0 } } }
}

private let rtOnDisconnect: LuaSwiftFunction = { L in
    lifeListener(L, "onDisconnect", .disconnect) { _, m, deliver in
        m.onDisconnect { reason in deliver { co in Lua.pushString(co, reason); return 1 } }
    }
}

private let rtOnError: LuaSwiftFunction = { L in
    lifeListener(L, "onError", .error) { host, m, deliver in
        m.onError { error in deliver { co in host.pushError(co, error); return 1 } }
    }
}

private let rtOnReconnectAttempt: LuaSwiftFunction = { L in
    lifeListener(L, "onReconnectAttempt", .reconnectAttempt) { _, m, deliver in
        m.onReconnectAttempt { n in deliver { co in lua_pushinteger(co, lua_Integer(n)); return 1 } }
    }
}

private let rtOnJoin: LuaSwiftFunction = { L in
    lifeListener(L, "onJoin", .join) { host, m, deliver in
        m.onJoin { data in deliver { co in host.pushEventData(co, data); return 1 } }
    }
}

private let rtOnLeave: LuaSwiftFunction = { L in
    lifeListener(L, "onLeave", .leave) { host, m, deliver in
        m.onLeave { data in deliver { co in host.pushEventData(co, data); return 1 } }
    }
}

private let rtOnUpdate: LuaSwiftFunction = { L in
    lifeListener(L, "onUpdate", .update) { host, m, deliver in
        m.onUpdate { data in deliver { co in host.pushEventData(co, data); return 1 } }
    }
}

private let rtOnUserEvent: LuaSwiftFunction = { L in
    lifeListener(L, "onUserEvent", .userEvent) { host, m, deliver in
        m.onUserEvent { event, session in
            deliver { co in
                Lua.pushString(co, event)
                host.bridge.push(co, session)
                return 2
            }
        }
    }
}

private let rtRemoveListener: LuaSwiftFunction = { L in
    methodBody(L, "removeListener", opens: false) { L, host, b, _ throws(LuaRaise) in
        try Lua.checkFunction(L, 2, name: "listener")
        let function = lua_topointer(L, 2)
        host.release(refs: b.remove { $0.function == function })
        return 0
    }
}

private let rtRemoveAllListeners: LuaSwiftFunction = { L in
    methodBody(L, "removeAllListeners", opens: false) { _, host, b, m throws(LuaRaise) in
        host.release(refs: b.remove { _ in true })
        if let m {
            m.removeAllListeners()
            b.watchLife(m, host)
        }
        return 0
    }
}

/// `realtime.connect{url=…, key=…, …}`: another manager, opened at once.
private let rtConnect: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let host = LuaScript.host(L)
        // Accept realtime:connect{…} as well as realtime.connect{…}.
        let arg: Int32 = luaL_testudata(L, 1, LuaScript.managerMeta) != nil ? 2 : 1
        try Lua.checkTable(L, arg, name: "options")
        func field(_ name: String) -> Int32 {
            Lua.rawField(L, arg, name)
            return lua_gettop(L)
        }
        func string(_ name: String) throws(LuaRaise) -> String? {
            let i = field(name)
            if lua_type(L, i) == LUA_TNIL { return nil }
            guard let s = Lua.string(L, i) else { throw LuaRaise.argument(arg, "field '\(name)' must be a string, got \(Lua.typeName(L, i))") }
            return s
        }
        func bool(_ name: String) throws(LuaRaise) -> Bool? {
            let i = field(name)
            if lua_type(L, i) == LUA_TNIL { return nil }
            guard lua_type(L, i) == LUA_TBOOLEAN else { throw LuaRaise.argument(arg, "field '\(name)' must be a boolean, got \(Lua.typeName(L, i))") }
            return lua_toboolean(L, i) != 0
        }
        func milliseconds(_ name: String) throws(LuaRaise) -> Int64? {
            let i = field(name)
            if lua_type(L, i) == LUA_TNIL { return nil }
            var ok: Int32 = 0
            let n = lua_tointegerx(L, i, &ok)
            guard ok != 0, n >= 0 else { throw LuaRaise.argument(arg, "field '\(name)' must be a non-negative integer (milliseconds)") }
            return n
        }
        // Omitted fields come from the command line (the default manager's configuration):
        // url (with realtimeUrl when both are omitted), key, session and every option.
        let inherited = host.options.realtime
        let givenURL = try string("url")
        guard let url = givenURL ?? inherited?.baseURL else {
            throw LuaRaise.argument(arg, "field 'url' must be a string, got nil (and the command line gives none)")
        }
        var options = inherited?.options ?? RealtimeOptions()
        if let v = try bool("echoMessages") { options.echoMessages = v }
        if let v = try bool("bufferMessages") { options.bufferMessages = v }
        if let v = try bool("autoJoinChannels") { options.autoJoinChannels = v }
        if let v = try milliseconds("reconnectionDelay") { options.reconnectionDelay = v }
        if let v = try milliseconds("timeout") { options.timeout = v }
        let realtimeURL = try string("realtimeUrl") ?? (givenURL == nil ? inherited?.realtimeURL : nil)
        let config = RealtimeConfig(baseURL: url, realtimeURL: realtimeURL, clientKey: try string("key") ?? inherited?.clientKey,
                                    session: try string("session") ?? inherited?.session, options: options)
        // After a reload, the previous version's connection with these options is reused.
        let b = host.reloadCarry?.adopt(config, into: host) ?? ManagerBinding(config: config, name: "realtime.connect #\(host.managers.count)")
        _ = try b.use(host)
        host.pushManager(L, b)
        return 1
    }
}

private let rtBinary: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let arg: Int32 = luaL_testudata(L, 1, LuaScript.managerMeta) != nil ? 2 : 1
        let bytes = try Lua.checkBytes(L, arg)
        LuaScript.host(L).bridge.pushBinaryMarker(L, bytes)
        return 1
    }
}

/// The methods table's __index: makes method `key` (argument 2), keeps it in the table
/// (argument 1) and returns it; nil for a name that is no method.
private let realtimeMethod: LuaSwiftFunction = { L in
    let L = L!
    guard lua_type(L, 2) == LUA_TSTRING, let name = Lua.string(L, 2) else { return 0 }
    // waitFor is part Lua (LuaScript+WaitFor.swift): built, and kept, by its own maker.
    if name == "waitFor" {
        return luaBody(L) { () throws(LuaRaise) -> Int32 in
            try LuaScript.host(L).makeWaitFor(L, methods: 1)
            return 1
        }
    }
    guard let f = LuaScript.methodsByName[name] else { return 0 }
    Lua.pushFunction(L, f)
    lua_pushvalue(L, 2)
    lua_pushvalue(L, -2)
    lua_rawset(L, 1)
    return 1
}

private let errorToString: LuaSwiftFunction = { L in
    let L = L!
    if lua_type(L, 1) == LUA_TTABLE { Lua.rawField(L, 1, "message") } else { lua_pushnil(L) }
    if lua_type(L, -1) != LUA_TSTRING {
        Lua.pop(L)
        Lua.pushString(L, "realtime error")
    }
    return 1
}
