-- Ping: with pong.lua, two bots talking over one channel.
--
--   rtlua run examples/ping.lua examples/pong.lua -- [rounds]
--
-- Ping sends "ping" n (repeating it until pong answers, so start order does not matter),
-- and after the last round tells pong it is done.
local rounds = tonumber(args[1]) or 3
local channel = "pingpong"
local n = 1

realtime:join(channel)

local resend = timer.every(0.2, function()
  realtime:send(channel, "ping", {n = n}, false)
end)

realtime:on("pong", function(data)
  if data.message.n ~= n then return end
  print("pong " .. n)
  if n == rounds then
    resend:cancel()
    realtime:send(channel, "done", {rounds = rounds}, false)
    exit(0)
  end
  n = n + 1
  realtime:send(channel, "ping", {n = n}, false)
end)
