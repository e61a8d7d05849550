#!/usr/bin/env bash
# Builds Otto, starts the stand-in OpenCode server (real models.dev catalog data reshaped into OpenCode's bodies, not a
# real OpenCode) and then `otto serve` against it, in a throw-away HOME so your own ~/.config/otto and ~/.otto are not
# touched. Ctrl-C stops both. To run against a real OpenCode instead, see README.md ("Run against a real OpenCode").
#
#   scripts/demo.sh                                # stand-in speaking OpenCode 1.x on port 4096
#   scripts/demo.sh --opencode-protocol 2          # ... speaking OpenCode 2.x (the 2.1 API under /api/)
#   scripts/demo.sh --no-default-model             # a stock install: OpenCode chooses the model
#   scripts/demo.sh --opencode-password s3cret     # a password-protected OpenCode
#   OPENCODE_PORT=5096 scripts/demo.sh
#   OTTO_DEMO_HOME=/tmp/otto-demo scripts/demo.sh  # keep the demo's files between runs
set -euo pipefail
cd "$(dirname "$0")/.."

protocol=1
standin_args=()
password=""
while [ $# -gt 0 ]; do
    case "$1" in
        --opencode-protocol) protocol="${2:?--opencode-protocol takes 1 or 2}"; shift 2 ;;
        --no-default-model) standin_args+=(--no-default-model); shift ;;
        --opencode-password) password="${2:?--opencode-password takes a password}"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$protocol" in 1|2) ;; *) echo "demo.sh: --opencode-protocol must be 1 or 2" >&2; exit 2 ;; esac
[ -n "$password" ] && standin_args+=(--password "$password")

port="${OPENCODE_PORT:-4096}"
demo_home="${OTTO_DEMO_HOME:-$(mktemp -d -t otto-demo.XXXXXX)}"
api_port="${OTTO_DEMO_API_PORT:-4190}"

swift build --product otto
swift build --product ottoctl
swift build --product opencode-standin
bin="$(swift build --show-bin-path)"

"$bin/opencode-standin" --port "$port" --fixture Tests/Fixtures/opencode --protocol "$protocol" \
    ${standin_args[@]+"${standin_args[@]}"} &
standin=$!
otto_pid=""
cleanup() {
    [ -n "$otto_pid" ] && kill -TERM "$otto_pid" 2>/dev/null && wait "$otto_pid" 2>/dev/null
    kill -TERM "$standin" 2>/dev/null && wait "$standin" 2>/dev/null
    true
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    sleep 0.1
done

echo "demo HOME: $demo_home (config: $demo_home/.config/otto/config.jsonc, data: $demo_home/.otto)" >&2
echo "point ottoctl at it from another terminal:" >&2
echo "  HOME=$demo_home OTTO_EXTERNAL_API_PORT=$api_port $bin/ottoctl model list" >&2
echo "  HOME=$demo_home OTTO_EXTERNAL_API_PORT=$api_port $bin/ottoctl ask 'What is on today?'" >&2
env HOME="$demo_home" OTTO_OPENCODE_BASE_URL="http://127.0.0.1:$port" OTTO_EXTERNAL_API_PORT="$api_port" \
    ${password:+OTTO_OPENCODE_PASSWORD="$password"} "$bin/otto" serve &
otto_pid=$!
wait "$otto_pid"
