-- Latency responder: answer every 'bping' with a 'bpong' carrying the same message. args: CHANNEL
local channel = args[1]
realtime:on("bping", function(d)
  realtime:send(channel, "bpong", d.message, false)
end)
realtime:onJoin(function(d)
  if d.message.id == realtime:getSocketId() then print("READY") end
end)
realtime:join(channel, true)
