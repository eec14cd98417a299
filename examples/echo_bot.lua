-- Echo bot: answers every "say" message in a channel with an "echo" of it.
--
--   rtlua run examples/echo_bot.lua -- [channel] [max-replies]
--
-- channel defaults to "echo"; with max-replies the bot exits after that many answers.
local channel = args[1] or "echo"
local maxReplies = tonumber(args[2])
local replies = 0

realtime:onConnect(function()
  log.info("connected as %s", realtime:getSocketId())
end)

realtime:join(channel)

realtime:on("say", function(data)
  if data.channel ~= channel then return end
  replies = replies + 1
  realtime:send(channel, "echo", {text = data.message.text, n = replies}, false)
  print(string.format("echoed #%d: %s", replies, tostring(data.message.text)))
  if maxReplies and replies >= maxReplies then
    exit(0)
  end
end)
