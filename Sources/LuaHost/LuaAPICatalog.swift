import AltogicProtocol

/// One parameter of a documented function. `type` is a LuaLS type expression.
public struct LuaAPIParam: Sendable {
    public var name: String
    public var type: String
    public var optional = false
    public var doc = ""
}

/// One return value of a documented function (`type` a LuaLS type expression).
public struct LuaAPIReturn: Sendable {
    public var type: String
    public var name = ""
    public var doc = ""
}

/// A function the runtime binds. `isMethod`: called with a colon (`realtime:join`).
/// `suspends`: it waits, pausing the calling coroutine (LuaLS `@async`).
public struct LuaAPIFunction: Sendable {
    public var name: String
    public var doc: String
    public var params: [LuaAPIParam] = []
    public var returns: [LuaAPIReturn] = []
    public var isMethod = false
    public var suspends = false
}

/// A field of a shape or of a global table. `type` is for LuaLS; `luaType` is what Lua's
/// `type()` answers for the bound value (checked against the live VM for bound fields).
public struct LuaAPIField: Sendable {
    public var name: String
    public var type: String
    public var luaType = ""
    public var doc = ""
}

/// A class: either the shape of a value the runtime hands to or takes from a script (event
/// data, options, responses), or an object the runtime binds through a named metatable
/// (`metatable`: its name in the registry, whose `__index` holds `functions`).
public struct LuaAPIClass: Sendable {
    public var name: String
    public var doc: String
    public var metatable: String?
    public var fields: [LuaAPIField] = []
    public var functions: [LuaAPIFunction] = []
}

/// A closed set of string literals (event names).
public struct LuaAPIAlias: Sendable {
    public var name: String
    public var doc: String
    public var values: [String]
}

/// A global the runtime binds.
public struct LuaAPIGlobal: Sendable {
    public enum Kind: Sendable {
        case function(LuaAPIFunction)
        /// A table of functions and values (`timer`, `json` …), typed as `className`.
        case table(className: String, fields: [LuaAPIField], functions: [LuaAPIFunction])
        /// A value of LuaLS type `type` whose Lua `type()` is `luaType`.
        case value(type: String, luaType: String)
    }
    public var name: String
    public var doc: String
    public var kind: Kind
}

/// The registry of everything rtlua binds into a script's VM: globals, their fields, the
/// methods of bound objects (reached through their metatables), the options tables the
/// runtime reads and the shapes of the data it hands to callbacks. `rtlua types` writes the
/// LuaLS definitions from it, and a test compares it with what a live script VM has bound,
/// in both directions, so it cannot drift from the code.
///
/// Wording follows docs/lua-api.md and the seed RealtimeManager's API text.
public enum LuaAPICatalog {
    // MARK: event names (from AltogicProtocol, the protocol's one home)

    public static let presenceEventAlias = LuaAPIAlias(
        name: "rtlua.PresenceEvent",
        doc: "The presence events the hub delivers to the members of a channel; `data.message` is `{id = SOCKET-ID, data = MEMBER-DATA}`.",
        values: [ProtocolNames.channelJoin, ProtocolNames.channelLeave, ProtocolNames.channelUpdate])

    public static let userEventAlias = LuaAPIAlias(
        name: "rtlua.UserEvent",
        doc: "The user events, delivered to `onUserEvent` listeners with the session object (or `json.null`).",
        values: ProtocolNames.userEvents.sorted())

    public static let reservedEventAlias = LuaAPIAlias(
        name: "rtlua.ConnectionEvent",
        doc: "Socket.IO's own connection events: reserved names that `broadcast` and `send` refuse. Follow the connection with `onConnect`, `onDisconnect`, `onError` and `onReconnectAttempt` instead.",
        values: ProtocolNames.reservedEventNames.sorted())

    public static let aliases = [presenceEventAlias, userEventAlias, reservedEventAlias]

    // MARK: shapes

    static let eventData = LuaAPIClass(
        name: "rtlua.EventData",
        doc: "What a listener of `on`, `once` and `onAny` receives.",
        fields: [
            .init(name: "channel", type: "string?", doc: "The channel the message was sent to; `nil` for a broadcast."),
            .init(name: "message", type: "any", doc: "The message: any JSON value (`json.null` for null; binary arrives as a string)."),
        ])

