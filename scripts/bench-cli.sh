#!/usr/bin/env bash
# Times `ottoctl model defaults show` against `curl -s` making the same authenticated request to a running Otto
# (release builds with --static-swift-stdlib), with hyperfine, in the same run. Target: ottoctl at most 2x curl.
# Prints the figures and writes them into README.md.
#
#   scripts/bench-cli.sh [runs]     (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
runs="${1:-200}"

require_tools hyperfine curl

for product in otto ottoctl opencode-standin; do
    swift build -c release --static-swift-stdlib --product "$product" >&2
done
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"

make_workdir otto-bench-cli
start_standin
use_temporary_home
start_otto --log-level warning
token_file="$HOME/.otto/secrets/internal-api.token"
url="$base"
export OTTO_EXTERNAL_API_URL="$url"

printf 'Authorization: Bearer %s' "$(cat "$token_file")" >"$work/header"
hyperfine --warmup 20 --runs "$runs" -N --export-json "$work/result.json" \
    --command-name "curl" "curl -s -H @$work/header $url/external/models/defaults" \
    --command-name "ottoctl" "$bin/ottoctl model defaults show" >&2

report="$(python3 - "$work/result.json" "$runs" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
curl, ctl = results["curl"], results["ottoctl"]
ratio = ctl["mean"] / curl["mean"]
print(f"$ scripts/bench-cli.sh {sys.argv[2]}   # hyperfine -N, {sys.argv[2]} runs each, release builds with --static-swift-stdlib")
print(f"curl -s (same authenticated GET /external/models/defaults): mean {curl['mean']*1000:.1f} ms, median {curl['median']*1000:.1f} ms")
print(f"ottoctl model defaults show                            : mean {ctl['mean']*1000:.1f} ms, median {ctl['median']*1000:.1f} ms")
print(f"ottoctl / curl = {ratio:.2f}x (target <= 2x: {'ok' if ratio <= 2 else 'MISSED'})")
PY
)"
echo "$report"
write_readme_block bench-cli "$report"
