-- Sender: flood COUNT ~100-byte channel messages, yielding to the event loop every 500.
-- args: CHANNEL COUNT. Joins CHANNEL-ctl (not CHANNEL) so nothing echoes back.
local channel, total = args[1], tonumber(args[2])
local pad = string.rep("x", 56)

realtime:onJoin(function(d)
  if d.message.id ~= realtime:getSocketId() then return end
  local t0 = now()
  for i = 1, total do
    realtime:send(channel, "bnchtick", {seq = i, ts = now(), pad = pad}, false)
    if i % 500 == 0 then sleep(0) end
  end
  local t1 = now()
  print("RESULT " .. json.encode({count = total, start = t0, loop_done = t1}))
  -- stays connected until the orchestrator ends the run, like the python sender

end)
realtime:join(channel .. "-ctl", true)
