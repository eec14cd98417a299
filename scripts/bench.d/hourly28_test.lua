-- bench row 7: 28 days of three connected hourly bots and a client on the virtual clock:
-- 2,016 messages, and 672 quiet stretches in which every connection's pings coalesce.
test("three hourly bots over 28 days", function()
  local me = client{}
  me:join("room")
  spawn("hourly28_bot.lua", {instances = 3})
  local n = 0
  me:on("tick", function() n = n + 1 end)
  clock.advance("28d")
  me:waitFor("tick", {match = function() return n >= 3 * 672 end, timeout = 10})
  expect(n):toBe(3 * 672)
end)
