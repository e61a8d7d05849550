#!/usr/bin/env bash
# Measures the catalog refresh's own work (parse OpenCode's /config/providers body + persist the cache
# atomically, without the HTTP wait) on the full fixture catalog (4,803 refs), in a release build, prints the
# figures and writes them into README.md between the bench-catalog markers. Target: under 100 ms.
#
#   scripts/bench-catalog.sh [iterations]     (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."

iterations="${1:-50}"
swift build -c release --product otto-bench >&2
bin="$(swift build -c release --show-bin-path)"
figures="$("$bin/otto-bench" catalog Tests/Fixtures/opencode "$iterations")"
echo "$figures"

machine="$(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
python3 - "$figures" "$machine" <<'PY'
import re, sys
figures, machine = sys.argv[1], sys.argv[2]
block = ("<!-- bench-catalog:start -->\n```\n$ scripts/bench-catalog.sh   # " + machine + "\n"
         + figures.strip() + "\n```\n<!-- bench-catalog:end -->")
text = open("README.md").read()
text, n = re.subn(r"<!-- bench-catalog:start -->.*?<!-- bench-catalog:end -->", lambda _: block, text, flags=re.S)
if n != 1:
    sys.exit("README.md has no bench-catalog markers")
open("README.md", "w").write(text)
PY
echo "README.md updated" >&2
