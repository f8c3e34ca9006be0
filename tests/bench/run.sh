#!/usr/bin/env bash
# `make bench`: the node-core benchmark on this machine.
#   * the disk's synchronous-write rate (dd oflag=dsync) and a bare h2o "hello" (the ceilings);
#   * committed writes/s with p50/p99 on a three-node loopback cluster at 1, 16, 64, 256 clients;
#   * reads/s from a follower.
# Results are printed and written to build/bench/results.txt. Nothing here is a test.
# BENCH_SECONDS (default 10) sets each wrk run's duration.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${BENCH_SECONDS:-10}
only=${BENCH_ONLY:-}
out=build/bench/results.txt
mkdir -p build/bench
make --no-print-directory build/parlayd build/bench/h2o_hello >/dev/null
root=$(mktemp -d "${BENCH_DIR:-/tmp}/parlay-bench-XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$root"
}
trap cleanup EXIT

exec > >(tee "$out") 2>&1
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "kernel:  $(uname -r); date: $(date -u +%FT%TZ)"

dd_out=$(dd if=/dev/zero of="$root/dd.tmp" bs=4k count=1000 oflag=dsync 2>&1 | tail -n1)
dd_secs=$(echo "$dd_out" | awk -F, '{print $(NF-1)}' | awk '{print $1}')
echo "disk:    4 KiB synchronous writes: $(awk -v s="$dd_secs" 'BEGIN {printf "%.0f", 1000 / s}')/s  ($dd_out)"

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
echo "$token" > "$root/token"; chmod 600 "$root/token"
members='[{"id":1,"raft_address":"127.0.0.1:9301","http_address":"127.0.0.1:9401"},
          {"id":2,"raft_address":"127.0.0.1:9302","http_address":"127.0.0.1:9402"},
          {"id":3,"raft_address":"127.0.0.1:9303","http_address":"127.0.0.1:9403"}]'
for i in 1 2 3; do
    cat > "$root/n$i.json" <<CFG
{"node_id": $i, "cluster": "bench", "role": "sport:football",
 "raft_address": "127.0.0.1:930$i", "http_address": "127.0.0.1:940$i",
 "data_dir": "$root/data$i", "admin_token_file": "$root/token", "log_level": "warn",
 "snapshot_threshold": 16384, "snapshot_trailing": 4096, "map_size_mb": 4096,
 "initial_members": $members}
CFG
    build/parlayd --config "$root/n$i.json" 2>"$root/n$i.log" &
    pids+=($!)
done
leader=""
for _ in $(seq 1 200); do
    for i in 1 2 3; do
        st=$(curl -fs -H "Authorization: Bearer $token" http://127.0.0.1:940$i/admin/v1/node 2>/dev/null || true)
        case "$st" in *'"state":"leader"'*) leader=$i ;; esac
    done
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || { echo "no leader"; exit 1; }
follower=$(( leader % 3 + 1 ))
echo "cluster: 3 nodes on loopback, leader $leader, wrk ${secs}s per run"
echo
printf "%-28s %10s %10s %10s %8s\n" "run" "req/s" "p50 ms" "p99 ms" "non-2xx"
run_wrk() { # label clients url script
    local label=$1 c=$2 url=$3 script=$4 t=2
    [ "$c" -lt 2 ] && t=1
    local res
    res=$(PARLAY_TOKEN=$token BENCH_RUN="c$c" wrk -t$t -c"$c" -d"${secs}s" --timeout 10s -s "$script" "$url" 2>&1)
    local rps line
    rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
    line=$(echo "$res" | grep '^BENCH')
    local p50 p99 err
    p50=$(echo "$line" | sed 's/.*p50_us=\([0-9]*\).*/\1/')
    p99=$(echo "$line" | sed 's/.*p99_us=\([0-9]*\).*/\1/')
    err=$(echo "$line" | sed 's/.*errors_non2xx=\([0-9]*\).*/\1/')
    printf "%-28s %10.0f %10.2f %10.2f %8s\n" "$label" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
        "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$err"
}
if [ -n "$only" ]; then
    if [ -n "${BENCH_HOOK:-}" ]; then (sleep 1; eval "$BENCH_HOOK") & fi
    run_wrk "writes, $only clients (leader)" "$only" "http://127.0.0.1:940$leader" tests/bench/write.lua
    exit 0
fi
for c in 1 16 64 256; do
    run_wrk "writes, $c clients (leader)" "$c" "http://127.0.0.1:940$leader" tests/bench/write.lua
done
run_wrk "writes, 64 clients (follower)" 64 "http://127.0.0.1:940$follower" tests/bench/write.lua
curl -fs -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -H 'Idempotency-Key: bench-read' http://127.0.0.1:940$leader/admin/v1/fixtures \
    -d '{"id":"bench-read","sport":"football","competition":"Bench","home":"A","away":"B","kickoff":"2026-12-01T20:00:00Z"}'
