-- Fan-out probe (scenario 8, and the shard row): instance 1 broadcasts ROUNDS messages, one a second, once all
-- N bots are connected; every bot counts them; rtlua's delivery metric times each from the
-- send to every bot's receipt. args: N ROUNDS
-- A broadcast rather than a channel: N bots joining one channel would cost N² presence
-- events before the first message (10,000 bots: 10^8).
local n, rounds = tonumber(args[1]), tonumber(args[2]) or 5
local got = 0
local complete = metrics.counter("fan_complete")
local t0 = now()

realtime:on("fan", function()
  got = got + 1
  if got == rounds then complete:add(1) end
end)
realtime:on("fan_done", function() if instance ~= 1 then exit() end end)

if instance == 1 then
  -- The others say they are connected on a channel only this bot is in. Under --shard the
  -- other shards' bots may connect before this one has joined: they say it again until
  -- the first message comes, and each is counted once.
  local ready, seen = 0, {}
  realtime:join("fan-ctl")
  realtime:on("ready", function(d)
    if not seen[d.message.id] then seen[d.message.id] = true; ready = ready + 1 end
  end)
  while ready < n - 1 do sleep(0.2) end
  print("JOINED " .. string.format("%.3f", now() - t0))
  sleep(1)
  for r = 1, rounds do
    realtime:broadcast("fan", { round = r })
    sleep(1)
  end
  sleep(2)
  realtime:broadcast("fan_done", {})
  sleep(1)
  exit()
else
  local function sayReady() if got == 0 then realtime:send("fan-ctl", "ready", { id = instance }) end end
  realtime:onConnect(sayReady)
  local again = timer.every(3, function() sayReady() end)
  realtime:on("fan", function() again:cancel() end)
end
