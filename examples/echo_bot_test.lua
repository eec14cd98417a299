-- rtlua test examples/echo_bot_test.lua

test("echo bot answers every say with an echo", function()
  spawn("echo_bot.lua", {args = {"room"}})
  local user = client{}
  user:join("room")
  user:send("room", "say", {text = "hello"})
  user:send("room", "say", {text = "again"})
  local first = user:waitFor("echo", {channel = "room", match = {n = 1}})
  expect(first.message):toEqual({text = "hello", n = 1})
  local second = user:waitFor("echo", {match = function(d) return d.message.n == 2 end})
  expect(second.message.text):toBe("again")
end)

test("echo bot ignores other channels and stops after max replies", function()
  local bot = spawn("echo_bot.lua", {args = {"room", "1"}})
  local user = client{}
  user:join("room")
  user:join("elsewhere")
  user:send("elsewhere", "say", {text = "not for the bot"})
  user:send("room", "say", {text = "only this"})
  local echo = user:waitFor("echo", {channel = "room"})
  expect(echo.message.text):toBe("only this")
  bot:stop()
  expect(bot:status()):toBe(0)
  expect(bot:logs()):toContain("echoed #1: only this")
end)
