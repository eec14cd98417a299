-- An idle bot: join a channel shared with 9 other bots, say READY, then stay connected doing
-- nothing. (One channel for all N bots would make the hub announce N²/2 joins.) args: CHANNEL
realtime:onJoin(function(d)
  if d.message.id == realtime:getSocketId() then print("READY") end
end)
realtime:join(args[1] .. "-" .. ((instance - 1) // 10), true)
