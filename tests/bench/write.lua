-- wrk script: each request creates a new fixture with its own Idempotency-Key.
-- The token and a run prefix come from the environment (PARLAY_TOKEN, BENCH_RUN).
local counter = 0
local thread_id = 0
local token = os.getenv("PARLAY_TOKEN")
local run = os.getenv("BENCH_RUN") or "r"

function setup(thread)
    thread:set("tid", thread_id)
    thread_id = thread_id + 1
end

function init(args)
    tid = tid or 0
end

function request()
    counter = counter + 1
    local id = string.format("%s-%d-%d", run, tid, counter)
    local body = '{"id":"' .. id .. '","sport":"football","competition":"Bench","home":"H' ..
        id .. '","away":"A' .. id .. '","kickoff":"2026-12-01T20:00:00Z"}'
    return wrk.format("POST", "/admin/v1/fixtures", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = id,
    }, body)
end

local bad = 0
function response(status, headers, body)
    if status ~= 201 then bad = bad + 1 end
end

function done(summary, latency, requests)
    io.write(string.format("BENCH writes=%d errors_non2xx=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
