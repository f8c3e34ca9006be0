#!/usr/bin/env bash
# The site's live benchmark in Chromium (README "Benchmark"): starts a local deployment
# (cluster-config/local/run.sh, ports shifted, no chain) whose feed simulators replay GAMES
# concurrent football games (generate.py --busy; default 1000, kick-offs within 96 s at 10x),
# waits until that many fixtures are live, then runs web-live.cjs: time from opening the site
# to the first live prices (RUNS new contexts, median), and the board's frames while its
# markets update, watching and scrolling (SECONDS each). Stops the deployment at the end.
#
#   make -j2 all && make web && bash tests/bench/web-live.sh [GAMES] [RUNS] [SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
games=${1:-1000} runs=${2:-5} seconds=${3:-10}
[ -f web/dist/index.html ] && [ -x build/parlayd ] || { echo "run 'make -j2 all && make web' first" >&2; exit 1; }
out=build/bench-web; mkdir -p "$out"
python3 tests/feedsim/scenarios/generate.py --busy "$games" > "$out/busy-$games.json"
shift_by=$((12000 + 100 * (RANDOM % 100)))
url=http://127.0.0.1:$((8080 + shift_by))
rm -rf "$out/deploy"
PARLAY_RUN_DIR=$out/deploy PARLAY_PORT_SHIFT=$shift_by PARLAY_CHAIN=0 PARLAY_SCENARIO=$out/busy-$games.json \
    setsid bash cluster-config/local/run.sh > "$out/deploy.log" 2>&1 &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
live=0
for _ in $(seq 1 600); do
    live=$(curl -fs "$url/api/football/v1/markets?status=open&phase=live&limit=1000" 2>/dev/null | jq '.items | length' 2>/dev/null || echo 0)
    [ "$live" -ge $((games * 9 / 10)) ] 2>/dev/null && break
    sleep 1
done
echo "deployment $url: $live open live markets of $games games" >&2
NODE_PATH=$top/web/node_modules node tests/bench/web-live.cjs "$url" "$runs" "$seconds" | tee "$out/web-live.json"
