-- Fan-out probe (scenario 7): instance 1 sends ROUNDS messages to the channel once all N
-- bots are in it, one a second; every bot counts them; rtlua's delivery metric times each
-- from the send to every bot's receipt. args: N ROUNDS
local n, rounds = tonumber(args[1]), tonumber(args[2]) or 5
local channel = "fan"
local got = 0
local complete = metrics.counter("fan_complete")
local t0 = now()

realtime:join(channel)
realtime:on("fan", function()
  got = got + 1
  if got == rounds then complete:add(1) end
end)
realtime:on("fan_done", function() if instance ~= 1 then exit() end end)

if instance == 1 then
  while true do
    local members = realtime:getMembers(channel)
    if members and #members >= n then break end
    sleep(0.5)
  end
  print("JOINED " .. string.format("%.3f", now() - t0))
  sleep(1)
  for r = 1, rounds do
    realtime:send(channel, "fan", { round = r })
    sleep(1)
  end
  sleep(2)
  realtime:send(channel, "fan_done", {})
  sleep(1)
  exit()
end
