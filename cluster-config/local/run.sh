#!/usr/bin/env bash
# `make run`: a local three-node football cluster on 127.0.0.1, with its data under run/
# (git-ignored; running again resumes the same data). Ctrl-C stops every node cleanly.
#
# The browser tests start a second deployment with the same script (tests/web/global-setup.ts):
#   PARLAY_RUN_DIR     where data, logs and pids go (default run)
#   PARLAY_SCENARIO    the feed simulators' scenario (default tests/feedsim/scenarios/busy-afternoon.json)
#   PARLAY_FEED_SPEED  their speed (default 10)
#   PARLAY_PORT_SHIFT  added to every port (default 0); with it or another run dir the node files
#                      are rewritten into $PARLAY_RUN_DIR/config/
#   PARLAY_CHAIN=0     no local chain (anvil)
#   PARLAY_TLS=0       plain HTTP and Raft without TLS (default: member TLS and HTTPS at the edge)
#   PARLAY_STANDBY=1   a fourth football node (id 4, Raft 7104, HTTP 8104) added as a standby
#                      (parlayctl add --standby): it serves reads and streams, never votes, and
#                      the edge spreads readers over it too (README "Read scale for match days")
#   PARLAY_FRANCECONNECT_ISSUER, _REDIRECT, _SECRET  a FranceConnect provider for the accounts nodes
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
run=${PARLAY_RUN_DIR:-run}
shift_by=${PARLAY_PORT_SHIFT:-0}
case $run in /*) run_abs=$run ;; *) run_abs=$top/$run ;; esac
port() { echo $(($1 + shift_by)); }
mkdir -p "$run/pids"
conf=cluster-config/local
if [ "$run" != run ] || [ "$shift_by" -ne 0 ]; then
    conf=$run/config
    mkdir -p "$conf"
    for f in cluster-config/local/*.json; do
        PORT_SHIFT=$shift_by RUN_DIR=$run perl -pe \
            's/127\.0\.0\.1:(\d+)/"127.0.0.1:".($1+$ENV{PORT_SHIFT})/ge; s#"run/#"$ENV{RUN_DIR}/#g' \
            "$f" > "$conf/$(basename "$f")"
    done
fi
# Identity verification through a FranceConnect provider (the browser tests start the stand-in,
# kyc/standin/fc-standin.mjs): PARLAY_FRANCECONNECT_ISSUER, _REDIRECT (the site's return page)
# and _SECRET become the accounts nodes' "franceconnect" key.
if [ -n "${PARLAY_FRANCECONNECT_ISSUER:-}" ]; then
    [ "$conf" != cluster-config/local ] || { echo "PARLAY_FRANCECONNECT_ISSUER needs PARLAY_RUN_DIR or PARLAY_PORT_SHIFT" >&2; exit 1; }
    for f in "$conf"/accounts-*.json; do
        jq '.franceconnect = {issuer: env.PARLAY_FRANCECONNECT_ISSUER, client_id: (env.PARLAY_FRANCECONNECT_CLIENT // "parlay"),
            client_secret: env.PARLAY_FRANCECONNECT_SECRET, redirect_uri: env.PARLAY_FRANCECONNECT_REDIRECT, allow_http: true}' \
            "$f" > "$f.tmp" && mv "$f.tmp" "$f"
    done
fi
# Member TLS and HTTPS at the edge (README "Configuration reference", keys tls_*): a local CA in
# $run/certs made once with parlayctl (OpenSSL's API), a certificate per node naming its cluster
# and id (and 127.0.0.1, localhost and <cluster>.parlay.internal, the name the edge checks), one
# for the edge; all kept across runs. The node files get the tls_* keys and https:// URLs for
# the accounts nodes (copies in $run/config/).
tls=${PARLAY_TLS:-1}
scheme=http
cacert=""
if [ "$tls" != 0 ]; then
    [ -x build/parlayctl ] || { echo "error: build/parlayctl is missing (make all)" >&2; exit 1; }
    scheme=https
    certs=$run/certs
    cacert="--cacert $certs/ca.pem "
    [ -s $certs/ca.pem ] || build/parlayctl certs ca-init --dir $certs --name "Parlay local CA" >/dev/null
    for cl in football accounts; do
        for i in 1 2 3 4; do
            [ $i = 4 ] && { [ $cl = football ] && [ "${PARLAY_STANDBY:-0}" = 1 ] || continue; }
            [ -s $certs/$cl-$i.pem ] || build/parlayctl certs issue $i --cluster $cl --dir $certs \
                --out $certs/$cl-$i --hosts "127.0.0.1,localhost,$cl.parlay.internal" >/dev/null
        done
    done
    [ -s $certs/edge.pem ] || build/parlayctl certs issue edge --dir $certs --hosts 127.0.0.1,localhost >/dev/null
    conf_src=$conf
    if [ "$conf" = cluster-config/local ]; then
        conf=$run/config
        mkdir -p "$conf"
    fi
    for f in "$conf_src"/*.json; do
        b=$(basename "$f" .json)
        jq --arg ca "$certs/ca.pem" --arg cert "$certs/$b.pem" --arg key "$certs/$b.key" \
            '.tls_ca_file = $ca | .tls_cert_file = $cert | .tls_key_file = $key
             | if .accounts_jwks_url then .accounts_jwks_url |= sub("^http://"; "https://") else . end
             | if .accounts_urls then .accounts_urls |= gsub("http://"; "https://") else . end' \
            "$f" > "$conf/$b.json.tmp"
        mv "$conf/$b.json.tmp" "$conf/$b.json"
    done
    export PARLAY_CA_FILE="$(cd "$certs" && pwd)/ca.pem"
fi
ncurl() { if [ -n "$cacert" ]; then curl --cacert "$certs/ca.pem" "$@"; else curl "$@"; fi; }
if [ ! -s $run/admin.token ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > $run/admin.token)
fi
chmod 600 $run/admin.token
# Each cluster's members share a secret for node-to-node calls (key cluster_secret_file).
for cl in football accounts; do
    if [ ! -s $run/$cl.secret ]; then
        (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $run/$cl.secret)
    fi
    chmod 600 $run/$cl.secret
done
# The accounts nodes seal signing keys and second-factor secrets at rest with a keyring (key
# secrets_key_file, common/seal.h: "ID HEX" lines, the first seals), kept across runs.
if [ ! -s $run/accounts.keys ]; then
    (umask 077; echo "k$(date +%Y%m%d) $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > $run/accounts.keys)
fi
chmod 600 $run/accounts.keys
# The payment provider's stand-in (tests/standins/pay-standin.mjs; the accounts nodes' key
# `payments`): its webhook secret and API key, owner-only, kept across runs like the rest.
for f in pay.secret pay.key; do
    if [ ! -s $run/$f ]; then
        (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > $run/$f)
    fi
    chmod 600 $run/$f
done
# The national gambling-ban list's stand-in (the accounts nodes' key ban_list_file; format in
# node/banlist.h): one made-up person and address to try it with, kept across runs so that it
# can be edited (the nodes read it again when it changes).
if [ ! -s $run/ban-list.txt ]; then
    cat > $run/ban-list.txt <<'BANLIST'
# The national gambling-ban list stand-in (README "Wallets"). One entry a line:
#   person: FAMILY NAME|Given names|YYYY-MM-DD
#   email: address
person: EXEMPLE|Interdit|1980-01-01
email: banned@example.test
BANLIST
fi
# The pre-match ratings fit on the same history on every node (key ratings_history): the
# football-data seasons in ../shared/data/football when this checkout has them, else none
# (agreed results only).
if [ ! -e "$run/ratings" ]; then
    if [ -d "$top/../shared/data/football" ]; then
        ln -s "$(cd "$top/../shared/data/football" && pwd)" "$run/ratings"
    else
        mkdir "$run/ratings"
    fi
fi

pids=()
stop() {
    trap - INT TERM
    echo
    echo "stopping ${#pids[@]} processes..."
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    echo "stopped; data kept in $run/ (make run resumes it)"
    exit 0
}
trap stop INT TERM

for p in 7101 7102 7103 7201 7202 7203 8101 8102 8103 8201 8202 8203 8301 8302 8303 8311 8312 8313 8401 8080; do
    port=$(port $p)
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        echo "error: 127.0.0.1:$port is already in use (another 'make run'?)" >&2
        stop
    fi
done

# The pay stand-in first (node's standard library only: the system node, or $PARLAY_NODE), so
# that it answers by the time a deposit is opened. The nodes start without it too (their
# `payments` settings are only files and a URL at start); deposits then fail until it runs.
node_bin=${PARLAY_NODE:-node}
pay_url=http://127.0.0.1:$(port 8401)
pay_line="  payments:          not started (no node program; install Node.js or set PARLAY_NODE)"
if command -v "$node_bin" >/dev/null 2>&1; then
    NODE_EXTRA_CA_CERTS=${PARLAY_CA_FILE:-} "$node_bin" tests/standins/pay-standin.mjs --port "$(port 8401)" --secret "$(cat $run/pay.secret)" \
        --api-key "$(cat $run/pay.key)" >> "$run/pay-standin.log" 2>&1 &
    pids+=($!)
    echo $! > "$run/pids/pay-standin.pid"
    pay_ready=0
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null "$pay_url/__test__/deliveries" 2>/dev/null; then pay_ready=1; break; fi
        kill -0 "$!" 2>/dev/null || break
        sleep 0.1
    done
    [ $pay_ready -eq 1 ] || { echo "error: the pay stand-in did not start; see $run/pay-standin.log" >&2; stop; }
    pay_line="  payments:          stand-in at $pay_url (the accounts nodes' provider 'standin')
                     hosted pages: $pay_url/pay/<payment id>   (Pay / Cancel)
                     deliveries:   curl -s $pay_url/__test__/deliveries
                     modes:        curl -s -X POST $pay_url/__test__/mode -d '{\"payouts\":\"hold\"}'"
fi

# The local chain: anvil (from tests/npm) with its state kept in run/anvil-state.json, and the
# MatchOracle contract deployed once with the three nodes' signing keys as its 2-of-3 signers.
# It starts before the nodes: their keys are made here on a first run (the same files parlayd
# would make), and the football nodes get the key 'oracle' (this chain, this contract, the
# sender key run/oracle-sender.key) in copies of their files under run/config/, so that every
# agreed result is confirmed on chain within seconds (build/parlayctl oracle result FIXTURE).
anvil=tests/npm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
chain_line="  chain:             not started (anvil is not installed; run 'make deps')"
if [ "${PARLAY_CHAIN:-1}" = 0 ] || [ "$run" != run ] || [ "$shift_by" -ne 0 ]; then
    chain_line="  chain:             not started (PARLAY_CHAIN=0, or not the default deployment)"
elif [ -x "$anvil" ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/8545) 2>/dev/null; then
        echo "error: 127.0.0.1:8545 is already in use; the local chain cannot start" >&2
        stop
    fi
    "$anvil" --host 127.0.0.1 --port 8545 --chain-id 31337 --silent \
        --state run/anvil-state.json >> run/anvil.log 2>&1 &
    pids+=($!)
    rpc() { curl -fs -H 'Content-Type: application/json' -d "$1" http://127.0.0.1:8545; }
    for _ in $(seq 1 100); do
        rpc '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' >/dev/null 2>&1 && break
        sleep 0.1
    done
    [ -f run/oracle-sender.key ] || build/parlayctl oracle keygen run/oracle-sender.key >/dev/null
    sender=$(build/parlayctl oracle address --key run/oracle-sender.key)
    rpc "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"anvil_setBalance\",\"params\":[\"$sender\",\"0x8ac7230489e80000\"]}" >/dev/null
    contract=""
    [ -f run/oracle.json ] && contract=$(sed -n 's/.*"contract": *"\(0x[0-9a-fA-F]*\)".*/\1/p' run/oracle.json)
    code=""
    [ -n "$contract" ] && code=$(rpc "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getCode\",\"params\":[\"$contract\",\"latest\"]}" | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p')
    for i in 1 2 3; do
        if [ ! -s run/football-$i/node.key ]; then
            mkdir -p run/football-$i && chmod 700 run/football-$i
            (umask 077; { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; echo; } > run/football-$i/node.key)
        fi
    done
    if [ -z "$code" ] || [ "$code" = "0x" ]; then
        signers=$(for i in 1 2 3; do build/parlayctl oracle address --key run/football-$i/node.key; done | paste -sd, -)
        contract=$(timeout 60 build/parlayctl oracle deploy --rpc http://127.0.0.1:8545 \
            --key run/oracle-sender.key --journal run/oracle-journal.json --confirmations 1 \
            --signers "$signers" --threshold 2 | sed -n 's/^contract \(0x[0-9a-fA-F]\{40\}\).*/\1/p')
        [ -n "$contract" ] || { echo "error: the oracle contract could not be deployed" >&2; stop; }
        cat > run/oracle.json <<ORACLE
{"rpc": "http://127.0.0.1:8545", "key": "run/oracle-sender.key", "contract": "$contract",
 "journal": "run/oracle-journal.json", "confirmations": 1}
ORACLE
    fi
    mkdir -p run/config
    for f in "$conf"/*.json; do
        case $(basename "$f") in
        football-*)
            sed "s#^  \"initial_members\"#  \"oracle\": {\"rpc\": \"http://127.0.0.1:8545\", \"chain_id\": 31337, \"contract\": \"$contract\", \"sender_key_file\": \"run/oracle-sender.key\", \"confirmations\": 1},\n&#" \
                "$f" > "run/config/$(basename "$f").tmp" ;;
        *) cp "$f" "run/config/$(basename "$f").tmp" ;;
        esac
        mv "run/config/$(basename "$f").tmp" "run/config/$(basename "$f")"
    done
    conf=run/config
    chain_line="  chain:             anvil at http://127.0.0.1:8545, MatchOracle at $contract (2-of-3: the nodes' keys)
                     every agreed result goes on chain: build/parlayctl oracle result BA-001
                     build/parlayctl oracle status     build/parlayctl oracle signers"
fi

for cluster in football accounts; do
    for i in 1 2 3; do
        build/parlayd --config $conf/$cluster-$i.json >> $run/$cluster-$i.log 2>&1 &
        pids+=($!)
        echo $! > "$run/pids/$cluster-$i.pid"
    done
done

for port in $(port 8101) $(port 8201); do
    ready=0
    for _ in $(seq 1 150); do
        if ncurl -fs $scheme://127.0.0.1:$port/readyz >/dev/null 2>&1; then ready=1; break; fi
        for p in "${pids[@]}"; do
            kill -0 "$p" 2>/dev/null || { echo "a node exited at start; see $run/*.log" >&2; tail -n 5 $run/football-*.log $run/accounts-*.log >&2; stop; }
        done
        sleep 0.1
    done
    [ $ready -eq 1 ] || { echo "the cluster at 127.0.0.1:$port did not become ready; see $run/*.log" >&2; stop; }
done

export PARLAY_URL=$scheme://127.0.0.1:$(port 8101) PARLAY_TOKEN_FILE="$run_abs/admin.token"
# A match-day standby (PARLAY_STANDBY=1): node 4's file is football-1's with its own id,
# addresses, data and certificate, and no feed (it quotes nothing; it replicates the quotes).
# Added once (a resumed run finds it a member already); the edge lists it with the others.
standby_files=()
standby_line=""
if [ "${PARLAY_STANDBY:-0}" = 1 ]; then
    sb=$run/config/football-standby-4.json
    mkdir -p "$run/config"
    jq --arg ra "127.0.0.1:$(port 7104)" --arg ha "127.0.0.1:$(port 8104)" --arg dd "$run/football-4" \
        --arg cert "${certs:-}/football-4.pem" --arg key "${certs:-}/football-4.key" \
        '.node_id = 4 | .raft_address = $ra | .http_address = $ha | .data_dir = $dd
         | del(.feed_url, .feed_adapter, .oracle)
         | if .tls_cert_file then .tls_cert_file = $cert | .tls_key_file = $key else . end' \
        "$conf/football-1.json" > "$sb"
    build/parlayd --config "$sb" >> $run/football-4.log 2>&1 &
    pids+=($!)
    echo $! > "$run/pids/football-4.pid"
    if ! build/parlayctl --json members | jq -e 'any(.[]; .id == 4)' >/dev/null; then
        build/parlayctl --timeout 60 add --standby 4 "127.0.0.1:$(port 7104)" "127.0.0.1:$(port 8104)" >/dev/null ||
            { echo "error: the standby (node 4) did not catch up; see $run/football-4.log" >&2; stop; }
    fi
    standby_files=("$sb")
    standby_line="
  standby:           $scheme://127.0.0.1:$(port 8104)  (reads and streams; build/parlayctl remove 4 takes it out)"
fi
# Sample fixtures. Fixed idempotency keys: a second `make run` replays instead of duplicating.
while IFS='|' read -r id comp home away kickoff; do
    build/parlayctl fixtures create --id "$id" --sport football --competition "$comp" \
        --home "$home" --away "$away" --kickoff "$kickoff" --key "sample-$id" >/dev/null
done <<'FIXTURES'
l1-psg-om|Ligue 1|Paris Saint-Germain|Olympique de Marseille|2026-11-29T19:45:00Z
l1-ol-losc|Ligue 1|Olympique Lyonnais|LOSC Lille|2026-11-29T16:00:00Z
l1-asm-ogcn|Ligue 1|AS Monaco|OGC Nice|2026-11-30T14:00:00Z
l1-rcl-sb29|Ligue 1|RC Lens|Stade Brestois|2026-11-30T16:15:00Z
l1-srfc-fcn|Ligue 1|Stade Rennais|FC Nantes|2026-12-06T20:00:00Z
FIXTURES

# The football cluster may place bet holds on the accounts cluster: an operator registers its
# members' node keys there (replayed harmlessly on a resumed run).
fkeys=""
for i in 1 2 3; do
    k=$(ncurl -s -H "Authorization: Bearer $(cat "$run/admin.token")" \
        "$scheme://127.0.0.1:$(port 810$i)/admin/v1/node" | sed -n 's/.*"public_key": *"\([0-9a-f]*\)".*/\1/p')
    fkeys="$fkeys $k"
done
build/parlayctl --url "$scheme://127.0.0.1:$(port 8201)" wallet register-cluster football $fkeys >/dev/null \
    || echo "warning: the football cluster could not be registered for bet holds" >&2

# The simulated sports feed: one simulator per node (each football node reads its own and the
# leader records what a quorum of them agree on), replaying a busy afternoon at 10x speed.
feed_line="  feed:              not started (build/parlay-feedsim is missing)"
if [ -x build/parlay-feedsim ]; then
    for i in 1 2 3; do
        build/parlay-feedsim --scenario "${PARLAY_SCENARIO:-tests/feedsim/scenarios/busy-afternoon.json}" \
            --listen "127.0.0.1:$(port 830$i)" --admin-port "$(port 831$i)" --speed "${PARLAY_FEED_SPEED:-10}" >> "$run/feedsim-$i.log" 2>&1 &
        pids+=($!)
        echo $! > "$run/pids/feedsim-$i.pid"
    done
    for i in 1 2 3; do
        for _ in $(seq 1 100); do
            curl -fs "http://127.0.0.1:$(port 830$i)/healthz" >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
    feed_line="  feed:              simulators http://127.0.0.1:8301 .. 8303 (/v1/fixtures, /v1/events, /v1/stream,
                     /v1/results; admin and lies on 8311 .. 8313), one per node; what a quorum
                     agrees on: curl -s ${cacert}$scheme://127.0.0.1:8101/v1/fixtures/BA-001/events"
