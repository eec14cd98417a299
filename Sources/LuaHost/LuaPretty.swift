import CLua

/// The REPL's way of showing values: Lua-like literals a person can read back. Tables are
/// nested with their keys sorted (numbers, then strings, then the rest), bounded in depth and
/// in items per table, and a table met again inside itself is marked `<cycle>`; `json.null`
/// shows as `json.null`, an empty `json.array` as `json.array{}`, strings quoted with
/// one-line escapes. Written in Lua so that `__tostring` metamethods run in a protected call
/// of the script's own, where an error or a yield cannot cross a Swift frame.
enum LuaPretty {
    /// Deeper tables show as `{...}`.
    static let maxDepth = 5
    /// Items after this many in one table show as `... (N more)`.
    static let maxItems = 50
    /// Strings inside tables longer than this many bytes are cut (the top level is whole).
    static let maxNestedString = 200
    /// A table goes on one line when it fits in this many columns.
    static let width = 72
    /// Registry key of the function `pretty(v) -> string`.
    static let registryKey = "rtlua.pretty"

    private static let source = """
    local null, arrayMeta, binaryMeta, getmetatable, next, rawget, type, tostring, pcall,
          sort, concat, format, mathtype, maxDepth, maxItems, maxString, width = ...

    local escapes = { ['"'] = '\\\\"', ['\\\\'] = '\\\\\\\\', ['\\n'] = '\\\\n', ['\\r'] = '\\\\r', ['\\t'] = '\\\\t' }
    local function quote(s, limit)
      local cut = ""
      if limit and #s > limit then
        local n = limit
        -- Never cut inside a UTF-8 sequence.
        while n > 0 and s:byte(n + 1) and s:byte(n + 1) >= 0x80 and s:byte(n + 1) < 0xC0 do n = n - 1 end
        cut = format('..."--[[%d bytes]]', #s)
        s = s:sub(1, n)
      end
      s = s:gsub('[%c"\\\\]', function(c) return escapes[c] or format('\\\\%03d', c:byte()) end)
      if cut ~= "" then return '"' .. s .. cut end
      return '"' .. s .. '"'
    end

    local keywords = {}
    for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then true until while"):gmatch("%a+") do
      keywords[w] = true
    end
    local function isName(k)
      return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
    end

    local function number(n)
      if mathtype(n) == "integer" then return tostring(n) end
      if n ~= n then return "0/0" end
      if n == 1/0 then return "math.huge" end
      if n == -1/0 then return "-math.huge" end
      return tostring(n)
    end

    local rank = { number = 1, string = 2, boolean = 3 }
    local function before(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return (rank[ta] or 4) < (rank[tb] or 4) or ((rank[ta] or 4) == (rank[tb] or 4) and ta < tb) end
      if ta == "number" or ta == "string" then return a < b end
      if ta == "boolean" then return b and not a end
      return false
    end

    local show

    local function named(v, mt)
      if mt and rawget(mt, "__tostring") then
        local ok, text = pcall(tostring, v)
        if ok and type(text) == "string" then return text end
      end
      local name = mt and rawget(mt, "__name")
      return "<" .. (type(name) == "string" and name or type(v)) .. ">"
    end

    local function showTable(t, depth, open, indent)
      local mt = getmetatable(t)
      if mt and mt ~= arrayMeta and rawget(mt, "__tostring") then return named(t, mt) end
      if open[t] then return "<cycle>" end
      if next(t) == nil then return mt == arrayMeta and "json.array{}" or "{}" end
      if depth >= maxDepth then return "{...}" end
      open[t] = true
      -- Positional items: 1..n without a hole (a json.array may have holes: up to its largest index).
      local n = 0
      if mt == arrayMeta then
        local allIndices = true
        for k in next, t do
          if mathtype(k) == "integer" and k > n then n = k elseif mathtype(k) ~= "integer" or k < 1 then allIndices = false end
        end
        if not allIndices then n = 0 end
      end
      if n == 0 then
        while rawget(t, n + 1) ~= nil do n = n + 1 end
      end
      local keys = {}
      for k in next, t do
        if not (mathtype(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
      end
      sort(keys, before)
      local items, count, total = {}, 0, n + #keys
      local inner = indent .. "  "
      for i = 1, n do
        if count == maxItems then break end
        count = count + 1
        items[count] = show(rawget(t, i), depth + 1, open, inner, true)
      end
      for j = 1, #keys do
        if count == maxItems then break end
        local k = keys[j]
        count = count + 1
        local key = isName(k) and k or "[" .. show(k, depth + 1, open, inner, true) .. "]"
        items[count] = key .. " = " .. show(rawget(t, k), depth + 1, open, inner, true)
      end
      if total > count then items[count + 1] = format("... (%d more)", total - count) end
      open[t] = nil
      local line = "{" .. concat(items, ", ") .. "}"
      if #indent + #line <= width and not line:find("\\n", 1, true) then return line end
      return "{\\n" .. inner .. concat(items, ",\\n" .. inner) .. "\\n" .. indent .. "}"
    end

    show = function(v, depth, open, indent, nested)
      local tv = type(v)
      if tv == "string" then return quote(v, nested and maxString or nil) end
      if tv == "number" then return number(v) end
      if tv == "table" then return showTable(v, depth, open, indent) end
      if tv == "userdata" then
        if v == null then return "json.null" end
        local mt = getmetatable(v)
        if mt == binaryMeta then return format("<binary %d bytes>", #v) end
        return named(v, mt)
      end
      if tv == "function" or tv == "thread" then return "<" .. tv .. ">" end
      return tostring(v)
    end

    return function(v) return show(v, 0, {}, "", false) end
    """

    /// Makes `pretty` (from the VM's own libraries, captured now so a script that changes
    /// its globals does not change it) and keeps it in the registry. Host mode, at set-up.
    static func install(_ L: OpaquePointer, bridge: LuaValueBridge) {
        let status = source.withCString { luaL_loadbufferx(L, $0, source.utf8.count, "=rtlua", "t") }
        precondition(status == LUA_OK, "rtlua pretty printer: \(Lua.errorText(L, -1))")
        bridge.pushNull(L)
        shim_luaL_getmetatable(L, LuaValueBridge.arrayMeta)
        shim_luaL_getmetatable(L, LuaValueBridge.binaryMeta)
        lua_getglobal(L, "debug")
        lua_getfield(L, -1, "getmetatable")
        shim_lua_remove(L, -2)
        for name in ["next", "rawget", "type", "tostring", "pcall"] { lua_getglobal(L, name) }
        for (lib, name) in [("table", "sort"), ("table", "concat"), ("string", "format"), ("math", "type")] {
            lua_getglobal(L, lib)
            lua_getfield(L, -1, name)
            shim_lua_remove(L, -2)
        }
        for n in [maxDepth, maxItems, maxNestedString, width] { lua_pushinteger(L, lua_Integer(n)) }
        let ran = shim_lua_pcall_budgeted(L, 17, 1, 0)
        precondition(ran == LUA_OK, "rtlua pretty printer: \(Lua.errorText(L, -1))")
        lua_setfield(L, shim_LUA_REGISTRYINDEX(), registryKey)
    }
}
