-- wrk script: reports p50/p99 in a line the runner parses.
function done(summary, latency, requests)
    io.write(string.format("BENCH reads=%d errors_non2xx=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
