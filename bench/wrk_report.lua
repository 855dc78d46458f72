-- bench_get's wrk script: count every response that is not a 200 (wrk itself counts only
-- status >= 400) and print one machine-readable line after wrk's own summary.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   not_ok = 0
end

function response(status, headers, body)
   if status ~= 200 then
      not_ok = not_ok + 1
   end
end

function done(summary, latency, requests)
   local not_ok_total = 0
   for _, thread in ipairs(threads) do
      not_ok_total = not_ok_total + thread:get("not_ok")
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "failures": %d, "duration_s": %.6f, '
         .. '"p50_ms": %.4f, "p99_ms": %.4f}\n',
      summary.requests,
      not_ok_total + errors.connect + errors.read + errors.write + errors.timeout,
      summary.duration / 1e6,
      latency:percentile(50) / 1000,
      latency:percentile(99) / 1000
   ))
end
