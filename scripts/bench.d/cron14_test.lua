-- bench row 7: two weeks of a weekday cron on the virtual clock.
test("0 9 * * 1-5 over 14 days runs 10 times", function()
  clock.set("2026-03-01T00:00:00Z")
  local job = spawn("cron14_job.lua")
  clock.advance("14d")
  expect(job:logs()):toHaveLength(10)
  expect(job:logs()[10]):toBe("2026-03-13T09:00:00Z Fri")
end)