    static let member = LuaAPIClass(
        name: "rtlua.Member",
        doc: "A member of a channel, as `getMembers` returns it and presence events carry it.",
        fields: [
            .init(name: "id", type: "string", doc: "The member's socket id (what `getSocketId()` returns on its side)."),
            .init(name: "data", type: "any", doc: "The member data it set with `updateProfile` (`json.null` when none)."),
        ])

    static let presenceData = LuaAPIClass(
        name: "rtlua.PresenceData",
        doc: "What a listener of `onJoin`, `onLeave`, `onUpdate` (and of `channel:join`/`channel:leave`/`channel:update`) receives.",
        fields: [
            .init(name: "channel", type: "string", doc: "The channel the member joined, left or updated its data in."),
            .init(name: "message", type: "rtlua.Member", doc: "The member: `{id = SOCKET-ID, data = MEMBER-DATA}`."),
        ])

    static let realtimeError = LuaAPIClass(
        name: "rtlua.RealtimeError",
        doc: "A realtime error (`getMembers`' second result, `onError`'s argument). Errors from an Altogic-style server keep its fields too (`status`, `statusText`, `items`). `tostring(err)` gives the message.",
        fields: [
            .init(name: "message", type: "string", doc: "What went wrong."),
            .init(name: "code", type: "string?", doc: "A machine-readable code, when known (e.g. `invalid_client_key`)."),
            .init(name: "status", type: "integer?", doc: "The HTTP status, for errors of the members call."),
            .init(name: "statusText", type: "string?", doc: "The HTTP status text, for errors of the members call."),
            .init(name: "items", type: "table[]?", doc: "Altogic's error items (`origin`, `code`, `message`)."),
        ])

    static let connectOptions = LuaAPIClass(
        name: "rtlua.ConnectOptions",
        doc: "The options of `realtime.connect{…}`. Omitted fields come from the command line.",
        fields: [
            .init(name: "url", type: "string?", doc: "The app's base URL; omitted: the command line's (`--url`/`RTLUA_URL`), and then `realtimeUrl` too when omitted."),
            .init(name: "key", type: "string?", doc: "The client key; omitted: `--key` (`RTLUA_CLIENT_KEY`)."),
            .init(name: "session", type: "string?", doc: "A user's session token; omitted: `--session` (`RTLUA_SESSION`)."),
            .init(name: "realtimeUrl", type: "string?", doc: "The realtime endpoint itself, overriding the derivation from `url`."),
            .init(name: "echoMessages", type: "boolean?", doc: "Whether messages from this connection are echoed back to it (default true)."),
            .init(name: "bufferMessages", type: "boolean?", doc: "Whether messages sent while disconnected are queued until the next connect (default true)."),
            .init(name: "autoJoinChannels", type: "boolean?", doc: "Whether channels are re-joined after a reconnect (default true)."),
            .init(name: "reconnectionDelay", type: "integer?", doc: "The first reconnection delay, in milliseconds (default 1000)."),
            .init(name: "timeout", type: "integer?", doc: "How long a connection attempt may take, in milliseconds (default 20000)."),
        ])

    static let httpRequest = LuaAPIClass(
        name: "rtlua.HTTPRequest",
        doc: "The options of `http.request{…}`.",
        fields: [
            .init(name: "url", type: "string", doc: "The URL."),
            .init(name: "method", type: "string?", doc: "The method (default `GET`)."),
            .init(name: "headers", type: "table<string, string>?", doc: "Request headers `{name = value}`."),
            .init(name: "body", type: "string|table?", doc: "A string, sent as is, or a table, sent as JSON (with `Content-Type: application/json` unless the headers name a content type)."),
            .init(name: "timeout", type: "number?", doc: "Seconds (default 30)."),
        ])

    static let httpResponse = LuaAPIClass(
        name: "rtlua.HTTPResponse",
        doc: "An HTTP response. A non-2xx status is a response, not an error.",
        fields: [
            .init(name: "status", type: "integer", doc: "The HTTP status code."),
            .init(name: "headers", type: "table<string, string>", doc: "Response headers with lower-case names; repeated headers are joined with `, `."),
            .init(name: "body", type: "string", doc: "The body (bytes)."),
        ])