sleep 0.5
run_wrk "reads, 64 clients (follower)" 64 "http://127.0.0.1:940$follower/v1/fixtures/bench-read" tests/bench/read.lua
build/bench/h2o_hello 9499 & pids+=($!)
sleep 0.3
run_wrk "bare h2o hello, 64 clients" 64 "http://127.0.0.1:9499/" tests/bench/read.lua

# ---- the accounts cluster: sign-ins across the cluster, token verifications on one node ----
echo
echo "== accounts cluster (Argon2id t=2, m=19456 KiB, p=1 on libuv's worker threads)"
amembers='[{"id":1,"raft_address":"127.0.0.1:9311","http_address":"127.0.0.1:9411"},
           {"id":2,"raft_address":"127.0.0.1:9312","http_address":"127.0.0.1:9412"},
           {"id":3,"raft_address":"127.0.0.1:9313","http_address":"127.0.0.1:9413"}]'
for i in 1 2 3; do
    cat > "$root/a$i.json" <<CFG
{"node_id": $i, "cluster": "bench-accounts", "role": "accounts",
 "raft_address": "127.0.0.1:931$i", "http_address": "127.0.0.1:941$i",
 "data_dir": "$root/adata$i", "admin_token_file": "$root/token", "log_level": "warn",
 "initial_members": $amembers}
CFG
    build/parlayd --config "$root/a$i.json" 2>"$root/a$i.log" &
    pids+=($!)
done
for _ in $(seq 1 200); do curl -fs http://127.0.0.1:9411/readyz >/dev/null 2>&1 && break; sleep 0.1; done
players=${BENCH_PLAYERS:-60}
t0=$(date +%s.%N)
regs=()
for n in $(seq 0 $((players - 1))); do
    port=$((9411 + n % 3))
    curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/v1/players" -H 'Content-Type: application/json' \
        -H "Idempotency-Key: bench-reg-$n" \
        -d "{\"email\":\"bench-$n@example.fr\",\"password\":\"bench password $n\"}" &
    regs+=($!)
    if [ ${#regs[@]} -eq 8 ]; then wait "${regs[@]}"; regs=(); fi
done
[ ${#regs[@]} -gt 0 ] && wait "${regs[@]}"
reg_secs=$(echo "$(date +%s.%N) - $t0" | bc)
echo "registered $players players in ${reg_secs}s (8 at a time, spread over the 3 nodes)"
printf "%-28s %10s %10s %10s %8s\n" "run" "req/s" "p50 ms" "p99 ms" "non-2xx"
# Sign-ins on all three nodes at once: three wrk processes, 8 connections each.
wrks=()
for i in 1 2 3; do
    BENCH_PLAYERS=$players BENCH_RUN="s$i" wrk -t1 -c8 -d"${secs}s" --timeout 10s -s tests/bench/signin.lua \
        "http://127.0.0.1:941$i" > "$root/signin$i.txt" 2>&1 &
    wrks+=($!)
done
wait "${wrks[@]}"
total=0
for i in 1 2 3; do
    r=$(awk '/Requests\/sec/ {print $2}' "$root/signin$i.txt")
    line=$(grep '^BENCH' "$root/signin$i.txt")
    printf "%-28s %10.0f %10.2f %10.2f %8s\n" "sign-ins, 8 clients (node $i)" "$r" \
        "$(echo "$line" | sed 's/.*p50_us=\([0-9]*\).*/\1/' | awk '{print $1/1000}')" \
        "$(echo "$line" | sed 's/.*p99_us=\([0-9]*\).*/\1/' | awk '{print $1/1000}')" \
        "$(echo "$line" | sed 's/.*errors_non2xx=\([0-9]*\).*/\1/')"
    total=$(awk -v a="$total" -v b="$r" 'BEGIN {print a + b}')
done
printf "%-28s %10.0f\n" "sign-ins, whole cluster" "$total"
tok=$(curl -fs -X POST http://127.0.0.1:9411/v1/sessions -H 'Content-Type: application/json' \
    -H 'Idempotency-Key: bench-token' -d '{"email":"bench-0@example.fr","password":"bench password 0"}' |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
sleep 0.3
BENCH_TOKEN=$tok run_wrk "token checks, 64 clients (node 2)" 64 "http://127.0.0.1:9412/v1/players/me" tests/bench/me.lua

echo
echo "== pricing models (build/bench_models; see models/README.md)"
make --no-print-directory build/bench_models >/dev/null && build/bench_models || echo "models benchmark failed"
echo
echo "== oracle gas (make bench-oracle; see oracle/README.md)"
make --no-print-directory bench-oracle 2>&1 | grep -v '^make' || echo "oracle gas benchmark failed"
echo
echo "written to $out"
