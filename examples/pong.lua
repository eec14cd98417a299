-- Pong: answers each "ping" with a "pong" of the same number; ends on "done".
local channel = "pingpong"

realtime:join(channel)

local seen = 0

-- Ping repeats a ping until it hears the pong: answer every copy, print each number once.
realtime:on("ping", function(data)
  local n = data.message.n
  if n > seen then
    seen = n
    print("ping " .. n)
  end
  realtime:send(channel, "pong", {n = n}, false)
end)

realtime:on("done", function(data)
  print("done after " .. data.message.rounds .. " rounds")
  exit(0)
end)