    static let stage = LuaAPIClass(
        name: "rtlua.Stage",
        doc: "One stage of `options.stages`: the instance count is ramped linearly to `target` over `duration`.",
        fields: [
            .init(name: "duration", type: "string|number", doc: "How long the stage lasts: `\"30s\"`, `\"1m30s\"`, `\"250ms\"` or seconds."),
            .init(name: "target", type: "integer", doc: "The instance count at the stage's end (0 to 100000)."),
        ])

    static let options = LuaAPIClass(
        name: "rtlua.Options",
        doc: "A script's own `options = {…}`, read before it starts (declare it first: only Lua's pure functions and `args` are at hand then). The command line overrides each field.",
        fields: [
            .init(name: "instances", type: "integer?", doc: "How many copies run (1 to 100000), as `--instances`."),
            .init(name: "duration", type: "string|number?", doc: "Stop the run after this long (`\"10m\"` or seconds)."),
            .init(name: "stages", type: "rtlua.Stage[]?", doc: "Ramp the instances up and down, one stage after the other."),
            .init(name: "thresholds", type: "string[]?", doc: "Pass/fail rules over the run's metrics, as `--threshold` (e.g. `\"checks.rate>0.99\"`); a failed one makes the exit status 99."),
        ])

    static let null = LuaAPIClass(
        name: "rtlua.Null",
        doc: "The value that stands for JSON `null` (`json.null`).")

    // MARK: bound objects (metatables)

    private static let listener = "fun(data: rtlua.EventData)"
    private static let presenceListener = "fun(data: rtlua.PresenceData)"
    private static let eventName = "rtlua.PresenceEvent|string"
    private static let echo = LuaAPIParam(name: "echo", type: "boolean", optional: true,
                                          doc: "Whether you receive your own message or presence event (default: the connection's `echoMessages`).")
    private static let returnsSelf = [LuaAPIReturn(type: "rtlua.RealtimeManager", doc: "The manager, so calls can be chained.")]

    private static func method(_ name: String, _ doc: String, _ params: [LuaAPIParam] = [],
                               returns: [LuaAPIReturn] = [], suspends: Bool = false) -> LuaAPIFunction {
        LuaAPIFunction(name: name, doc: doc, params: params, returns: returns, isMethod: true, suspends: suspends)
    }

