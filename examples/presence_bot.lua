-- Chat presence bot: greets members joining a channel, notes who leaves, and answers
-- "who" with the current member list.
--
--   rtlua run examples/presence_bot.lua -- [channel] [max-leaves]
--
-- With max-leaves the bot exits after seeing that many members leave.
local channel = args[1] or "lobby"
local maxLeaves = tonumber(args[2])
local leaves = 0

local function nameOf(member)
  local data = member.data
  if type(data) == "table" and data.name then return data.name end
  return member.id
end

realtime:updateProfile({name = "presence-bot"})
realtime:join(channel)

realtime:onJoin(function(data)
  if data.channel ~= channel then return end
  print("joined: " .. nameOf(data.message))
  realtime:send(channel, "greeting", {text = "welcome, " .. nameOf(data.message)}, false)
end)

realtime:onLeave(function(data)
  if data.channel ~= channel then return end
  leaves = leaves + 1
  print("left: " .. nameOf(data.message))
  if maxLeaves and leaves >= maxLeaves then exit(0) end
end)

realtime:onUpdate(function(data)
  print("updated: " .. nameOf(data.message))
end)

realtime:on("who", function(data)
  if data.channel ~= channel then return end
  local members, err = realtime:getMembers(channel)
  if not members then
    log.error("getMembers failed: %s", tostring(err))
    return
  end
  local names = {}
  for i, m in ipairs(members) do names[i] = nameOf(m) end
  table.sort(names)
  realtime:send(channel, "members", names, false)
  print("members: " .. table.concat(names, ", "))
end)
