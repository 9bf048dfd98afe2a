-- wrk script: chat completion POSTs where every 4th request asks for `Connection: close`, so the
-- gateway accepts and closes connections all the time (keep-alive churn) while the other
-- requests reuse theirs. One parseable result line, like chat.lua.
local body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
local key = os.getenv("BENCH_KEY") or "tg-bench-key-0001"
local n = 0

function request()
  n = n + 1
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
  if n % 4 == 0 then headers["Connection"] = "close" end
  return wrk.format("POST", "/v1/chat/completions", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