    static let realtimeManager = LuaAPIClass(
        name: "rtlua.RealtimeManager",
        doc: "Realtime publish/subscribe messaging over a websocket (Altogic's RealtimeManager). The global `realtime` connects lazily, the first time a method that needs the connection is called.",
        metatable: LuaScript.managerMeta,
        functions: [
            method("on", "Registers a listener for the event named `eventName`.",
                   [.init(name: "eventName", type: eventName), .init(name: "listener", type: listener)], returns: returnsSelf),
            method("once", "Adds a one-time listener for `eventName`: the next time it is triggered, the listener is removed and then invoked.",
                   [.init(name: "eventName", type: eventName), .init(name: "listener", type: listener)], returns: returnsSelf),
            method("off", "Removes `listener` from `eventName`, or every listener of `eventName`. For `channel:join`/`channel:leave`/`channel:update` it also removes listeners added with `onJoin`/`onLeave`/`onUpdate`.",
                   [.init(name: "eventName", type: eventName), .init(name: "listener", type: "function", optional: true)]),
            method("onAny", "Registers a catch-all listener, called for every event with its name and data.",
                   [.init(name: "listener", type: "fun(eventName: string, data: rtlua.EventData)")], returns: returnsSelf),
            method("offAny", "Removes a catch-all listener; without one, every catch-all listener.",
                   [.init(name: "listener", type: "function", optional: true)]),
            method("broadcast", "Sends the message identified by `eventName` to all connected members of the app.",
                   [.init(name: "eventName", type: "string", doc: "A non-empty event name, not reserved, not starting with `channel:` or `user:`."),
                    .init(name: "message", type: "any", doc: "Any value with a JSON form; binary for a non-UTF-8 string or `realtime.binary(s)`."), echo]),
            method("send", "Sends the message identified by `eventName` to the members of `channel` only (you need not be a member).",
                   [.init(name: "channel", type: "string", doc: "A non-empty string of at most 256 bytes."),
                    .init(name: "eventName", type: "string", doc: "A non-empty event name, not reserved, not starting with `channel:` or `user:`."),
                    .init(name: "message", type: "any", doc: "Any value with a JSON form."), echo]),
            method("join", "Adds this connection to `channel`; its members get a `channel:join` event.",
                   [.init(name: "channel", type: "string"), echo]),
            method("leave", "Removes this connection from `channel`; its remaining members get a `channel:leave` event.",
                   [.init(name: "channel", type: "string"), echo]),
            method("updateProfile", "Sets this member's data and announces it with a `channel:update` event to the members of each of its channels; it is also sent with every later join.",
                   [.init(name: "data", type: "any", doc: "The member data (any value with a JSON form)."), echo]),
            method("getMembers", "Returns the members of `channel`, or `nil` and an error. Suspends only the calling coroutine.",
                   [.init(name: "channel", type: "string")],
                   returns: [.init(type: "rtlua.Member[]?", name: "members"), .init(type: "rtlua.RealtimeError?", name: "err")], suspends: true),
            method("waitFor", "Suspends only the calling coroutine until `eventName` arrives (a user event, a presence event, `connect` or `disconnect`) and matches: `opts.channel`, and `opts.match` (a function of the data, or a table of expected fields compared by value with `data.message`). Returns the data, or `nil` and an error naming the event, the channel and how long it waited after `opts.timeout` seconds (default 10). Its listener is removed when it returns.",
                   [.init(name: "eventName", type: eventName),
                    .init(name: "opts", type: "{channel: string?, match: (table|fun(data: rtlua.EventData): boolean)?, timeout: number?}", optional: true)],
                   returns: [.init(type: "rtlua.EventData?", name: "data"), .init(type: "string?", name: "err")], suspends: true),
            method("getSocketId", "The socket id of this connection (what other members see as `id`), or `nil` while not connected. Does not open the lazy connection.",
                   returns: [.init(type: "string?")]),
            method("isConnected", "`true` while connected. Does not open the lazy connection.",
                   returns: [.init(type: "boolean")]),
            method("open", "Opens the connection (again, after `close()`)."),
            method("close", "Closes the connection for good: no reconnection until `open()`."),
            method("onConnect", "Called after each successful connect, including a reconnect.",
                   [.init(name: "listener", type: "fun()")], returns: returnsSelf),
            method("onDisconnect", "Called after each disconnect, with the reason.",
                   [.init(name: "listener", type: "fun(reason: string)")], returns: returnsSelf),
            method("onError", "Called on a connection error, e.g. a refused client key.",
                   [.init(name: "listener", type: "fun(err: rtlua.RealtimeError)")], returns: returnsSelf),
            method("onReconnectAttempt", "Called before reconnection attempt `n`.",
                   [.init(name: "listener", type: "fun(n: integer)")], returns: returnsSelf),
            method("onJoin", "Shorthand for `on(\"channel:join\", listener)`: a member joined a channel.",
                   [.init(name: "listener", type: presenceListener)], returns: returnsSelf),
            method("onLeave", "Shorthand for `on(\"channel:leave\", listener)`: a member left a channel.",
                   [.init(name: "listener", type: presenceListener)], returns: returnsSelf),
            method("onUpdate", "Shorthand for `on(\"channel:update\", listener)`: a member updated its data.",
                   [.init(name: "listener", type: presenceListener)], returns: returnsSelf),
            method("onUserEvent", "Listens to the user events (`user:signin`, `user:signout`, `user:update`, `user:delete`, `user:pwdchange`, `user:emailchange`, `user:phonechange`).",
                   [.init(name: "listener", type: "fun(eventName: rtlua.UserEvent, session: any)")], returns: returnsSelf),
            method("removeListener", "Removes `listener` wherever it listens on this manager.",
                   [.init(name: "listener", type: "function")]),
            method("removeAllListeners", "Removes every listener of this manager."),
            LuaAPIFunction(name: "connect", doc: "Returns another, independent manager (for scripts that bridge two apps). It connects at once. Called with a dot: `realtime.connect{…}`.",
                           params: [.init(name: "options", type: "rtlua.ConnectOptions")], returns: [.init(type: "rtlua.RealtimeManager")]),
            LuaAPIFunction(name: "binary", doc: "Marks `s` to be sent as a binary attachment even when it is valid UTF-8. Called with a dot: `realtime.binary(s)`.",
                           params: [.init(name: "s", type: "string")], returns: [.init(type: "any")]),
        ])

