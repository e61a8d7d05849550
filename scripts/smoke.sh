#!/usr/bin/env bash
# The whole feature end to end: starts the stand-in OpenCode (recorded real catalog data) and `otto serve` in a
# temporary HOME, runs the ottoctl commands, checks the results through the API (including a run of the job on
# the model ottoctl chose, and the assistant), and stops what it started. Exits non-zero on the first thing that is
# not as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

swift build --product otto >&2
swift build --product ottoctl >&2
swift build --product opencode-standin >&2
bin="$(swift build --show-bin-path)"

make_workdir otto-smoke
start_standin
use_temporary_home
start_otto

ctl() { echo "\$ ottoctl $*" >&2; "$bin/ottoctl" "$@"; }
fail() { echo "smoke: $*" >&2; exit 1; }
api() { curl -sf -H "Authorization: Bearer $(cat "$HOME/.otto/secrets/internal-api.token")" "$@"; }

ctl model list | head -4
ctl model refresh
ctl model defaults set heartbeat "nano-gpt/NousResearch 2/hermes-4-405b"
ctl model defaults show

api -X POST -H 'Content-Type: application/json' "$base/external/jobs" \
    -d '{"id": "smoke-job", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60,
         "runAt": 4102444800000, "payload": {"prompt": "Summarise my inbox"}}' >/dev/null
ctl task set-model smoke-job openai/gpt-5

api "$base/external/models/defaults" | python3 -c '
import json, sys
d = json.load(sys.stdin)["flowDefaults"]
assert d["heartbeat"] == "nano-gpt/NousResearch 2/hermes-4-405b", d' || fail "the heartbeat default was not stored"
api "$base/external/jobs/smoke-job" | python3 -c '
import json, sys
j = json.load(sys.stdin)["job"]
assert j["modelRef"] == "openai/gpt-5", j
assert j["effectiveModel"] == {"ref": "openai/gpt-5", "source": "job"}, j' || fail "the job model was not stored"

ctl task run-now smoke-job
for _ in $(seq 1 50); do
    api "$base/external/jobs/smoke-job/runs" | grep -q '"finishedAt":[0-9]' && break
    sleep 0.1
done
ctl task runs smoke-job
api "$base/external/jobs/smoke-job/runs" | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
assert r["status"] == "success" and r["modelRef"] == "openai/gpt-5" and r["modelSource"] == "job", r
assert "openai/gpt-5" in r["result"]["text"], r' || fail "the job did not run on its model"
ctl ask "What is on today?" | grep -q "stand-in reply from" || fail "the assistant did not answer"

ctl task set-model smoke-job inherit
api "$base/external/jobs/smoke-job" | python3 -c '
import json, sys
j = json.load(sys.stdin)["job"]
assert j["modelRef"] is None and j["effectiveModel"]["source"] == "global_default", j' || fail "inherit did not take"

echo "smoke: every command worked and the API shows their effect" >&2