fi

# The edge (nginx, cluster-config/edge/): serves the site (web/dist, built by `make web`) and
# routes /api/accounts/ and /api/<sport>/ to any live node of that cluster. Its configuration is
# generated from the node files above into $run/edge/nginx.conf; it runs in the foreground.
edge_url=$scheme://127.0.0.1:$(port 8080)/
edge_line="  site:              not started (nginx or web/dist is missing; run 'make deps web')"
if command -v nginx >/dev/null 2>&1 && [ -f web/dist/index.html ]; then
    edge_tls=()
    [ "$tls" = 0 ] || edge_tls=(--tls-cert "$certs/edge.pem" --tls-key "$certs/edge.key" --upstream-ca "$certs/ca.pem")
    edge_conf=$(cluster-config/edge/gen.sh --prefix "$run/edge" --listen "127.0.0.1:$(port 8080)" \
        --root web/dist "${edge_tls[@]}" "$conf"/football-[0-9].json "${standby_files[@]}" "$conf"/accounts-*.json)
    edge_dir=$(dirname "$edge_conf")
    nginx -p "$edge_dir" -c "$edge_conf" -e "$edge_dir/logs/error.log" >> "$run/edge.log" 2>&1 &
    pids+=($!)
    echo $! > "$run/pids/edge.pid"
    for _ in $(seq 1 100); do
        ncurl -fs "$edge_url" >/dev/null 2>&1 && break
        kill -0 "$!" 2>/dev/null || { echo "error: the edge (nginx) did not start; see $run/edge/logs/error.log" >&2; stop; }
        sleep 0.1
    done
    edge_line="  site:              $edge_url   (French; English with the language switch)
  console:           ${edge_url}console/   (an operator first: build/parlayctl --url <accounts node> operators add NAME EMAIL --scopes ..., then operators totp EMAIL; README "Operators")
  through the edge:  curl -s ${edge_url}api/football/v1/markets?limit=2   (any live node)"