    static let handle = LuaAPIClass(
        name: "rtlua.Handle",
        doc: "A timer or schedule, as `timer.after`, `timer.every` and `schedule` return it.",
        metatable: LuaScript.handleMeta,
        functions: [method("cancel", "Stops the timer or schedule (a no-op when already done).")])

    static let metric = LuaAPIClass(
        name: "rtlua.Metric",
        doc: "A custom metric, as `metrics.counter`, `metrics.rate`, `metrics.trend` and `metrics.gauge` return it; its figures are in the end-of-run summary and thresholds can name it.",
        metatable: LuaScript.metricMeta,
        functions: [method("add", "Records `value`: a counter adds it up, a rate counts `true` (or non-zero) as a pass, a trend records a value ≥ 0 (milliseconds by convention), a gauge keeps the last value. `tags` (a small table of strings) makes a series of its own.",
                           [.init(name: "value", type: "number|boolean"), .init(name: "tags", type: "table<string, string>", optional: true)])])

    public static let classes = [eventData, member, presenceData, realtimeError, connectOptions, httpRequest, httpResponse,
                                 stage, options, null, handle, realtimeManager, metric]

    /// Globals a script declares for rtlua to read, rather than ones rtlua binds (so the
    /// check against a live VM leaves them out).
    public static let declaredGlobals: [LuaAPIGlobal] = [
        .init(name: "options", doc: "Declared by the script, not given to it: the run's own options.",
              kind: .value(type: "rtlua.Options?", luaType: "nil")),
    ]

    // MARK: globals

    private static func function(_ name: String, _ doc: String, _ params: [LuaAPIParam] = [],
                                 returns: [LuaAPIReturn] = [], suspends: Bool = false) -> LuaAPIFunction {
        LuaAPIFunction(name: name, doc: doc, params: params, returns: returns, suspends: suspends)
    }

    private static let httpResult = [LuaAPIReturn(type: "rtlua.HTTPResponse?", name: "response"),
                                     LuaAPIReturn(type: "string?", name: "err", doc: "Why there is no response (connection refused, timeout, bad URL …).")]
    private static let headers = LuaAPIParam(name: "headers", type: "table<string, string>", optional: true)

