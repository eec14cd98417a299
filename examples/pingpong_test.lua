-- rtlua test examples/pingpong_test.lua
-- ping.lua and pong.lua, each a real bot, against a fresh hub on a virtual clock.

test("ping and pong play three rounds", function()
  local pong = spawn("pong.lua")
  local ping = spawn("ping.lua", {args = {"3"}})
  local watcher = client{}
  watcher:join("pingpong")
  -- Ping sends its first ping from a 0.2 s timer: nothing happens until the clock moves.
  clock.advance(0.2)
  local done, err = watcher:waitFor("done", {channel = "pingpong"})
  expect(err):toBeNil()
  expect(done.message):toEqual({rounds = 3})
  expect(ping:logs()):toEqual({"pong 1", "pong 2", "pong 3"})
end)

test("pong answers a ping with the same number", function()
  spawn("pong.lua")
  local player = client{}
  player:join("pingpong")
  player:send("pingpong", "ping", {n = 7}, false)
  local answer = player:waitFor("pong", {channel = "pingpong", match = {n = 7}})
  expect(answer.message.n):toBe(7)
end)
