-- wrk script: GET /v1/players/me with the access token in BENCH_TOKEN (verification + a read).
local token = os.getenv("BENCH_TOKEN")
wrk.headers["Authorization"] = "Bearer " .. token

function done(summary, latency, requests)
    io.write(string.format("BENCH verifications=%d errors_non2xx=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