    public static let globals: [LuaAPIGlobal] = [
        .init(name: "realtime", doc: "The realtime manager configured from the command line. It connects lazily: a script that never uses it opens no socket.",
              kind: .value(type: "rtlua.RealtimeManager", luaType: "userdata")),
        .init(name: "sleep", doc: "", kind: .function(function(
            "sleep", "Pauses this coroutine for `seconds` (fractions allowed); other callbacks go on meanwhile.",
            [.init(name: "seconds", type: "number")], suspends: true))),
        .init(name: "now", doc: "", kind: .function(function(
            "now", "Wall-clock time in seconds since the epoch, a float with microsecond resolution.",
            returns: [.init(type: "number")]))),
        .init(name: "timer", doc: "One-shot and repeating timers.", kind: .table(className: "rtlua.timer", fields: [], functions: [
            function("after", "Calls `fn()` once after `seconds` (≥ 0).",
                     [.init(name: "seconds", type: "number"), .init(name: "fn", type: "fun()")], returns: [.init(type: "rtlua.Handle")]),
            function("every", "Calls `fn()` every `seconds` (> 0), first after `seconds`.",
                     [.init(name: "seconds", type: "number"), .init(name: "fn", type: "fun()")], returns: [.init(type: "rtlua.Handle")]),
        ])),
        .init(name: "schedule", doc: "", kind: .function(function(
            "schedule", "Calls `fn()` on a schedule: five cron fields (`\"*/5 * * * *\"`, local time; a `CRON_TZ=Europe/Paris ` prefix names another zone), `@every DURATION` (`@every 10s`, `@every 1m30s`), or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.",
            [.init(name: "spec", type: "string"), .init(name: "fn", type: "fun()")], returns: [.init(type: "rtlua.Handle")]))),
        .init(name: "http", doc: "HTTP through libcurl, off the event loop; the calling coroutine waits for the answer.",
              kind: .table(className: "rtlua.http", fields: [], functions: [
                function("request", "Makes an HTTP request.", [.init(name: "request", type: "rtlua.HTTPRequest")], returns: httpResult, suspends: true),
                function("get", "A GET request.", [.init(name: "url", type: "string"), headers], returns: httpResult, suspends: true),
                function("post", "A POST request; a table body is sent as JSON.",
                         [.init(name: "url", type: "string"), .init(name: "body", type: "string|table"), headers], returns: httpResult, suspends: true),
              ])),
        .init(name: "json", doc: "JSON text and the values that have no plain Lua form.",
              kind: .table(className: "rtlua.json", fields: [
                .init(name: "null", type: "rtlua.Null", luaType: "userdata", doc: "The value that stands for JSON `null`; a received `null` comes back as `json.null`."),
              ], functions: [
                function("encode", "The JSON text of `value` (object keys sorted); raises on a value with no JSON form.",
                         [.init(name: "value", type: "any")], returns: [.init(type: "string")]),
                function("decode", "The Lua value of JSON text `s`, or `nil, \"invalid JSON: …\"`.",
                         [.init(name: "s", type: "string")], returns: [.init(type: "any", name: "value"), .init(type: "string?", name: "err")]),
                function("array", "Marks `t` (or a new table) as an array, so it is sent as `[]` even when empty.",
                         [.init(name: "t", type: "table", optional: true)], returns: [.init(type: "table")]),
              ])),
        .init(name: "log", doc: "Log lines on stderr, tagged with the script and instance; each level is written when at least `--log-level`.",
              kind: .table(className: "rtlua.log", fields: [], functions: ["debug", "info", "warn", "error"].map { level in
                function(level, "Writes a log line of level `\(level)`; `fmt` and the rest go through `string.format` (one argument alone is written as is).",
                         [.init(name: "fmt", type: "any"), .init(name: "...", type: "any")])
              })),
        .init(name: "exit", doc: "", kind: .function(function(
            "exit", "Ends this script (not the process): `exit()` and `exit(true)` are status 0, `exit(false)` is 1, an integer 0 … 255 is itself. What it sent is flushed and its connections are closed.",
            [.init(name: "code", type: "integer|boolean", optional: true)]))),
        .init(name: "args", doc: "The SCRIPT-ARGS after `--` on the command line.", kind: .value(type: "string[]", luaType: "table")),
        .init(name: "instance", doc: "This copy's number, 1 … N under `--instances N` (1 otherwise).", kind: .value(type: "integer", luaType: "number")),
        .init(name: "check", doc: "", kind: .function(function(
            "check", "Calls each `predicate(value)` and counts a pass or a failure per name (a predicate that raises fails); returns `true` when all passed. Never raises for a failure: the counts are in the end-of-run summary and `checks.rate` thresholds.",
            [.init(name: "value", type: "any"), .init(name: "checks", type: "table<string, fun(value: any): any>")],
            returns: [.init(type: "boolean")]))),
        .init(name: "metrics", doc: "Custom metrics, summarised at the end of the run and usable in thresholds.",
              kind: .table(className: "rtlua.metrics", fields: [], functions: ["counter", "rate", "trend", "gauge"].map { kind in
                function(kind, "The \(kind) metric `name` (letters, digits and `_`).",
                         [.init(name: "name", type: "string")], returns: [.init(type: "rtlua.Metric")])
              })),
        .init(name: "state", doc: "A table that survives a reload under `--watch`: the new version starts with a copy of its plain data (empty at the first start). A global `on_reload(old)`, when the script defines one, is called after a reload with the old version's `state`.",
              kind: .value(type: "table", luaType: "table")),
    ]

    // MARK: inventory

    /// Every bound name with the Lua type of its value, in the form the binding test reads
    /// from a live VM: `sleep` → function, `json.null` → userdata, and the functions of a
    /// bound object's metatable as `rtlua.realtime:on` → function.
    public static var boundNames: [String: String] {
        var names: [String: String] = [:]
        for global in globals {
            switch global.kind {
            case .function: names[global.name] = "function"
            case .value(_, let luaType): names[global.name] = luaType
            case .table(_, let fields, let functions):
                names[global.name] = "table"
                for field in fields { names[global.name + "." + field.name] = field.luaType }
                for f in functions { names[global.name + "." + f.name] = "function" }
            }
        }
        for cls in classes {
            guard let meta = cls.metatable else { continue }
            for f in cls.functions { names[meta + ":" + f.name] = "function" }
        }
        return names
    }
}
