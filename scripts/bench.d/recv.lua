-- Receive throughput: count 'bnchtick' events in a Lua handler.
-- args: CHANNEL COUNT IDLE_S MAX_S. Prints READY once joined; RESULT {json} at COUNT, after IDLE_S
-- of silence, or MAX_S after the first message.
local channel, target, idle, max_s = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
local n, first, last = 0, 0, 0
local clock = os and os.clock or function() return 0 end -- process CPU seconds
local cpu_first, cpu_last = 0, 0

local function finish(why)
  print("RESULT " .. json.encode({count = n, first = first, last = last, cpu_first = cpu_first, cpu_last = cpu_last,
                                  stop = why}))
  exit(0)
end

realtime:on("bnchtick", function(d)
  local t = now()
  if n == 0 then first = t; cpu_first = clock() end
  n = n + 1
  last = t
  if n >= target then cpu_last = clock(); finish("count") end
end)

realtime:onJoin(function(d)
  if d.message.id == realtime:getSocketId() then
    print("READY")
    timer.every(0.5, function()
      local t = now()
      if n > 0 and (t - last > idle or t - first > max_s) then
        cpu_last = clock()
        finish(t - last > idle and "idle" or "time")
      end
    end)
  end
end)
realtime:onDisconnect(function(reason)
  if n > 0 then cpu_last = clock(); finish("disconnected: " .. tostring(reason)) end
end)
realtime:join(channel, true)
