#!/usr/bin/env bash
# `make fuzz SECONDS=N`: runs each libFuzzer target (build/fuzz/fuzz_<target>) for N seconds,
# one after the other (the machine is shared), on a scratch copy of its committed corpus:
# new inputs go to build/fuzz/work/<target>, never into the repository; crashes, leaks and
# failed invariants to build/fuzz/crashes/<target>-*. Prints, per target, the executions and
# the outcome, and a summary line; exits non-zero if any target found something.
#
#   tests/fuzz/run.sh SECONDS TARGET...      (FUZZ_JOBS, FUZZ_ARGS: extra libFuzzer flags)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}; shift
[ $# -gt 0 ] || set -- apply http feed oracle history kyc rpc pay rest
work="$top/build/fuzz/work"; crashes="$top/build/fuzz/crashes"; logs="$top/build/fuzz/logs"
mkdir -p "$work" "$crashes" "$logs"
found=()
printf '%-8s %8s %12s %10s  %s\n' target seconds executions exec/s outcome
for t in "$@"; do
    bin="$top/build/fuzz/fuzz_$t"
    [ -x "$bin" ] || { echo "missing $bin (make fuzz-build)"; exit 2; }
    mkdir -p "$work/$t"
    log="$logs/$t.log"
    start=$(date +%s)
    # Leaks count as findings (-detect_leaks=1 is libFuzzer's default with ASan).
    (cd "$work" && nice "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=25 \
        -rss_limit_mb=2048 -artifact_prefix="$crashes/$t-" ${FUZZ_ARGS:-} \
        "$work/$t" "$top/tests/fuzz/corpus/$t") >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    rate=$(grep -aoE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    if [ $rc -eq 0 ]; then
        outcome="no crash, no leak, no sanitizer report"
    else
        outcome="FOUND (rc $rc): $(ls -t "$crashes/$t-"* 2>/dev/null | head -1); see $log"
        found+=("$t")
    fi
    printf '%-8s %8s %12s %10s  %s\n' "$t" "$took" "${execs:-?}" "${rate:-?}" "$outcome"
done
if [ ${#found[@]} -gt 0 ]; then
    echo "fuzz: findings in ${found[*]}"
    exit 1
fi
echo "fuzz: ${#} targets, no finding"
