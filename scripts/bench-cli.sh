#!/usr/bin/env bash
# Times `ottoctl model defaults show` against `curl -s` making the same authenticated request to a running Otto
# (release builds with --static-swift-stdlib), with hyperfine, in the same run. Target: ottoctl at most 2x curl.
# Prints the figures and writes them into README.md.
#
#   scripts/bench-cli.sh [runs]     (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

for product in otto ottoctl opencode-standin; do
    swift build -c release --static-swift-stdlib --product "$product" >&2
done
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"

work="$(mktemp -d -t otto-bench-cli.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
opencode_port="$(free_port)"; api_port="$(free_port)"

"$bin/opencode-standin" --port "$opencode_port" --fixture Tests/Fixtures/opencode >"$work/standin.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$opencode_port/config" >/dev/null && break; sleep 0.1; done
export HOME="$work/home" OTTO_OPENCODE_BASE_URL="http://127.0.0.1:$opencode_port" OTTO_EXTERNAL_API_PORT="$api_port"
mkdir -p "$HOME"
"$bin/otto" serve --log-level warning 2>"$work/otto.log" &
pids+=($!)
for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$api_port/external/openapi.json" && break; sleep 0.1; done
token_file="$HOME/.otto/secrets/internal-api.token"
url="http://127.0.0.1:$api_port"
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
python3 - "$report" <<'PY'
import re, sys
block = "<!-- bench-cli:start -->\n```\n" + sys.argv[1].strip() + "\n```\n<!-- bench-cli:end -->"
text = open("README.md").read()
text, n = re.subn(r"<!-- bench-cli:start -->.*?<!-- bench-cli:end -->", lambda _: block, text, flags=re.S)
if n != 1:
    sys.exit("README.md has no bench-cli markers")
open("README.md", "w").write(text)
PY
echo "README.md updated" >&2
