import CLua
import NIOCore

/// What became of a chunk given to `ReplSession.evaluate`.
public enum ReplOutcome: Sendable, Equatable {
    /// It ran (or failed with its error reported, or the script ended).
    case ran
    /// It is the start of a longer chunk (Lua's syntax error "near <eof>"): more lines are needed.
    case incomplete
}

/// `rtlua repl`'s session on a script VM: chunks typed by the user run as callbacks (they may
/// wait: sleep, http, getMembers); an expression shows its values through `LuaPretty`; an
/// error shows its message and the user's own lines of the traceback. Thread-safe: every
/// method hands its work to the script's event loop, where the session's state lives.
public final class ReplSession: @unchecked Sendable {  // `running` and `cancelled`: on script.eventLoop only
    public let script: LuaScript
    /// The coroutine of the chunk that runs now (waiting or preempted included).
    private var running: OpaquePointer?
    /// Set by `interrupt`; a chunk that has not started yet does not start.
    private var cancelled = false

    public init(script: LuaScript) {
        self.script = script
        script.eventLoop.execute { script.installREPL() }
    }

    /// Runs `chunk` (a line, or lines joined with "\n"), or says it is incomplete. `=expr`
    /// is `return expr`; any chunk is first tried as `return <chunk>` so expressions show
    /// their values. The future completes when the chunk has finished, failed or been
    /// interrupted. At the end of the input (`atEnd`) an incomplete chunk is a syntax error.
    public func evaluate(_ chunk: String, atEnd: Bool = false) -> EventLoopFuture<ReplOutcome> {
        let promise = script.eventLoop.makePromise(of: ReplOutcome.self)
        script.eventLoop.execute { [self] in
            var outcome = ReplOutcome.ran
            cancelled = false
            script.spawn({ [self] co in
                guard !cancelled else { return nil }
                lua_getfield(co, shim_LUA_REGISTRYINDEX(), LuaScript.replRunnerKey)
                switch LuaScript.loadREPLChunk(co, chunk) {
                case .loaded:
                    running = co
                    return 1
                case .incomplete(let message) where atEnd:
                    script.options.output.stderr(message + "\n")
                case .incomplete:
                    outcome = .incomplete
                case .failed(let message):
                    script.options.output.stderr(message + "\n")
                }
                return nil
            }, onDone: { [self] in
                running = nil
                promise.succeed(outcome)
            })
        }
        return promise.futureResult
    }

    /// Ctrl-C: ends the chunk that runs now (one that waits, or a busy one at its next
    /// preemption, within a few tens of milliseconds), or keeps a queued one from starting.
    /// The script and what the chunk set up (timers, handlers) stay.
    public func interrupt() {
        script.eventLoop.execute { [self] in
            cancelled = true
            guard let co = running, !script.isEnded else { return }
            if script.preempted == co {
                script.preempted = nil
            } else if !script.waiting.contains(co) {
                return  // it is not this chunk that holds the loop; nothing to end
            }
            running = nil
            script.options.output.stderr("interrupted\n")
            script.release(co)  // never resumed again; runs the completion
            // Callbacks that queued behind it run now, as they would have after it.
            while !script.busy, !script.isEnded, !script.queued.isEmpty { script.queued.removeFirst()() }
        }
    }

    /// Tab completion: the full words that `word` (a name, `a.b.c` or `obj:m`, possibly
    /// empty after the last separator) can become, sorted. Looks only: no metamethod runs.
    public func completions(for word: String) -> EventLoopFuture<[String]> {
        script.eventLoop.submit { [self] in
            script.isEnded ? [] : ReplCompletion.candidates(for: word, in: script.L)
        }
    }

    /// The word under the cursor that completion works on: the identifier characters, dots
    /// and colons that end `text`.
    public static func completionWord(endingAt text: String) -> String {
        ReplCompletion.word(endingAt: text)
    }

    /// Whether the script has ended (by `exit()`, or stopped).
    public var hasEnded: EventLoopFuture<Bool> {
        script.eventLoop.submit { [self] in script.isEnded }
    }
}

extension LuaScript {
    static let replRunnerKey = "rtlua.repl"

