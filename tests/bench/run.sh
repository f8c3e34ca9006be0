#!/usr/bin/env bash
# `make bench`: the node-core benchmark on this machine.
#   * the disk's synchronous-write rate (dd oflag=dsync) and a bare h2o "hello" (the ceilings);
#   * committed writes/s with p50/p99 on a three-node loopback cluster at 1, 16, 64, 256 clients;
#   * reads/s from a follower.
# Results are printed and written to build/bench/results.txt. Nothing here is a test.
# BENCH_SECONDS (default 10) sets each wrk run's duration.
# Section "quotes" (BENCH_ONLY=quotes, or `make bench-quotes`, runs only it): agreed live quotes on
# a fresh three-node football cluster fed by three simulators, measured by build/bench/quote_latency:
#   * latency from a simulator's live event to the agreed quote on a follower's /v1/stream/quotes
#     (BENCH_QUOTE_GAMES_LAT games, default 20, an event every 3 s each; 3 x BENCH_SECONDS of play);
#   * capacity: BENCH_QUOTE_GAMES (default 1000) live games re-quoted every BENCH_QUOTE_CADENCE
#     seconds (default 6, ten times the one-minute cadence), over a 6 x BENCH_SECONDS window.
# Section "fanout" (BENCH_ONLY=fanout, or `make bench-fanout`): the quote stream's fan-out to 1k-20k
# subscribers on one node (build/bench/sse_fanout) and the leader's write rate without and during it.
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
# The accounts nodes' keyring for secrets at rest (secrets_key_file, common/seal.h).
(umask 077; echo "bench $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$root/secrets.keys")

exec > >(tee "$out") 2>&1
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "kernel:  $(uname -r); date: $(date -u +%FT%TZ)"

# ---- section "quotes": agreed live quotes (a cluster of its own, with three feed simulators) ----
# Ports 18101-18103 (HTTP), 18201-18203 (Raft), 18301-18303 (simulators), 18311-18313 (their admin).
qpids=()
quotes_stop() { # TAG: stop the section's processes; report any that did not exit cleanly
    local p st i
    for p in "${qpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${qpids[@]}"; do
        st=0; wait "$p" 2>/dev/null || st=$?
        if [ "$st" -ne 0 ] && [ "$st" -ne 143 ]; then
            for i in 1 2 3; do
                if [ "${qnode[$i]}" = "$p" ]; then
                    echo "  note: node $i exited with status $st on SIGTERM; its log ends:"
                    tail -n 4 "$root/$1-n$i.log" | sed 's/^/    /'
                    cp "$root/$1-n$i.log" "build/bench/$1-n$i.log"
                fi
                [ "${qsim[$i]}" = "$p" ] && echo "  note: simulator $i exited with status $st on SIGTERM"
            done
        fi
    done
    qpids=()
}
# quotes_cluster TAG SCENARIO EXTRA_CONFIG: three simulators at --speed 1, then three nodes reading
# them (SSE); sets qleader and qfollower.
quotes_cluster() {
    local tag=$1 scenario=$2 extra=$3 i port
    for port in 18101 18102 18103 18201 18202 18203 18301 18302 18303 18311 18312 18313; do
        if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
            echo "error: 127.0.0.1:$port is already in use; the quotes benchmark needs 181xx-183xx"; exit 1
        fi
    done
    local qmembers='[{"id":1,"raft_address":"127.0.0.1:18201","http_address":"127.0.0.1:18101"},
          {"id":2,"raft_address":"127.0.0.1:18202","http_address":"127.0.0.1:18102"},
          {"id":3,"raft_address":"127.0.0.1:18203","http_address":"127.0.0.1:18103"}]'
    for i in 1 2 3; do
        build/parlay-feedsim --scenario "$scenario" --listen "127.0.0.1:1830$i" --admin-port "1831$i" \
            --speed 1 > "$root/$tag-sim$i.log" 2>&1 &
        qpids+=($!); pids+=($!)
        qsim[$i]=$!
    done
    for i in 1 2 3; do
        cat > "$root/$tag-n$i.json" <<CFG
{"node_id": $i, "cluster": "bench-quotes", "role": "sport:football",
 "raft_address": "127.0.0.1:1820$i", "http_address": "127.0.0.1:1810$i",
 "data_dir": "$root/$tag-data$i", "admin_token_file": "$root/token", "cluster_secret_file": "$root/secret", "log_level": "warn",
 "map_size_mb": 4096, "feed_url": "http://127.0.0.1:1830$i", "feed_adapter": "sse", $extra
 "initial_members": $qmembers}
