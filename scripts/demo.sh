#!/usr/bin/env bash
# Builds Otto, starts the stand-in OpenCode server (recorded real catalog data, not a real OpenCode) and then
# `otto serve` against it, in a throw-away HOME so your own ~/.config/otto and ~/.otto are not touched.
# Ctrl-C stops both. To run against a real OpenCode instead, see README.md ("Run against a real OpenCode").
#
#   scripts/demo.sh                 # stand-in on port 4096
#   OPENCODE_PORT=5096 scripts/demo.sh
#   OTTO_DEMO_HOME=/tmp/otto-demo scripts/demo.sh   # keep the demo's files between runs
set -euo pipefail
cd "$(dirname "$0")/.."

port="${OPENCODE_PORT:-4096}"
demo_home="${OTTO_DEMO_HOME:-$(mktemp -d -t otto-demo.XXXXXX)}"

swift build --product otto
swift build --product opencode-standin
bin="$(swift build --show-bin-path)"

"$bin/opencode-standin" --port "$port" --fixture Tests/Fixtures/opencode &
standin=$!
otto_pid=""
cleanup() {
    [ -n "$otto_pid" ] && kill -TERM "$otto_pid" 2>/dev/null && wait "$otto_pid" 2>/dev/null
    kill -TERM "$standin" 2>/dev/null && wait "$standin" 2>/dev/null
    true
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/config" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "demo HOME: $demo_home (config: $demo_home/.config/otto/config.jsonc, data: $demo_home/.otto)" >&2
HOME="$demo_home" OTTO_OPENCODE_BASE_URL="http://127.0.0.1:$port" "$bin/otto" serve &
otto_pid=$!
wait "$otto_pid"
