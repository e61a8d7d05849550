#!/usr/bin/env bash
# Benchmarks the scheduler of a release build against the stand-in OpenCode, with the stand-in's own record of
# when each prompt arrived. Prints every figure and writes them into README.md.
#
#   scripts/bench-exec.sh                        (about 3 minutes)
#   OTTO_BENCH_README=0 scripts/bench-exec.sh    (print only)
#   OTTO_BENCH_SCRATCH=DIR scripts/bench-exec.sh (build in DIR)
#
# 1. Dispatch latency: 200 one-shot jobs due at staggered times over 20 s; p50/p99 of (prompt received by the
#    stand-in - runAt). Target p99 < 250 ms. The reference is the ideal, 0 ms; the TypeScript Otto polled every 60 s.
# 2. Burst: 1,000 jobs due at once, each answered after 200 ms, maxConcurrentRuns 4: wall time (runAt to the last
#    run recorded) against the ideal 1000 x 0.2 s / 4 = 50 s computed from the workload. Target within 1.25x of it,
#    every run recorded, RSS under 64 MiB throughout.
# 3. Overhead: 1,000 jobs due at once, answered at once: runs completed per second (target >= 200/s) and Otto's CPU
#    time per run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

require_tools curl sqlite3 python3

build_release otto opencode-standin

make_workdir otto-bench-exec
start_standin
use_temporary_home
mkdir -p "$HOME/.config/otto"
cat >"$HOME/.config/otto/config.jsonc" <<'JSON'
{
  // The defaults, spelled out: what an operator runs.
  "scheduler": {"tickSeconds": 30, "leaseSeconds": 30, "maxConcurrentRuns": 4, "runTimeoutSeconds": 600, "retries": 2},
  "heartbeat": {"enabled": false},
  "watchdog": {"enabled": false}
}
JSON
start_otto --log-level warning
token="$(cat "$HOME/.otto/secrets/internal-api.token")"
db="$HOME/.otto/data/otto-state.db"
standin="http://127.0.0.1:$opencode_port"
now_ms() { date +%s%3N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$otto_pid/stat"; }
ticks_per_second="$(getconf CLK_TCK)"
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$otto_pid/status"; }

# Creates jobs through the API, 8 requests at a time: each line of stdin is "id runAt prompt".
create_jobs() {
    python3 -c '
import json, sys
for line in sys.stdin:
    job_id, run_at, prompt = line.rstrip("\n").split(" ", 2)
    print(json.dumps({"id": job_id, "type": "bench", "scheduleType": "oneshot", "runAt": int(run_at),
                      "payload": {"prompt": prompt}}))
' | tr '\n' '\0' | xargs -0 -P 8 -I{} curl -sf -o /dev/null -H "Authorization: Bearer $token" \
        -H "Content-Type: application/json" -d {} "$base/external/jobs"
}

finished() { sqlite3 "$db" "SELECT count(*) FROM job_runs WHERE job_id LIKE '$1%' AND finished_at IS NOT NULL"; }
wait_for() {   # $1: id prefix, $2: count, $3: timeout in seconds
    local deadline=$(( $(date +%s) + $3 ))
    while [ "$(finished "$1")" -lt "$2" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "only $(finished "$1") of $2 runs of $1* finished" >&2; exit 1; }
        sleep 0.2
    done
}

# 1. Dispatch latency.
start=$(( $(now_ms) + 8000 ))
for i in $(seq 0 199); do echo "dispatch-$i $(( start + i * 100 )) dispatch $(( start + i * 100 ))"; done | create_jobs
wait_for dispatch- 200 60
dispatch="$(curl -sf "$standin/__standin/prompts" | python3 -c '
import json, sys
lat = sorted(p["receivedAt"] - int(p["text"].split()[1]) for p in json.load(sys.stdin) if p["text"].startswith("dispatch "))
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{len(lat)} jobs, p50 {pick(0.5)} ms, p99 {pick(0.99)} ms, max {lat[-1]} ms")
')"
echo "dispatch: $dispatch" >&2

# 2. Burst: 1,000 jobs answered after 200 ms each.
burst_at=$(( $(now_ms) + 25000 ))
for i in $(seq 0 999); do echo "burst-$i $burst_at [[sleep:200]] burst $i"; done | create_jobs
rss_max="$(rss)"
while [ "$(now_ms)" -lt "$burst_at" ]; do sleep 0.2; done
deadline=$(( $(date +%s) + 200 ))
while [ "$(finished burst-)" -lt 1000 ]; do
    r="$(rss)"; rss_max="$(python3 -c "print(max($rss_max, $r))")"
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the burst did not finish" >&2; exit 1; }
    sleep 0.5
done
read -r burst_runs burst_ok burst_last < <(sqlite3 -separator ' ' "$db" \
    "SELECT count(*), sum(status = 'success'), max(finished_at) FROM job_runs WHERE job_id LIKE 'burst-%'")
burst="$(python3 -c "
wall = ($burst_last - $burst_at) / 1000; ideal = 1000 * 0.2 / 4
print(f'{wall:.1f} s for 1000 runs (ideal {ideal:.0f} s): {wall / ideal:.2f}x the ideal; $burst_ok of $burst_runs recorded as success; RSS max $rss_max MiB')
")"
echo "burst: $burst" >&2

# 3. Overhead: 1,000 jobs answered at once.
overhead_at=$(( $(now_ms) + 25000 ))
for i in $(seq 0 999); do echo "overhead-$i $overhead_at overhead $i"; done | create_jobs
while [ "$(now_ms)" -lt "$overhead_at" ]; do sleep 0.05; done
cpu_before="$(cpu_ticks)"
wait_for overhead- 1000 120
cpu_after="$(cpu_ticks)"
read -r overhead_last < <(sqlite3 "$db" "SELECT max(finished_at) FROM job_runs WHERE job_id LIKE 'overhead-%'")
overhead="$(python3 -c "
wall = ($overhead_last - $overhead_at) / 1000
cpu = ($cpu_after - $cpu_before) / $ticks_per_second
print(f'{1000 / wall:.0f} runs/s ({wall:.2f} s for 1000); Otto CPU {cpu * 1000 / 1000:.2f} ms per run')
")"
echo "overhead: $overhead" >&2

report="$(cat <<REPORT
scripts/bench-exec.sh, $(nproc) cores, $(date -u +%Y-%m-%d), release build, stand-in OpenCode over loopback
dispatch latency (prompt received - runAt): $dispatch   target p99 < 250 ms (ideal 0; TypeScript Otto up to 60 s)
burst, 200 ms answers, 4 concurrent:        $burst   target <= 1.25x, RSS < 64 MiB
overhead, instant answers:                  $overhead   target >= 200 runs/s
REPORT
)"
echo "$report"
[ "${OTTO_BENCH_README:-1}" = 0 ] || write_readme_block bench-exec "$report"