CFG
        build/parlayd --config "$root/$tag-n$i.json" 2>"$root/$tag-n$i.log" &
        qpids+=($!); pids+=($!)
        qnode[$i]=$!
    done
    qleader=""
    for _ in $(seq 1 300); do
        for i in 1 2 3; do
            kill -0 "${qnode[$i]}" 2>/dev/null || { echo "error: node $i exited at start:"; tail -n 5 "$root/$tag-n$i.log"; exit 1; }
            st=$(curl -fs -H "Authorization: Bearer $token" http://127.0.0.1:1810$i/admin/v1/node 2>/dev/null || true)
            case "$st" in *'"state":"leader"'*) qleader=$i ;; esac
        done
        [ -n "$qleader" ] && break
        sleep 0.1
    done
    [ -n "$qleader" ] || { echo "error: the quotes cluster elected no leader in 30 s"; exit 1; }
    qfollower=$(( qleader % 3 + 1 ))
}
# quotes_markets PORT STATUS: how many markets in STATUS node PORT has (paged).
quotes_markets() {
    local after="" n=0 page next
    while :; do
        page=$(curl -fs "http://127.0.0.1:$1/v1/markets?status=$2&limit=1000${after:+&after=$after}" 2>/dev/null) || { echo 0; return; }
        n=$((n + $(echo "$page" | jq '.items | length')))
        next=$(echo "$page" | jq -r '.next // empty')
        [ -n "$next" ] || break
        after=$next
    done
    echo "$n"
}
quotes_log_summary() { # TAG: warnings and errors in the nodes' logs, by event
    local tag=$1 i
    for i in 1 2 3; do
        local w
        w=$(grep -ohE 'event=[a-z_]+' "$root/$tag-n$i.log" 2>/dev/null | sort | uniq -c | sort -rn | head -5 |
            awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}' || true)
        if [ -n "$w" ]; then echo "  node $i log (warn and above): $w"; fi
    done
    return 0
}
quotes_counters() { # TAG: what the nodes counted (leader changes, rounds given up, stale rounds, dissent)
    local i m term=0 pub=0 gu=0 st=0 vr=0 dis=0 lead=""
    for i in 1 2 3; do
        m=$(curl -fs "http://127.0.0.1:1810$i/metrics" 2>/dev/null) || continue
        lead="$lead $(echo "$m" | awk '/^parlay_raft_leader / {print $2}')"
        term=$(echo "$m" | awk -v t="$term" '/^parlay_raft_term / {print ($2 > t ? $2 : t)}')
        pub=$((pub + $(echo "$m" | awk '/^parlay_quotes_published_total / {s += $2} END {print s + 0}')))
        gu=$((gu + $(echo "$m" | awk '/^parlay_quote_rounds_given_up_total / {s += $2} END {print s + 0}')))
        st=$((st + $(echo "$m" | awk '/^parlay_quotes_stale_total / {s += $2} END {print s + 0}')))
        vr=$((vr + $(echo "$m" | awk '/^parlay_quote_votes_refused_total / {s += $2} END {print s + 0}')))
        dis=$((dis + $(echo "$m" | awk '/^parlay_quote_dissent_total/ {s += $2} END {print s + 0}')))
    done
    echo "  nodes: raft term $term (1 leader election = term 2), leader as seen by nodes 1-3:$lead; published $pub, stale rounds $st, given up $gu, votes refused $vr, dissent $dis"
}
quotes_fail() { # TAG: keep the logs, say where, stop
    mkdir -p build/bench/quotes-logs
    cp "$root/$1"-*.log build/bench/quotes-logs/ 2>/dev/null || true
    quotes_counters
    quotes_log_summary "$1"
    echo "error: the quotes benchmark ($1) failed; node and simulator logs kept in build/bench/quotes-logs/"
    exit 1
}
bench_quotes() {
    echo
    echo "== agreed quotes (3 football nodes, each reading its own simulator over SSE; build/bench/quote_latency)"
    make --no-print-directory build/parlayd build/parlay-feedsim build/bench/quote_latency >/dev/null
    command -v jq >/dev/null || { echo "error: jq is needed"; exit 1; }
    local lgames=${BENCH_QUOTE_GAMES_LAT:-20} play=$((3 * secs)) live_at=8
    local cgames=${BENCH_QUOTE_GAMES:-1000} cadence=${BENCH_QUOTE_CADENCE:-6} window=$((6 * secs))
    local extra=${BENCH_QUOTE_NODE_CONFIG:-} # more node keys, e.g. '"heartbeat_timeout_ms": 20,'
    if [ "$only" != quotes-capacity ]; then
    # 1. latency: live events every 3 s per game; the nodes' default cadence (a live event starts a round at once).
    python3 tests/bench/quote_scenario.py latency "$lgames" "$live_at" "$play" 3 > "$root/qlat.json"
    local t0 i
    t0=$(date +%s.%N)
    quotes_cluster qlat "$root/qlat.json" "$extra"
    for _ in $(seq 1 100); do
        [ "$(quotes_markets 1810$qfollower open)" -ge "$lgames" ] && break
        sleep 0.1
    done
    local ready
    ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    [ "$(quotes_markets 1810$qfollower open)" -ge "$lgames" ] ||
        { echo "error: the follower has not opened $lgames markets ${ready}s after start"; quotes_log_summary qlat; exit 1; }
    awk -v r="$ready" -v l="$live_at" 'BEGIN {if (r > l - 1) print "  warning: the cluster took " r " s to open its markets; play started at " l " s"}'
    local run_for
    run_for=$(awk -v r="$ready" -v l="$live_at" -v p="$play" 'BEGIN {printf "%.1f", l + p + 3 - r}')
    echo "cluster ready (leader $qleader, $lgames markets open on follower $qfollower) ${ready}s after start; $lgames games play for ${play}s"
    printf "%-34s %8s %9s %9s %9s %9s\n" "run" "samples" "p50 ms" "p99 ms" "max ms" "mean ms"
    build/bench/quote_latency latency --sim http://127.0.0.1:18301 --sim http://127.0.0.1:18302 \
        --sim http://127.0.0.1:18303 --quotes "http://127.0.0.1:1810$qfollower" --seconds "$run_for" \
        --label "event -> quote, follower $qfollower" || quotes_fail qlat
    quotes_counters
    quotes_log_summary qlat
    quotes_stop qlat
    fi
    [ "$only" = quotes-latency ] && return 0
    # 2. capacity: cgames games kick off together and are re-quoted at the compressed cadence.
    python3 tests/bench/quote_scenario.py capacity "$cgames" 5 > "$root/qcap.json"
    quotes_cluster qcap "$root/qcap.json" "$extra \"quote_live_busy_s\": $cadence, \"quote_live_idle_s\": $cadence, \"quote_prematch_s\": 600,"
    echo
    echo "capacity: $cgames games kick off together at 5 s, re-quoted every ${cadence}s (live cadence), ${window}s window on follower $qfollower"
    build/bench/quote_latency capacity --quotes "http://127.0.0.1:1810$qfollower" --games "$cgames" \
        --cadence "$cadence" --seconds "$window" --live-timeout 180 \
        --pid "leader=${qnode[$qleader]}" --pid "follower=${qnode[$qfollower]}" \
        --pid "follower=${qnode[$(( qfollower % 3 + 1 ))]}" \
        --pid "sim=${qsim[1]}" --pid "sim=${qsim[2]}" --pid "sim=${qsim[3]}" --pid "client=self" ||
        quotes_fail qcap
    quotes_counters
    quotes_log_summary qcap
    quotes_stop qcap
}
dd_out=$(dd if=/dev/zero of="$root/dd.tmp" bs=4k count=1000 oflag=dsync 2>&1 | tail -n1)
dd_secs=$(echo "$dd_out" | awk -F, '{print $(NF-1)}' | awk '{print $1}')
echo "disk:    4 KiB synchronous writes: $(awk -v s="$dd_secs" 'BEGIN {printf "%.0f", 1000 / s}')/s  ($dd_out)"

