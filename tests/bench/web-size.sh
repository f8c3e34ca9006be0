#!/usr/bin/env bash
# JavaScript shipped for the site's first page, gzip-compressed (target: under 200 KB): every
# script and module preload that web/dist/index.html names, compressed with `gzip -9` (the
# edge compresses at level 1 on the fly, so what a browser receives is a little larger).
#
#   make web && bash tests/bench/web-size.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dist=$top/web/dist
[ -f "$dist/index.html" ] || { echo "web/dist is missing: run 'make web' first" >&2; exit 1; }
total=0 raw=0
for src in $(grep -oE '(src|href)="/assets/[^"]+\.js"' "$dist/index.html" | sed -E 's/.*="\/(.*)"/\1/' | sort -u); do
    b=$(wc -c < "$dist/$src"); g=$(gzip -9c "$dist/$src" | wc -c)
    printf '%-40s %8d bytes, %7d gzip\n' "$src" "$b" "$g"
    raw=$((raw + b)); total=$((total + g))
done
css=0
for src in $(grep -oE 'href="/assets/[^"]+\.css"' "$dist/index.html" | sed -E 's/.*="\/(.*)"/\1/' | sort -u); do
    css=$((css + $(gzip -9c "$dist/$src" | wc -c)))
done
printf 'first page JavaScript: %d bytes, %d bytes gzip (%.1f KB; target < 200 KB); CSS %d bytes gzip\n' \
    "$raw" "$total" "$(awk -v t="$total" 'BEGIN { print t / 1024 }')" "$css"
[ "$total" -lt $((200 * 1024)) ]
