#!/usr/bin/env bash
# The web part of `make test`: the site's unit tests (Vitest) and the browser tests (Playwright
# driving Debian's Chromium against a real local deployment behind the edge). Prints each
# runner's output, then one line "=== counts: N passed, N failed, N skipped" that
# tests/run-tests.sh adds to the closing line; exits non-zero on any failure.
# Screenshots and reports: build/web-artifacts/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
art=$top/build/web-artifacts
mkdir -p "$art"
rm -f "$art"/*.png "$art/vitest.json" "$art/playwright.json"
passed=0 failed=0 skipped=0

# count FILE JQ_PASSED JQ_FAILED JQ_SKIPPED: adds a runner's JSON report to the counts; a
# runner that wrote no report (it crashed) counts as one failure.
count() {
    if [ ! -s "$1" ]; then failed=$((failed + 1)); echo "web: no report in $1" >&2; return; fi
    passed=$((passed + $(jq "$2" "$1"))); failed=$((failed + $(jq "$3" "$1")))
    skipped=$((skipped + $(jq "$4" "$1")))
}

cd "$top/web"
npx vitest run --reporter=default --reporter=json --outputFile="$art/vitest.json"
rc_unit=$?
count "$art/vitest.json" .numPassedTests .numFailedTests '.numPendingTests + .numTodoTests'

# The deployment runs on HTTPS with certificates from a test CA made here once (parlayctl
# certs, OpenSSL's API); Node (the runner, its workers, the stand-ins) trusts it through
# NODE_EXTRA_CA_CERTS, Chromium through ignoreHTTPSErrors (playwright.config.ts).
ca_dir=$top/build/web-ca
if [ -x "$top/build/parlayctl" ]; then
    [ -s "$ca_dir/ca.pem" ] || "$top/build/parlayctl" certs ca-init --dir "$ca_dir" --name "Parlay browser-test CA" >/dev/null
    export PARLAY_WEB_CA_DIR=$ca_dir NODE_EXTRA_CA_CERTS=$ca_dir/ca.pem
fi
# The tests import @playwright/test from web/node_modules (one lockfile for the whole front).
NODE_PATH="$top/web/node_modules" npx playwright test -c "$top/tests/web/playwright.config.ts"
rc_e2e=$?
count "$art/playwright.json" '.stats.expected + .stats.flaky' .stats.unexpected .stats.skipped

if [ $rc_unit -ne 0 ] || [ $rc_e2e -ne 0 ]; then [ $failed -gt 0 ] || failed=1; fi
echo "=== counts: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