# ---- section "holds": the wallet's holds on a three-node accounts cluster with the pay stand-in ----
# (BENCH_ONLY=holds or `make bench-holds`). Ports 19311-19313 (Raft), 19411-19413 (HTTP), 19401
# (stand-in). The raw committed-write rate is measured on the same cluster in the same run.
bench_holds() {
    echo
    echo "== wallet holds (accounts cluster: holds placed and resolved by a sport cluster's member)"
    make --no-print-directory build/bench/holds_bench >/dev/null
    local node_bin=${PARLAY_NODE:-node} i hl=""
    (umask 077; echo "bench-pay-secret-$RANDOM$RANDOM" > "$root/pay.secret"; echo "bench-pay-key-$RANDOM" > "$root/pay.key")
    "$node_bin" tests/standins/pay-standin.mjs --port 19401 --secret "$(cat "$root/pay.secret")" \
        --api-key "$(cat "$root/pay.key")" > "$root/pay.log" 2>&1 &
    pids+=($!)
    local hm='[{"id":1,"raft_address":"127.0.0.1:19311","http_address":"127.0.0.1:19411"},
           {"id":2,"raft_address":"127.0.0.1:19312","http_address":"127.0.0.1:19412"},
           {"id":3,"raft_address":"127.0.0.1:19313","http_address":"127.0.0.1:19413"}]'
    for i in 1 2 3; do
        cat > "$root/h$i.json" <<CFG
{"node_id": $i, "cluster": "bench-wallet", "role": "accounts",
 "raft_address": "127.0.0.1:1931$i", "http_address": "127.0.0.1:1941$i",
 "data_dir": "$root/hdata$i", "admin_token_file": "$root/token", "cluster_secret_file": "$root/secret", "log_level": "warn",
 "secrets_key_file": "$root/secrets.keys",
 "snapshot_threshold": 16384, "snapshot_trailing": 4096, "map_size_mb": 4096,
 "payments": {"api_url": "http://127.0.0.1:19401", "api_key_file": "$root/pay.key",
              "webhook": {"secret_file": "$root/pay.secret"}},
 "initial_members": $hm}