    /// Runs a loaded chunk under a message handler: values shown with `pretty` and written
    /// as one line, an error reported with the frames of the user's own lines (chunk `stdin`)
    /// only, not rtlua's. The libraries are captured now, so a session that redefines
    /// `print` or `table` still sees its results.
    private static let replRunner = """
    local pretty, write, report, traceback, pack, concat, xpcall, type, gmatch, match = ...
    local function handler(e) return { e, traceback("", 2) } end
    local function message(e)
      if type(e) == "string" then return e end
      return "(error object) " .. pretty(e)
    end
    return function(f)
      local r = pack(xpcall(f, handler))
      if r[1] then
        if r.n > 1 then
          local parts = {}
          for i = 2, r.n do parts[i - 1] = pretty(r[i]) end
          write(concat(parts, "\\t"))
        end
        return
      end
      local e = r[2]
      if type(e) ~= "table" then return report(message(e)) end
      local frames = {}
      for line in gmatch(e[2] or "", "[^\\n]+") do
        if match(line, "^%s*stdin:%d+:") then frames[#frames + 1] = line end
      end
      local text = message(e[1])
      if #frames > 1 then text = text .. "\\nstack traceback:\\n" .. concat(frames, "\\n") end
      report(text)
    end
    """

    /// Keeps the script alive while idle and installs the pretty printer and the runner
    /// (on the loop, before the first chunk).
    func installREPL() {
        guard !isEnded else { return }
        keepAlive = true
        LuaPretty.install(L, bridge: bridge)
        let status = Self.replRunner.withCString { luaL_loadbufferx(L, $0, Self.replRunner.utf8.count, "=rtlua", "t") }
        precondition(status == LUA_OK, "rtlua repl runner: \(Lua.errorText(L, -1))")
        lua_getfield(L, shim_LUA_REGISTRYINDEX(), LuaPretty.registryKey)
        Lua.pushFunction(L, replWrite)
        Lua.pushFunction(L, replReport)
        lua_getglobal(L, "debug")
        lua_getfield(L, -1, "traceback")
        shim_lua_remove(L, -2)
        for (lib, name) in [("table", "pack"), ("table", "concat")] {
            lua_getglobal(L, lib)
            lua_getfield(L, -1, name)
            shim_lua_remove(L, -2)
        }
        for name in ["xpcall", "type"] { lua_getglobal(L, name) }
        for name in ["gmatch", "match"] {
            lua_getglobal(L, "string")
            lua_getfield(L, -1, name)
            shim_lua_remove(L, -2)
        }
        let ran = shim_lua_pcall_budgeted(L, 10, 1, 0)
        precondition(ran == LUA_OK, "rtlua repl runner: \(Lua.errorText(L, -1))")
        lua_setfield(L, shim_LUA_REGISTRYINDEX(), Self.replRunnerKey)
    }

    enum REPLLoad {
        case loaded
        /// With the syntax error it would be if no more lines came.
        case incomplete(String)
        case failed(String)
    }

    /// Compiles a chunk as `return <chunk>`, else as statements, named `stdin`; pushes the
    /// function when it compiles. Incomplete when either form ends early (`<eof>`), as the
    /// `lua` interpreter decides.
    static func loadREPLChunk(_ co: OpaquePointer, _ chunk: String) -> REPLLoad {
        func load(_ text: String) -> (ok: Bool, message: String) {
            if text.withCString({ luaL_loadbufferx(co, $0, text.utf8.count, "=stdin", "t") }) == LUA_OK { return (true, "") }
            let message = Lua.errorText(co, -1)
            Lua.pop(co)
            return (false, message)
        }
        let explicit = chunk.hasPrefix("=")
        let expression = load("return " + (explicit ? String(chunk.dropFirst()) : chunk))
        if expression.ok { return .loaded }
        if explicit { return expression.message.hasSuffix("<eof>") ? .incomplete(expression.message) : .failed(expression.message) }
        let statements = load(chunk)
        if statements.ok { return .loaded }
        if statements.message.hasSuffix("<eof>") || expression.message.hasSuffix("<eof>") { return .incomplete(statements.message) }
        return .failed(statements.message)
    }
}

private let replWrite: LuaSwiftFunction = { L in
    let L = L!
    var bytes = Lua.bytes(L, 1)
    bytes.append(0x0A)
    LuaScript.host(L).options.output.stdout(bytes)
    return 0
}

/// An error of a REPL chunk is the answer to what the user typed, not a log line: plain text.
private let replReport: LuaSwiftFunction = { L in
    let L = L!
    LuaScript.host(L).options.output.stderr((Lua.string(L, 1) ?? "error") + "\n")
    return 0
}

/// `rtlua check`: compiles a file without running it.
public enum LuaSyntaxCheck {
    /// nil when the file compiles, else `file:line: message` (or why it cannot be read).
    public static func check(path: String) -> String? {
        let L = luaL_newstate()!
        shim_set_arena(L, nil)  // no account: Lua.errorText's pcall then runs as is
        defer { lua_close(L) }
        guard luaL_loadfilex(L, path, "t") == LUA_OK else { return Lua.errorText(L, -1) }
        return nil
    }
}
