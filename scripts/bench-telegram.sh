#!/usr/bin/env bash
# Benchmarks Telegram in a release build of `otto serve` against the stand-in Bot API and the stand-in OpenCode
# (both release builds, on loopback):
#   - overhead from an update arriving at the stand-in Bot API to its prompt arriving at OpenCode, p50/p99 over
#     500 messages sent one after another (each after the previous reply); the reference, measured in the same
#     run, is the ideal for that path: the three loopback HTTP exchanges it needs at the least (the long poll's
#     answer, the session check, the prompt), each timed with curl against the same stand-ins;
#   - the worker's CPU over 60 s of empty long polls, against the same Otto with Telegram off over the same 60 s;
#   - RSS after 1,000 messages, against the same process's RSS before the first one.
# Prints every figure and writes them into README.md.
#
#   scripts/bench-telegram.sh                    (OpenCode protocol 1)
#   OTTO_BENCH_PROTOCOL=2 scripts/bench-telegram.sh
#   OTTO_BENCH_README=0 scripts/bench-telegram.sh  (print only)
#
# Targets on a 2-core machine: overhead p99 < 50 ms; idle CPU < 0.5% of a core; RSS < 64 MiB after 1,000 messages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
protocol="${OTTO_BENCH_PROTOCOL:-1}"

require_tools curl
build_release otto opencode-standin telegram-standin

make_workdir otto-bench-telegram
opencode_port="$(free_port)"
"$bin/opencode-standin" --port "$opencode_port" --fixture Tests/Fixtures/opencode --protocol "$protocol" \
    >"$work/standin.log" 2>&1 &
pids+=($!)
telegram_port="$(free_port)"
"$bin/telegram-standin" --port "$telegram_port" >"$work/telegram.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$telegram_port/control/state" >/dev/null \
        && curl -s -o /dev/null "http://127.0.0.1:$opencode_port/" && break
    sleep 0.1
done
telegram="http://127.0.0.1:$telegram_port"
use_temporary_home
user=4242
token="123456789:AAStandInTokenForOttoTests_abcdefghij"
mkdir -p "$HOME/.config/otto"
cat >"$HOME/.config/otto/config.jsonc" <<JSON
{"telegram": {"apiBaseUrl": "$telegram", "allowedUserId": $user},
 "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}
JSON

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
ticks_per_second="$(getconf CLK_TCK)"

# Idle, Telegram off: the reference for the worker's cost.
TELEGRAM_BOT_TOKEN="" start_otto --log-level warning
sleep 5
off_before="$(cpu_ticks "$otto_pid")"
sleep 60
off_after="$(cpu_ticks "$otto_pid")"
kill -TERM "$otto_pid"; wait "$otto_pid" 2>/dev/null || true

# Idle, Telegram on: 60 s of empty long polls.
export TELEGRAM_BOT_TOKEN="$token"
start_otto --log-level warning
for _ in $(seq 1 100); do
    grep -q '"polling":true' <(curl -s "$telegram/control/state") && break
    sleep 0.1
done
sleep 5
on_before="$(cpu_ticks "$otto_pid")"
polls_before="$(curl -s "$telegram/control/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["getUpdatesCalls"])')"
sleep 60
on_after="$(cpu_ticks "$otto_pid")"
polls_after="$(curl -s "$telegram/control/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["getUpdatesCalls"])')"
rss_before="$(rss "$otto_pid")"

# The reference for the overhead: three loopback exchanges with the same stand-ins, timed by curl.
reference="$(python3 - "$telegram" "$opencode_port" "$protocol" <<'PY'
import subprocess, sys, statistics
telegram, port, protocol = sys.argv[1], sys.argv[2], sys.argv[3]
health = f"http://127.0.0.1:{port}/api/info" if protocol == "2" else f"http://127.0.0.1:{port}/global/health"
urls = [f"{telegram}/control/state", health, health]
times = []
for _ in range(200):
    out = subprocess.run(["curl", "-s", "-w", "%{time_total}\n"] + sum([["-o", "/dev/null", u] for u in urls], []),
                         capture_output=True, text=True).stdout.split()
    times.append(sum(float(t) for t in out) * 1000)
times.sort()
print(f"{times[len(times)//2]:.2f} {times[int(len(times)*0.99)]:.2f}")
PY
)"

# 1,000 messages, one after another; the first 500 are timed.
driver="$(python3 - "$telegram" "$opencode_port" "$user" "$protocol" <<'PY'
import json, sys, time, urllib.request
telegram, port, user, protocol = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def call(url, body=None):
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)
injected = {}
for index in range(1000):
    answer = call(f"{telegram}/control/updates", {"from": user, "text": f"bench message {index}"})
    injected[f"bench message {index}"] = answer["at"]
    deadline = time.time() + 30
    while len(call(f"{telegram}/control/sent")) <= index:
        if time.time() > deadline:
            sys.exit(f"no reply to message {index}")
        time.sleep(0.002)
prompts = call(f"http://127.0.0.1:{port}/__standin/prompts")
timed = [p["receivedAt"] - injected[p["text"]] for p in prompts if p["text"] in injected][:500]
timed.sort()
print(f"{len(prompts)} {timed[len(timed)//2]} {timed[int(len(timed)*0.99)]} {timed[-1]}")
PY
)"
read -r prompts p50 p99 worst <<<"$driver"
read -r ref50 ref99 <<<"$reference"
rss_after="$(rss "$otto_pid")"

report="$(python3 - <<PY
tps = $ticks_per_second
on = ($on_after - $on_before) / tps / 60 * 100
off = ($off_after - $off_before) / tps / 60 * 100
print(f"bench-telegram ($(date -u +%F), OpenCode protocol $protocol, stand-in Bot API, release builds, $(nproc) cores)")
print(f"update at the Bot API -> prompt at OpenCode, 500 messages one at a time:")
print(f"  otto      p50 $p50 ms, p99 $p99 ms, worst $worst ms (target p99 < 50 ms)")
print(f"  ideal     p50 $ref50 ms, p99 $ref99 ms (three loopback exchanges timed by curl)")
print(f"idle over 60 s ($polls_after - $polls_before = {$polls_after - $polls_before} long polls of 30 s):")
print(f"  telegram on  {on:.2f}% of a core (target < 0.5%)")
print(f"  telegram off {off:.2f}% of a core (the same Otto without the worker)")
print(f"RSS: {float('$rss_before'):.1f} MiB before the first message, {float('$rss_after'):.1f} MiB after 1,000 (target < 64 MiB); $prompts prompts reached OpenCode")
PY
)"
echo "$report"
[ "${OTTO_BENCH_README:-1}" = 0 ] || write_readme_block bench-telegram "$report"