CFG
        build/parlayd --config "$root/h$i.json" 2>"$root/h$i.log" &
        pids+=($!)
    done
    for _ in $(seq 1 600); do
        for i in 1 2 3; do
            case "$(curl -fs -H "Authorization: Bearer $token" http://127.0.0.1:1941$i/admin/v1/node 2>/dev/null || true)" in
                *'"state":"leader"'*) hl=$i ;;
            esac
        done
        [ -n "$hl" ] && curl -fs -o /dev/null http://127.0.0.1:19401/__test__/deliveries && break
        sleep 0.1
    done
    [ -n "$hl" ] || { echo "no leader"; return 1; }
    printf "%-36s %10s %10s %10s %8s\n" "run" "req/s" "p50 ms" "p99 ms" "errors"
    build/bench/holds_bench "$root/token" http://127.0.0.1:19401 "$secs" ${HOLDS_CLIENTS:-1 16 64}
    # HOLDS_CLIENTS: the one-call passes' client counts (default "1 16 64"); HOLDS_BATCH_CLIENTS:
    # the batched pass's (each a sport leader with its own batches; default "1 4")
    # The node core's raw committed-write rate (fixtures on the sport cluster above, wrk), in the
    # same run for the ratio.
    run_wrk "raw writes (fixtures, wrk), 64 clients" 64 "http://127.0.0.1:940$leader" tests/bench/write.lua
}

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
    printf "%-36s %10.0f %10.2f %10.2f %8s\n" "$label" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
        "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$err"
}
# ---- section "fanout": the quote stream to many subscribers on one node (BENCH_ONLY=fanout) ----
# The quotes section's cluster (three simulators, three nodes), BENCH_FANOUT_GAMES games (default
# 2) re-quoted every second: build/bench/sse_fanout holds BENCH_FANOUT_LEVELS subscribers on the
# leader's /v1/stream/quotes and reports each publication's spread from the first subscriber to
# the last; the leader's committed-write rate (wrk, 64 clients) without subscribers, then while
# the largest level is held. The nodes of this section only get stream_max_clients and
# stream_max_per_address raised (defaults 1000 and 32) and the open-file limit at its maximum.
bench_fanout() {
    echo
    echo "== quote stream fan-out (3 football nodes with simulators; subscribers and writes on the leader)"
    make --no-print-directory build/parlayd build/parlay-feedsim build/bench/sse_fanout >/dev/null
    ulimit -n "$(ulimit -Hn)"
    local levels=${BENCH_FANOUT_LEVELS:-1000,5000,10000,20000} games=${BENCH_FANOUT_GAMES:-2}
    local top_level=${levels##*,} lim
    lim=$(ulimit -n)
    if [ "$top_level" -gt $((lim - 100)) ]; then
        echo "  note: the open-file limit is $lim (hard; not raisable here): largest level $((lim - 100)) instead of $top_level"
        levels="${levels%,*},$((lim - 100))"
    fi
    python3 tests/bench/quote_scenario.py capacity "$games" 3 > "$root/fan.json"
    quotes_cluster fan "$root/fan.json" "\"quote_live_busy_s\": 1, \"quote_live_idle_s\": 1, \"quote_prematch_s\": 600,
 \"stream_max_clients\": 100000, \"stream_max_per_address\": 100000,"
    local port=1810$qleader
    for _ in $(seq 1 300); do
        [ "$(quotes_markets "$port" open)" -ge "$games" ] && break
        sleep 0.1
    done
    echo "leader $qleader (port $port): $games live games re-quoted every second; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf "%-36s %10s %10s %10s %8s\n" "run" "req/s" "p50 ms" "p99 ms" "non-2xx"
    run_wrk "writes, 64 clients, no subscribers" 64 "http://127.0.0.1:$port" tests/bench/write.lua
    rm -f "$root/fan.ready"
    build/bench/sse_fanout --port "$port" --levels "$levels" --seconds "$secs" \
        --hold-s $((secs + 4)) --ready-file "$root/fan.ready" > "$root/fan.out" 2>&1 &
    local fp=$!
    while [ ! -f "$root/fan.ready" ] && kill -0 "$fp" 2>/dev/null; do sleep 0.2; done
    sleep 1
    [ -f "$root/fan.ready" ] && run_wrk "writes, 64 clients, during fan-out" 64 "http://127.0.0.1:$port" tests/bench/write.lua
    local st=0
    wait "$fp" || st=$?
    echo
    cat "$root/fan.out"
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    quotes_counters
    quotes_stop fan
    [ "$st" -eq 0 ] || { echo "error: the fan-out client failed ($st)"; return 1; }
}

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
echo "$token" > "$root/token"; chmod 600 "$root/token"
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$root/secret")
if [ "$only" = fanout ]; then
    bench_fanout
    echo
    echo "written to $out"
    exit 0
fi
case "$only" in quotes|quotes-latency|quotes-capacity)
    bench_quotes
    echo
    echo "written to $out"
    exit 0 ;;
