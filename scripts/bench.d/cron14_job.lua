-- bench row 7: a weekday 09:00 schedule; prints each run's instant (UTC).
schedule("0 9 * * 1-5", function()
  print(os.date("!%Y-%m-%dT%H:%M:%SZ %a", math.floor(now())))
end)
