#!/usr/bin/env bash
# Memory under a burst of catalog refreshes: 100 concurrent POST /external/models/refresh against a release build
# and the stand-in OpenCode serving the full 3.2 MB catalog. Concurrent refreshes share one fetch, so RSS should
# stay near its idle figure (before they were coalesced: 44 MB -> 504 MB, and it stayed there).
#
#   scripts/bench-refresh.sh                        (prints, and writes the figures into README.md)
#   OTTO_BENCH_README=0 scripts/bench-refresh.sh    (print only)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
require_tools curl python3

build_release otto opencode-standin

make_workdir otto-bench-refresh
start_standin
use_temporary_home
start_otto --log-level warning
token="$(cat "$HOME/.otto/secrets/internal-api.token")"
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$otto_pid/status"; }
sleep 1
idle="$(rss)"
# The reference: one refresh on its own, then the burst.
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $token" "$base/external/models/refresh"
sleep 2
single="$(rss)"
peak="$single"
seq 1 100 | xargs -P 100 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
    -H "Authorization: Bearer $token" "$base/external/models/refresh" >"$work/codes" &
load=$!
while kill -0 "$load" 2>/dev/null; do peak="$(awk -v a="$peak" -v b="$(rss)" 'BEGIN {print (b > a) ? b : a}')"; sleep 0.01; done
ok="$(grep -c '^200$' "$work/codes" || true)"
sleep 2
after="$(rss)"
report="scripts/bench-refresh.sh, $(nproc) cores, $(date -u +%Y-%m-%d): RSS idle $idle MiB; after one refresh $single MiB (the reference)
100 concurrent refreshes, $ok answered 200: RSS peak $peak MiB, 2 s after $after MiB (before coalescing: 504 MB and it stayed)"
echo "$report"
[ "${OTTO_BENCH_README:-1}" = 0 ] || write_readme_block bench-refresh "$report"
