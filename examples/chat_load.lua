-- chat_load.lua: a ramp of chat bots that says whether every message arrived, and how fast.
--   rtlua run examples/chat_load.lua [-- PEAK HOLD_SECONDS]
-- Each bot joins "load" and sends a numbered chat every second; every bot checks what it
-- receives. rtlua times each chat from its send to every receiving bot (the `delivery`
-- metric) and the thresholds below decide the exit status (99 when one fails).
local peak = tonumber(args[1]) or 20
local hold = tonumber(args[2]) or 10

options = {
  stages = {
    { duration = "3s", target = peak },  -- ramp up to PEAK bots
    { duration = hold, target = peak },  -- hold
    { duration = "2s", target = 0 },     -- ramp down
  },
  thresholds = {
    "delivery{event=chat}.p99<100ms",
    "checks.rate>0.99",
    "errors.count==0",
    "connect.p95<500ms",
  },
}

local room = "load"
local age = metrics.trend("chat_age")      -- the same figure from the payload's own clock
local chats = metrics.counter("chats_seen")
local sent = 0

realtime:updateProfile({ bot = instance })
realtime:join(room)

realtime:on("chat", function(d)
  local m = d.message
  check(m, {
    ["chat names its sender"] = function() return type(m.from) == "number" end,
    ["chat is numbered"] = function() return type(m.seq) == "number" and m.seq >= 1 end,
  })
  chats:add(1, { mine = tostring(m.from == instance) })
  if type(m.at) == "number" then age:add(math.max(0, (now() - m.at) * 1000)) end
end)

timer.every(1, function()
  sent = sent + 1
  realtime:send(room, "chat", { from = instance, seq = sent, at = now() })
end)
