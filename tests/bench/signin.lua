-- wrk script: sign in as one of BENCH_PLAYERS pre-registered players (bench-<n>@example.fr,
-- password "bench password <n>"), each request with its own Idempotency-Key.
local counter = 0
local thread_id = 0
local players = tonumber(os.getenv("BENCH_PLAYERS") or "100")
local run = os.getenv("BENCH_RUN") or "r"

function setup(thread)
    thread:set("tid", thread_id)
    thread_id = thread_id + 1
end

function request()
    counter = counter + 1
    local n = (counter * 7 + (tid or 0) * 13) % players
    local body = string.format('{"email":"bench-%d@example.fr","password":"bench password %d"}', n, n)
    return wrk.format("POST", "/v1/sessions", {
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = string.format("%s-%d-%d", run, tid or 0, counter),
    }, body)
end

function done(summary, latency, requests)
    io.write(string.format("BENCH signins=%d errors_non2xx=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