fi


cat <<INFO

Parlay is running on 127.0.0.1 (data in $run/, logs in $run/*.log)${cacert:+; TLS: the local CA is $certs/ca.pem
(trust it in the browser, or accept the warning; curl ${cacert}...; PARLAY_TLS=0 make run for plain HTTP)}:

$edge_line

  football cluster:  $scheme://127.0.0.1:8101  $scheme://127.0.0.1:8102  $scheme://127.0.0.1:8103$standby_line
  accounts cluster:  $scheme://127.0.0.1:8201  $scheme://127.0.0.1:8202  $scheme://127.0.0.1:8203
  browser:           $scheme://127.0.0.1:8102/v1/fixtures  $scheme://127.0.0.1:8102/v1/markets
  curl:              curl -s ${cacert}$scheme://127.0.0.1:8103/v1/fixtures?status=scheduled
                     curl -s ${cacert}-X POST $scheme://127.0.0.1:8102/admin/v1/fixtures \\
                       -H "Authorization: Bearer \$(cat $run/admin.token)" \\
                       -H 'Content-Type: application/json' -H 'Idempotency-Key: my-key-1' \\
                       -d '{"id":"l1-fcl-tfc","sport":"football","competition":"Ligue 1",
                            "home":"FC Lorient","away":"Toulouse FC","kickoff":"2026-12-07T14:00:00Z"}'
  a player:          curl -s ${cacert}-X POST $scheme://127.0.0.1:8202/v1/players -H 'Content-Type: application/json' \
                       -H 'Idempotency-Key: reg-1' -d '{"email":"ana@example.fr","password":"long enough secret"}'
                     curl -s ${cacert}-X POST $scheme://127.0.0.1:8203/v1/sessions -H 'Content-Type: application/json' \
                       -H 'Idempotency-Key: login-1' -d '{"email":"ana@example.fr","password":"long enough secret"}'
                     curl -s ${cacert}$scheme://127.0.0.1:8201/v1/players/me -H "Authorization: Bearer <access_token>"
  quotes:            curl -s ${cacert}'$scheme://127.0.0.1:8102/v1/markets?status=open&phase=live&limit=5'
                     curl -s ${cacert}$scheme://127.0.0.1:8103/v1/fixtures/BA-001/markets
                     curl -sN ${cacert}$scheme://127.0.0.1:8101/v1/stream/quotes     (live, server-sent events)
                     curl -s ${cacert}$scheme://127.0.0.1:8101/v1/quotes/1/attestation
  parlayctl:         export PARLAY_URL=$PARLAY_URL PARLAY_TOKEN_FILE=$PARLAY_TOKEN_FILE${PARLAY_CA_FILE:+ PARLAY_CA_FILE=$PARLAY_CA_FILE}
                     build/parlayctl status
                     build/parlayctl fixtures list
                     build/parlayctl quotes --phase live
                     build/parlayctl events BA-001
  metrics:           curl -s ${cacert}$scheme://127.0.0.1:8101/metrics
  wallet:            curl -s ${cacert}-X POST $scheme://127.0.0.1:8201/v1/wallet/limits -H "Authorization: Bearer <access_token>" \
                       -H 'Content-Type: application/json' -H 'Idempotency-Key: lim-1' -d '{"deposit_7d":50000,"stake_7d":20000}'
                     curl -s ${cacert}-X POST $scheme://127.0.0.1:8202/v1/wallet/deposits -H "Authorization: Bearer <access_token>" \
                       -H 'Content-Type: application/json' -H 'Idempotency-Key: dep-1' -d '{"amount":2000}'
                       (open the "url" it answers, press Pay; then)
                     curl -s ${cacert}$scheme://127.0.0.1:8203/v1/wallet -H "Authorization: Bearer <access_token>"
                     build/parlayctl --url $scheme://127.0.0.1:8201 ledger check
  a bet:             curl -s ${cacert}$scheme://127.0.0.1:8102/v1/fixtures/BA-002/markets   (status open, its version and prices)
                     curl -s ${cacert}-X POST $scheme://127.0.0.1:8101/v1/bets -H "Authorization: Bearer <access_token>" \
                       -H 'Content-Type: application/json' -H 'Idempotency-Key: bet-1' \
                       -d '{"stake":500,"policy":"better","legs":[{"fixture":"BA-002","market":"1x2",
                            "outcome":"home","price":<prices.1x2.home>,"version":<version>}]}'
                     curl -s ${cacert}$scheme://127.0.0.1:8103/v1/bets -H "Authorization: Bearer <access_token>"
                     curl -sN ${cacert}$scheme://127.0.0.1:8101/v1/stream/bets -H "Authorization: Bearer <access_token>"
                     build/parlayctl audit ; build/parlayctl liability BA-002
$pay_line
$chain_line
$feed_line

Press Ctrl-C to stop.
INFO
build/parlayctl status || true
wait
