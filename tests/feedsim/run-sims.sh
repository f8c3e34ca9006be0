#!/usr/bin/env bash
# One feed simulator per node for a local deployment (what `make run` needs from feed/):
#
#   tests/feedsim/run-sims.sh [N] [SPEED] [SCENARIO]
#
# starts N (default 3) instances of build/parlay-feedsim replaying SCENARIO (default the busy
# afternoon) at SPEED (default 10) on 127.0.0.1:8301.. (admin 127.0.0.1:8311..), logs in
# run/feedsim-I.log, and stops them all on Ctrl-C / SIGTERM. Each instance keeps its own
# clock and lies; e.g. make node 3's provider lie about a score:
#   curl -d '{"score": {"fixture": "BA-001", "home": 9, "away": 0}}' 127.0.0.1:8313/admin/v1/lie
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
n=${1:-3}
speed=${2:-10}
scenario=${3:-tests/feedsim/scenarios/busy-afternoon.json}
[ -x build/parlay-feedsim ] || { echo "build/parlay-feedsim is missing: make all" >&2; exit 1; }
mkdir -p run

pids=()
stop() {
    trap - INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    exit 0
}
trap stop INT TERM

for i in $(seq 1 "$n"); do
    port=$((8300 + i)) admin=$((8310 + i))
    build/parlay-feedsim --scenario "$scenario" --listen "127.0.0.1:$port" --admin-port "$admin" \
        --speed "$speed" >> "run/feedsim-$i.log" 2>&1 &
    pids+=($!)
done
for i in $(seq 1 "$n"); do
    port=$((8300 + i))
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "feedsim $i exited; see run/feedsim-$i.log" >&2; tail -n 3 "run/feedsim-$i.log" >&2; stop; }
        sleep 0.1
    done
    echo "feed $i: http://127.0.0.1:$port (admin http://127.0.0.1:$((8310 + i)))"
done
wait
