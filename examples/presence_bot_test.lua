-- rtlua test examples/presence_bot_test.lua

test("presence bot greets who joins and lists the members", function()
  spawn("presence_bot.lua", {args = {"lobby"}})
  local ada = client{}
  ada:updateProfile({name = "ada"})
  ada:join("lobby")
  local greeting = ada:waitFor("greeting", {channel = "lobby", match = {text = "welcome, ada"}})
  expect(greeting.message.text):toMatch("^welcome")
  expect.members("lobby", {{name = "presence-bot"}, {name = "ada"}})

  ada:send("lobby", "who", {})
  local members = ada:waitFor("members", {channel = "lobby"})
  expect(members.message):toEqual({"ada", "presence-bot"})
end)

test("presence bot notes who leaves", function()
  local bot = spawn("presence_bot.lua", {args = {"lobby", "1"}})
  local bob = client{}
  bob:updateProfile({name = "bob"})
  bob:join("lobby")
  bob:waitFor("greeting", {channel = "lobby"})
  bob:leave("lobby")
  -- With max-leaves 1 the bot exits after the first leave: the lobby is empty then.
  expect.members("lobby", {})
  bot:stop()
  expect(bot:status()):toBe(0)
  expect(bot:logs()):toContain("left: bob")
end)
