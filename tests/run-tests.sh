#!/usr/bin/env bash
# Runs every test program given on the command line, prints each one's output and a closing line
# "N passed, N failed, N skipped" summed over all of them; exits non-zero on any failure.
# cmocka binaries are counted from their "[  PASSED  ] N" lines; other runners (tests/web/run.sh)
# print one line "=== counts: N passed, N failed, N skipped".
set -u
passed=0; failed=0; skipped=0; broken=()
export CMOCKA_MESSAGE_OUTPUT=STDOUT
for t in "$@"; do
    echo "=== $t"
    out=$(mktemp)
    start=$(date +%s)
    timeout --signal=KILL 900 "$t" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    p=$(grep -aoE '^\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
    f=$(grep -aoE '^\[  FAILED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
    s=$(grep -aoE '^\[  SKIPPED \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
    if c=$(grep -aE '^=== counts: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n1) && [ -n "$c" ]; then
        read -r p f s <<<"$(echo "$c" | sed -E 's/^=== counts: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/')"
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or killed: count it
    [ "$f" -gt 0 ] && broken+=("$t")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    echo "=== $t: $p passed, $f failed ($(( $(date +%s) - start ))s)"
    rm -f "$out"
done
[ ${#broken[@]} -gt 0 ] && echo "failing programs: ${broken[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
