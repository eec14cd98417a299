-- Latency pinger: RATE pings per second for SECONDS, paced on a 1 ms timer (catching up on
-- any late tick, never bursting ahead); round-trip times in microseconds. args: CHANNEL RATE SECONDS
local channel, rate, seconds = args[1], tonumber(args[2]), tonumber(args[3])
local total = math.floor(rate * seconds)
local pad = string.rep("x", 56)
local rtts, sent, t0, elapsed = {}, 0, 0, 0

local function finish()
  print("RESULT " .. json.encode({sent = sent, send_seconds = elapsed, rtt_us = json.array(rtts)}))
  exit(0)
end

realtime:on("bpong", function(d)
  rtts[#rtts + 1] = math.floor((now() - d.message.t) * 1e6)
  if #rtts >= total then finish() end
end)

realtime:onJoin(function(d)
  if d.message.id ~= realtime:getSocketId() then return end
  print("READY")
  t0 = now()
  local tick
  tick = timer.every(0.001, function()
    local due = math.min(total, math.floor((now() - t0) * rate) + 1)
    while sent < due do
      sent = sent + 1
      realtime:send(channel, "bping", {seq = sent, t = now(), pad = pad}, false)
    end
    if sent >= total then
      tick:cancel()
      elapsed = now() - t0
      timer.after(2, finish) -- stragglers; missing pongs count as lost
    end
  end)
end)
realtime:join(channel, true)
