-- bench row 7: a connected bot with an hourly schedule that sends to its room.
realtime:join("room")
schedule("@hourly", function() realtime:send("room", "tick", {at = now()}) end)
