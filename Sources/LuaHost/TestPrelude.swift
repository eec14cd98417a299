/// The Lua half of the test-file globals (`test`, `expect`, `client`, `spawn`, `hub`, `clock`):
/// plain Lua over a few Swift primitives (LuaTestFile.swift), so the assertions raise their
/// errors at the test's own line as any Lua function would.
enum TestPrelude {
    static let source = #"""
    local note, spawnbot, botop, clockop, hubop, settle, huburl, eventmatch = ...
    local type, tostring, error, xpcall, pcall, ipairs, pairs, getinfo, setmetatable, find, format, concat, encode, null, connect =
      type, tostring, error, xpcall, pcall, ipairs, pairs, debug.getinfo, setmetatable, string.find, string.format,
      table.concat, json.encode, json.null, realtime.connect
    local tests, befores, afters = {}, {}, {}
    local clients, seen = {}, {}

    local function show(v)
      if v == nil then return "nil" end
      if v == null then return "null" end
      if type(v) == "string" then return format("%q", v) end
      if type(v) == "table" then
        local ok, text = pcall(encode, v)
        if ok then return text end
      end
      return tostring(v)
    end

    local function add(name, fn, skip, what)
      if type(name) ~= "string" then error("bad argument #1 to '" .. what .. "' (string expected, got " .. type(name) .. ")", 3) end
      if type(fn) ~= "function" then error("bad argument #2 to '" .. what .. "' (function expected, got " .. type(fn) .. ")", 3) end
      local info = getinfo(3, "l")
      tests[#tests + 1] = {name = name, fn = fn}
      note("test", name, skip, info and info.currentline or 0)
    end
    test = setmetatable({
      skip = function(name, fn) add(name, fn, true, "test.skip") end,
    }, {__call = function(_, name, fn) add(name, fn, false, "test") end})
    function before_each(fn)
      if type(fn) ~= "function" then error("bad argument #1 to 'before_each' (function expected, got " .. type(fn) .. ")", 2) end
      befores[#befores + 1] = fn
    end
    function after_each(fn)
      if type(fn) ~= "function" then error("bad argument #1 to 'after_each' (function expected, got " .. type(fn) .. ")", 2) end
      afters[#afters + 1] = fn
    end

    -- Deep equality as JSON sees it: 1 == 1.0, tables by content, null only equals null.
    local function same(a, b)
      if a == b then return true end
      if type(a) ~= "table" or type(b) ~= "table" then return false end
      for k, v in pairs(a) do if not same(v, b[k]) then return false end end
      for k in pairs(b) do if a[k] == nil then return false end end
      return true
    end

    -- fail is called by a matcher, which the test called: level 3 is the test's own line.
    local function fail(what, actual, expected, hasExpected)
      local text = what
      if hasExpected then text = text .. "\n  expected: " .. show(expected) end
      text = text .. "\n  actual:   " .. show(actual)
      error(text, 3)
    end

    local Expect = {}
    Expect.__index = Expect
    function Expect:toBe(e)
      if not (self.v == e) then fail("expect(actual):toBe(expected)", self.v, e, true) end
      return self
    end
    function Expect:toEqual(e)
      if not same(self.v, e) then fail("expect(actual):toEqual(expected)", self.v, e, true) end
      return self
    end
    function Expect:toMatch(pattern)
      if type(self.v) ~= "string" or not find(self.v, pattern) then
        fail("expect(actual):toMatch(pattern)", self.v, pattern, true)
      end
      return self
    end
    function Expect:toContain(x)
      local v = self.v
      if type(v) == "string" and type(x) == "string" then
        if find(v, x, 1, true) then return self end
      elseif type(v) == "table" then
        for _, item in pairs(v) do if same(item, x) then return self end end
      end
      fail("expect(actual):toContain(item)", v, x, true)
    end
    function Expect:toBeNil()
      if self.v ~= nil then fail("expect(actual):toBeNil()", self.v, nil, true) end
      return self
    end
    function Expect:toHaveLength(n)
      local v = self.v
      if (type(v) ~= "string" and type(v) ~= "table") or #v ~= n then
        fail("expect(actual):toHaveLength(" .. tostring(n) .. ")", v, nil, false)
      end
      return self
    end
    -- A function that must raise (its message matching `pattern`, if given), or a spawned
    -- bot that must have ended with a failure status.
    function Expect:toFail(pattern)
      local v = self.v
      if type(v) == "table" and v.status then
        local status = v:status()
        if status == nil or status == 0 then fail("expect(bot):toFail(): the bot has not failed", status, nil, false) end
        return self
      end
      if type(v) ~= "function" then fail("expect(fn):toFail(): a function or a bot expected", v, nil, false) end
      local ok, err = pcall(v)
      if ok then fail("expect(fn):toFail(): the function did not raise", nil, nil, false) end
      if pattern ~= nil and not find(tostring(err), pattern) then
        fail("expect(fn):toFail(pattern): the error did not match", tostring(err), pattern, true)
      end
      return self
    end
    expect = setmetatable({}, {__call = function(_, v) return setmetatable({v = v}, Expect) end})

    -- Presence is delivered over the network: the members are asked for again for up to
    -- about two seconds of real time before the expectation fails.
    function expect.members(channel, list)
      if type(channel) ~= "string" then error("bad argument #1 to 'expect.members' (string expected, got " .. type(channel) .. ")", 2) end
      if type(list) ~= "table" then error("bad argument #2 to 'expect.members' (table expected, got " .. type(list) .. ")", 2) end
      local members
      for _ = 1, 100 do
        members = hubop("members", channel)
        local used, ok = {}, #members == #list
        for _, want in ipairs(ok and list or {}) do
          local found = false
          for i, m in ipairs(members) do
            if not used[i] and (m.id == want or same(m.data, want)) then used[i], found = true, true; break end
          end
          if not found then ok = false; break end
        end
        if ok then return end
        settle()
      end
      local text = "expect.members(" .. format("%q", channel) .. ", list)\n  expected: " .. show(list) .. "\n  actual:   " .. show(members)
      error(text, 2)
    end

    -- Whether event data matches a waitFor's options (with realtime:waitFor's own matcher).
    local function matches(data, opts)
      if opts == nil then return true end
      if opts.channel ~= nil and data.channel ~= opts.channel then return false end
      return eventmatch(data, opts.match)
    end

    -- A client keeps what it received: its waitFor first looks at the events that arrived
    -- since the previous waitFor returned (say, during a clock.advance), then waits.
    function client(opts)
      if opts ~= nil and type(opts) ~= "table" then error("bad argument #1 to 'client' (table expected, got " .. type(opts) .. ")", 2) end
      local c = connect(opts or {})
      local inbox, first = {}, 1
      c:onAny(function(event, data)
        -- A user event reaches onAny as {message = session}; waitFor gives {event=, session=}.
        if find(event, "^user:") then inbox[#inbox + 1] = {event, {event = event, session = data.message}}
        else inbox[#inbox + 1] = {event, data} end
        seen[#seen + 1] = format("%s %s %s", event, data.channel or "-", show(data.message))
        if #seen > 10 then table.remove(seen, 1) end
      end)
      clients[#clients + 1] = c
      if not c:isConnected() then c:waitFor("connect", {timeout = 30}) end
      local proxy = {}
      local function received(event, wopts)
        for i = first, #inbox do
          local e = inbox[i]
          if e[1] == event and matches(e[2], wopts) then
            first = i + 1
            return e[2]
          end
        end
      end
      -- {advance = true}: move the clock from one due timer to the next (giving what each
      -- sent 20 ms of real time to arrive) until the event has come; when nothing is due
      -- before the timeout, real deliveries get ~0.2 s, then the clock jumps to the timeout.
      local function advancing(event, wopts)
        local timeout = wopts.timeout or 10
        local deadline, quiet = now() + timeout, 0
        while true do
          local data = received(event, wopts)
          if data ~= nil then return data end
          local due = clockop("next")
          if due ~= nil and due <= deadline then
            clockop("to", due)
            settle(20)  -- what the timers sent gets a moment to arrive, before time moves on
            quiet = 0
          elseif quiet < 10 then
            settle()
            quiet = quiet + 1
          else
            clockop("to", deadline)
            data = received(event, wopts)
            if data ~= nil then return data end
            first = #inbox + 1
            local where = wopts.channel and format(" on channel '%s'", wopts.channel) or ""
            return nil, format("waitFor('%s'%s): nothing arrived within %ss", event, where, tostring(timeout))
          end
        end
      end
      function proxy.waitFor(_, event, wopts)
        if type(wopts) == "table" and wopts.advance then return advancing(event, wopts) end
        local got = received(event, wopts)
        if got ~= nil then return got end
        first = #inbox + 1
        local data, err = c:waitFor(event, wopts)
        if data ~= nil then first = #inbox + 1 end
        return data, err
      end
      return setmetatable(proxy, {
        __index = function(_, k)
          local m = c[k]
          if type(m) ~= "function" then return m end
          return function(self, ...)
            if self == proxy then return m(c, ...) end
            return m(self, ...)
          end
        end,
        __name = "client",
      })
    end

    local Bot = {}
    Bot.__index = Bot
    function Bot:stop() return botop(self.id, "stop") end
    function Bot:restart() return botop(self.id, "restart") end
    function Bot:logs() return botop(self.id, "logs") end
    function Bot:status() return botop(self.id, "status") end
    function spawn(path, opts)
      if type(path) ~= "string" then error("bad argument #1 to 'spawn' (string expected, got " .. type(path) .. ")", 2) end
      if opts ~= nil and type(opts) ~= "table" then error("bad argument #2 to 'spawn' (table expected, got " .. type(opts) .. ")", 2) end
      local id, err = spawnbot(path, opts or {})
      if not id then error(err, 2) end
      return setmetatable({id = id, path = path}, Bot)
    end

    hub = {
      url = huburl,
      userEvent = function(name, session) return hubop("userEvent", name, session) end,
      kick = function(socket) return hubop("kick", socket) end,
      restart = function() return hubop("restart") end,
      drop = function(rate) return hubop("drop", rate) end,
      delay = function(ms) return hubop("delay", ms) end,
      log = function() return hubop("log") end,
    }
    clock = {
      advance = function(d) return clockop("advance", d) end,
      set = function(t) return clockop("set", t) end,
      runUntilIdle = function()
        if not clockop("idle") then
          error("clock.runUntilIdle: still busy after 100000 callbacks (a timer.every or a schedule repeats for ever: use clock.advance)", 2)
        end
      end,
    }
    -- In a test, sleeping is moving the virtual clock: the bots' timers run meanwhile.
    sleep = clock.advance

    local function handler(e)
      if type(e) ~= "string" then e = show(e) end
      return e
    end
    local P = {}
    function P.main(chunk)
      local ok, err = xpcall(chunk, handler)
      note("main", ok, err)
    end
    function P.run(i)
      local t = tests[i]
      local ok, err = true, nil
      for _, f in ipairs(befores) do
        ok, err = xpcall(f, handler)
        if not ok then break end
      end
      if ok then ok, err = xpcall(t.fn, handler) end
      for _, f in ipairs(afters) do
        local ok2, err2 = xpcall(f, handler)
        if ok and not ok2 then ok, err = ok2, err2 end
      end
      note("result", i, ok, err, concat(seen, "\n"))
    end
    function P.seen() return concat(seen, "\n") end
    function P.cleanup()
      for _, c in ipairs(clients) do pcall(function() c:close() end) end
      clients, seen = {}, {}
    end
    return P
    """#
}
