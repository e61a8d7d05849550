#!/usr/bin/env bash
# Measures the catalog refresh's own work (parse OpenCode's /config/providers body + persist the cache
# atomically, without the HTTP wait) on the full fixture catalog (4,803 refs), in a release build, prints the
# figures and writes them into README.md between the bench-catalog markers. Target: under 100 ms.
#
#   scripts/bench-catalog.sh [iterations]     (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

iterations="${1:-50}"
swift build -c release --product otto-bench >&2
bin="$(swift build -c release --show-bin-path)"
figures="$("$bin/otto-bench" catalog Tests/Fixtures/opencode "$iterations")"
echo "$figures"

machine="$(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
write_readme_block bench-catalog "$ scripts/bench-catalog.sh   # $machine
$figures"
