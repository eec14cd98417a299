import CLua

/// A script's global `options = {…}`, read before the script starts (in the spirit of k6):
/// `instances`, `duration`, `stages` and `thresholds`. The command line overrides them.
///
/// The file runs in a throwaway VM until it assigns `options`, with only Lua's pure
/// functions and `args` at hand (no print, io, os, require, nor anything else of rtlua's) and a budget of
/// instructions, so nothing of the script happens twice. A script therefore declares its
/// options before it uses anything else; one that does not has none.
public struct DeclaredOptions: Sendable, Equatable {
    public struct Stage: Sendable, Equatable {
        /// Seconds this stage lasts, and the instance count reached at its end (ramped linearly).
        public var duration: Double
        public var target: Int
        public init(duration: Double, target: Int) {
            self.duration = duration
            self.target = target
        }
    }

    public var instances: Int?
    /// Seconds after which the run is stopped.
    public var duration: Double?
    public var stages: [Stage] = []
    public var thresholds: [String] = []

    public init() {}

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    private static let reader = """
    local path, args = ...
    local safe = { args = args, pairs = pairs, ipairs = ipairs, type = type, tostring = tostring, tonumber = tonumber,
      select = select, next = next, setmetatable = setmetatable, getmetatable = getmetatable,
      rawget = rawget, rawset = rawset, rawequal = rawequal, rawlen = rawlen, error = error, pcall = pcall,
      assert = assert, string = string, table = table, math = math, utf8 = utf8 }
    local found = {}
    local env = setmetatable({}, {
      __index = safe,
      __newindex = function(t, k, v)
        rawset(t, k, v)
        if k == "options" then error(found, 0) end
      end,
    })
    local chunk = loadfile(path, "t", env)
    if not chunk then return nil end
    debug.sethook(function() error("budget", 0) end, "", 10000000)
    pcall(chunk)
    debug.sethook()
    return rawget(env, "options")
    """

    /// The options `path` declares (none when it declares none, or cannot be loaded: the run
    /// itself reports that). The script sees its `args` (so options may depend on them).
    public static func read(path: String, args: [String] = []) throws(Problem) -> DeclaredOptions {
        let L = luaL_newstate()!
        defer { lua_close(L) }
        luaL_openlibs(L)
        let status = reader.withCString { luaL_loadbufferx(L, $0, reader.utf8.count, "=options", "t") }
        guard status == LUA_OK else { return DeclaredOptions() }
        Lua.pushString(L, path)
        Lua.pushStringArray(L, args)
        guard lua_pcallk(L, 2, 1, 0, 0, nil) == LUA_OK, lua_type(L, -1) != LUA_TNIL else { return DeclaredOptions() }
        guard lua_type(L, -1) == LUA_TTABLE else { throw Problem(description: "\(path): options must be a table, got \(Lua.typeName(L, -1))") }
        let t = lua_gettop(L)
        var o = DeclaredOptions()
        func fail(_ what: String) -> Problem { Problem(description: "\(path): \(what)") }

        Lua.rawField(L, t, "instances")
        if lua_type(L, -1) != LUA_TNIL {
            var ok: Int32 = 0
            let n = lua_tointegerx(L, -1, &ok)
            guard ok != 0, lua_type(L, -1) == LUA_TNUMBER, (1...100_000).contains(n) else { throw fail("options.instances must be a whole number from 1 to 100000") }
            o.instances = Int(n)
        }
        Lua.pop(L)

        Lua.rawField(L, t, "duration")
        if lua_type(L, -1) != LUA_TNIL {
            guard let d = duration(L, -1), d > 0 else { throw fail("options.duration must be a duration such as \"30s\", \"1m30s\" or a number of seconds > 0") }
            o.duration = d
        }
        Lua.pop(L)

        Lua.rawField(L, t, "thresholds")
        if lua_type(L, -1) != LUA_TNIL {
            guard lua_type(L, -1) == LUA_TTABLE else { throw fail("options.thresholds must be an array of expressions") }
            let n = lua_rawlen(L, -1)
            for i in 0..<n {
                lua_rawgeti(L, -1, lua_Integer(i + 1))
                guard lua_type(L, -1) == LUA_TSTRING, let s = Lua.string(L, -1) else { throw fail("options.thresholds[\(i + 1)] must be a string") }
                o.thresholds.append(s)
                Lua.pop(L)
            }
        }
        Lua.pop(L)

        Lua.rawField(L, t, "stages")
        if lua_type(L, -1) != LUA_TNIL {
            guard lua_type(L, -1) == LUA_TTABLE, lua_rawlen(L, -1) > 0 else { throw fail("options.stages must be an array of {duration=, target=}") }
            let n = lua_rawlen(L, -1)
            for i in 0..<n {
                lua_rawgeti(L, -1, lua_Integer(i + 1))
                guard lua_type(L, -1) == LUA_TTABLE else { throw fail("options.stages[\(i + 1)] must be a table {duration=, target=}") }
                Lua.rawField(L, -1, "duration")
                guard let d = duration(L, -1), d >= 0 else { throw fail("options.stages[\(i + 1)].duration must be a duration such as \"30s\"") }
                Lua.pop(L)
                Lua.rawField(L, -1, "target")
                var ok: Int32 = 0
                let target = lua_tointegerx(L, -1, &ok)
                guard ok != 0, lua_type(L, -1) == LUA_TNUMBER, (0...100_000).contains(target) else {
                    throw fail("options.stages[\(i + 1)].target must be a whole number from 0 to 100000")
                }
                Lua.pop(L, 2)
                o.stages.append(Stage(duration: d, target: Int(target)))
            }
        }
        Lua.pop(L)
        return o
    }

    /// A number of seconds, or text such as "30s", "1m30s", "500ms", "2h".
    static func duration(_ L: OpaquePointer, _ i: Int32) -> Double? {
        if lua_type(L, i) == LUA_TNUMBER {
            let n = lua_tonumberx(L, i, nil)
            return n.isFinite ? n : nil
        }
        guard lua_type(L, i) == LUA_TSTRING, let s = Lua.string(L, i) else { return nil }
        return parseDuration(s)
    }

    /// "1h2m3s", "1.5s", "250ms": the sum of number-unit pairs, in seconds.
    public static func parseDuration(_ text: String) -> Double? {
        guard case .success(let total) = DurationText.seconds(Substring(text), days: false), total.isFinite else { return nil }
        return total
    }
}
