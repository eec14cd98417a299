import CLua
import NIOCore

/// Line-at-a-time evaluation for `rtlua repl`: an expression prints its values, a statement
/// just runs; either may wait (sleep, http, getMembers) like any callback.
extension LuaScript {
    private static let replRunner = """
    local f = ...
    local r = table.pack(f())
    if r.n > 0 then print(table.unpack(r, 1, r.n)) end
    """

    /// Makes this script a REPL session: it stays alive while idle, until `exit()` or `stop()`.
    public func becomeREPL() {
        eventLoop.execute { [self] in keepAlive = true }
    }

    /// Runs one line; the future completes when it has finished (or failed, or the script ended).
    public func evaluate(_ line: String) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        eventLoop.execute { [self] in
            spawn({ [self] co in
                let runner = Self.replRunner
                guard runner.withCString({ luaL_loadbufferx(co, $0, runner.utf8.count, "=repl", "t") }) == LUA_OK else { return nil }
                let expression = "return " + line
                var status = expression.withCString { luaL_loadbufferx(co, $0, expression.utf8.count, "=stdin", "t") }
                if status != LUA_OK {
                    Lua.pop(co)
                    status = line.withCString { luaL_loadbufferx(co, $0, line.utf8.count, "=stdin", "t") }
                }
                guard status == LUA_OK else {
                    logger.scriptError(Lua.errorText(co, -1))
                    return nil
                }
                return 1
            }, onDone: { promise.succeed(()) })
        }
        return promise.futureResult
    }
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
