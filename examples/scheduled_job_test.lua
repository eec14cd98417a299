-- rtlua test examples/scheduled_job_test.lua
-- Two weeks of a weekday schedule in a few milliseconds: the clock is virtual.

test("a weekday 09:00 job runs ten times in two weeks", function()
  clock.set("2026-03-01T00:00:00Z") -- a Sunday
  local watcher = client{}
  spawn("scheduled_job.lua", {args = {"0 9 * * 1-5", hub.url .. "/healthz"}})
  clock.advance("14d")
  -- The watcher kept what arrived meanwhile: waitFor finds the tenth report.
  local tenth = watcher:waitFor("job:report", {match = {run = 10}})
  expect(tenth.message.status):toBe(200)
  expect(os.date("!%Y-%m-%d %H:%M", math.floor(now()))):toBe("2026-03-15 00:00")
end)

test("an @every job reports and exits after its runs", function()
  local watcher = client{}
  local job = spawn("scheduled_job.lua", {args = {"@every 10s", hub.url .. "/healthz", "3"}})
  clock.advance("30s")
  local last = watcher:waitFor("job:report", {match = {run = 3}})
  expect(last.message.status):toBe(200)
end)
