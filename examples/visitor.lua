-- Visitor: walks into a channel where echo_bot.lua and presence_bot.lua keep watch,
-- talks to both, then leaves. Run the three together:
--
--   rtlua run examples/echo_bot.lua examples/presence_bot.lua examples/visitor.lua -- lobby 2
--
-- With "2" the echo bot leaves after two replies and the presence bot after two leaves
-- (the echo bot's and ours), so all three end by themselves.
local channel = args[1] or "lobby"

realtime:updateProfile({name = "visitor"})

-- Wait until both bots are in the channel, so they see us arrive.
repeat
  sleep(0.1)
  local members = realtime:getMembers(channel) or {}
until #members >= 2

realtime:on("greeting", function(d) print("visitor heard: " .. d.message.text) end)
realtime:on("members", function(d) print("visitor sees: " .. table.concat(d.message, ", ")) end)

local echoes = 0
realtime:on("echo", function(d)
  print("visitor got echo: " .. d.message.text)
  echoes = echoes + 1
end)

realtime:join(channel)
sleep(0.3)
realtime:send(channel, "say", {text = "hello bots"})
realtime:send(channel, "say", {text = "nice room"})
while echoes < 2 do sleep(0.05) end
realtime:send(channel, "who", {})
sleep(0.5)
realtime:leave(channel)
sleep(0.2)
exit(0)
