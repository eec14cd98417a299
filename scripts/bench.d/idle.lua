-- An idle bot: join CHANNEL, say READY, then stay connected doing nothing. args: CHANNEL
realtime:onJoin(function(d)
  if d.message.id == realtime:getSocketId() then print("READY") end
end)
realtime:join(args[1], true)