esac
members='[{"id":1,"raft_address":"127.0.0.1:9301","http_address":"127.0.0.1:9401"},
          {"id":2,"raft_address":"127.0.0.1:9302","http_address":"127.0.0.1:9402"},
          {"id":3,"raft_address":"127.0.0.1:9303","http_address":"127.0.0.1:9403"}]'
for i in 1 2 3; do
    cat > "$root/n$i.json" <<CFG
{"node_id": $i, "cluster": "bench", "role": "sport:football",
 "raft_address": "127.0.0.1:930$i", "http_address": "127.0.0.1:940$i",
 "data_dir": "$root/data$i", "admin_token_file": "$root/token", "cluster_secret_file": "$root/secret", "log_level": "warn",
 "snapshot_threshold": 16384, "snapshot_trailing": 4096, "map_size_mb": 4096,
 "initial_members": $members}
CFG
    build/parlayd --config "$root/n$i.json" 2>"$root/n$i.log" &
    pids+=($!)
done
leader=""
for _ in $(seq 1 600); do
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
# ---- section "bets": bets placed, accepted and settled (BENCH_ONLY=bets or `make bench-bets`) ----
# A football cluster and an accounts cluster of its own on free ports (the integration harness,
# release parlayd): tests/bench/bets_bench.c; README "Benchmark".
bench_bets() {
    echo
    echo "== bets (football + accounts clusters: bets placed, accepted, settled; raw writes beside)"
    make --no-print-directory build/bench/bets_bench build/parlayd build/parlayctl build/parlay-feedsim >/dev/null
    FEEDSIM=build/parlay-feedsim build/bench/bets_bench "$secs" | grep -v '^\[' || echo "bets benchmark failed"
}
if [ "$only" = bets ]; then
    bench_bets
    echo
    echo "written to $out"
    exit 0
fi
if [ "$only" = holds ]; then
    bench_holds
    echo
    echo "written to $out"
    exit 0
fi
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
 "data_dir": "$root/adata$i", "admin_token_file": "$root/token", "cluster_secret_file": "$root/secret", "log_level": "warn",
 "secrets_key_file": "$root/secrets.keys",
 "initial_members": $amembers}
CFG
    build/parlayd --config "$root/a$i.json" 2>"$root/a$i.log" &
    pids+=($!)
done
for _ in $(seq 1 600); do curl -fs http://127.0.0.1:9411/readyz >/dev/null 2>&1 && break; sleep 0.1; done
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
bench_quotes
bench_holds
bench_bets
echo
echo "written to $out"
