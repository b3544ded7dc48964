-- wrk script of bench/load.py: rotate over many tenants with a real token each, and
-- check that every answer is a 200 holding only the asked tenant's rows (RELIABILITY 25).
--
--   wrk -t N -c N -d 20s -s bench/load.lua http://127.0.0.1:PORT -- TOKENS PATH KIND PER
--
-- TOKENS: a file of lines "code<TAB>token<TAB>tenant_id"; PATH: a format with one %s for
-- the tenant's code; KIND: "enterprises" (every credit code is 91<tenant_id:04d>...) or
-- "hazards" (every enterprise_id lies in the tenant's block of PER enterprises).
-- Run with as many threads as connections: each thread then has one connection, whose
-- requests and answers alternate, so an answer is checked against the tenant it asked.
-- done() prints one JSON line (latencies in microseconds).

local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  template, kind, per = args[2], args[3], tonumber(args[4])
  entries = {}
  for line in io.lines(args[1]) do
    local code, token, tid = line:match("^(%S+)\t(%S+)\t(%d+)$")
    if code then
      table.insert(entries, {code = code, token = token, tid = tonumber(tid)})
    end
  end
  n = #entries
  at = ((id or 1) * 7919) % n -- threads start at different tenants
  non200, wrong, checked, empty = 0, 0, 0, 0
end

function request()
  at = at % n + 1
  expected = entries[at]
  return wrk.format("GET", string.format(template, expected.code),
                    {["Authorization"] = "Bearer " .. expected.token})
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local e, seen, bad = expected, 0, false
  if kind == "enterprises" then
    local want = string.format("%04d", e.tid)
    for t in body:gmatch('"credit_code"%s*:%s*"91(%d%d%d%d)') do
      seen = seen + 1
      if t ~= want then bad = true end
    end
  else
    local lo, hi = (e.tid - 1) * per, e.tid * per
    for v in body:gmatch('"enterprise_id"%s*:%s*(%d+)') do
      seen = seen + 1
      local x = tonumber(v)
      if x <= lo or x > hi then bad = true end
    end
  end
  if bad then wrong = wrong + 1 end
  if seen == 0 then empty = empty + 1 end
  checked = checked + 1
end

function done(summary, latency, requests)
  local totals = {non200 = 0, wrong = 0, checked = 0, empty = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non200": %d, "wrong_tenant": %d, "checked": %d, "empty": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, totals.non200, totals.wrong, totals.checked,
    totals.empty, e.connect, e.read, e.write, e.timeout, e.status))
end
