-- Scheduled job: on a schedule, fetch a URL and broadcast a short report of the answer.
--
--   rtlua run examples/scheduled_job.lua -- [spec] [url] [runs]
--
-- spec is a cron line ("*/5 * * * *") or "@every 10s", "@hourly", "@daily"; with runs
-- the job exits after that many reports.
local spec = args[1] or "*/5 * * * *"
local url = args[2] or "http://127.0.0.1:8080/"
local runs = tonumber(args[3])
local done = 0

-- Reports come back to us too (echo), which shows the broadcast made the round trip.
realtime:on("job:report", function(data)
  print(string.format("report %d: %s -> %s", data.message.run, data.message.url, tostring(data.message.status)))
  if runs and data.message.run >= runs then exit(0) end
end)

schedule(spec, function()
  done = done + 1
  local run = done
  local started = now()
  local response, err = http.get(url)
  local report = {run = run, url = url, ms = math.floor((now() - started) * 1000)}
  if response then
    report.status = response.status
    report.bytes = #response.body
  else
    report.status = "error"
    report.error = err
  end
  log.info("run %d: %s", run, json.encode(report))
  realtime:broadcast("job:report", report)
end)
