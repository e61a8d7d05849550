#!/usr/bin/env bash
# Benchmarks the external API of a release build against the stand-in OpenCode (full fixture, 4,803 models)
# with 10,000 jobs, using wrk (2 threads, 64 connections). The reference is nginx as it is normally run (Debian's
# defaults: sendfile on, two workers, loopback only) serving the exact bytes of the same responses, measured in the
# same run on identical requests; nginx with sendfile off is shown too. Prints every figure and writes them into
# README.md.
#
#   scripts/bench-api.sh [seconds-per-run]      (default 10)
#   OTTO_BENCH_README=0 scripts/bench-api.sh    (print only; for measuring another checkout)
#   OTTO_BENCH_SCRATCH=DIR scripts/bench-api.sh (build in DIR: two checkouts can share their dependencies' build)
#
# Targets on a 2-core machine: catalog >= 0.7x nginx (sendfile on) requests/s with p99 < 10 ms; PATCH >= 5,000
# requests/s with every acknowledged change audited; GET /external/jobs (10,000 jobs, about 5 MB) p50 <= 50 ms;
# RSS < 48 MiB idle and < 64 MiB after the load.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
duration="${1:-10}"

require_tools wrk nginx sqlite3 curl
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

build_release otto opencode-standin otto-bench

make_workdir otto-bench-api
nginx_port="$(free_port)"
start_standin
use_temporary_home
"$bin/otto-bench" seed-jobs "$HOME/.otto/data/otto-state.db" 10000 >&2
start_otto --log-level warning
token="$(cat "$HOME/.otto/secrets/internal-api.token")"
auth="Authorization: Bearer $token"
sleep 1
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$otto_pid/status"; }
rss_split() { awk '/RssAnon/ {a=$2} /RssFile/ {f=$2} END {printf "heap and stacks %.1f MiB, mapped files (Swift runtime, ICU data, SQLite shm) %.1f MiB", a/1024, f/1024}' "/proc/$otto_pid/status"; }
rss_idle="$(rss)"

# The reference: nginx serving the exact bytes of the catalog and job listing responses.
mkdir -p "$work/www"
curl -sf -H "$auth" "$base/external/models/catalog" -o "$work/www/catalog.json"
curl -sf -H "$auth" "$base/external/jobs" -o "$work/www/jobs.json"
chmod 755 "$work" "$work/www"; chmod 644 "$work/www/"*.json   # nginx workers run as another user
nginx_conf() {   # $1: sendfile on|off, $2: port, $3: name
    cat >"$work/nginx-$3.conf" <<NGINX
worker_processes 2;
pid $work/nginx-$3.pid;
error_log $work/nginx-$3-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile $1;
    tcp_nopush on;
    types { application/json json; }
    server {
        listen 127.0.0.1:$2;
        root $work/www;
    }
}
NGINX
    "$NGINX" -c "$work/nginx-$3.conf" -p "$work"
}
nginx_off_port="$(free_port)"
nginx_conf on "$nginx_port" on
nginx_conf off "$nginx_off_port" off
sleep 0.5
for port in "$nginx_port" "$nginx_off_port"; do
    served="$(curl -sf "http://127.0.0.1:$port/catalog.json" | wc -c)"
    [ "$served" -eq "$(wc -c <"$work/www/catalog.json")" ] || { echo "nginx does not serve the catalog bytes" >&2; exit 1; }
done
jobs_bytes="$(wc -c <"$work/www/jobs.json")"
catalog_bytes="$(wc -c <"$work/www/catalog.json")"
catalog_gzip_bytes="$(curl -sf -H "$auth" -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$base/external/models/catalog")"

wrk_run() { wrk -t2 -c64 -d"${duration}s" --latency "$@"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {print $2}'; }
p50() { awk '$1 == "50%" {print $2}'; }

echo "running wrk for ${duration}s per endpoint (2 threads, 64 connections)..." >&2
nginx_out="$(wrk_run "http://127.0.0.1:$nginx_port/catalog.json")"
nginx_off_out="$(wrk_run "http://127.0.0.1:$nginx_off_port/catalog.json")"
catalog_out="$(wrk_run -H "$auth" "$base/external/models/catalog")"
defaults_out="$(wrk_run -H "$auth" "$base/external/models/defaults")"

cat >"$work/patch.lua" <<'LUA'
local counter = 0
local models = {"openai/gpt-5", "anthropic/claude-opus-4-7"}
wrk.headers["Content-Type"] = "application/json"
request = function()
    counter = counter + 1
    local id = "bench-" .. (counter * 7919 % 10000)
    local body = '{"modelRef": "' .. models[counter % 2 + 1] .. '"}'
    -- nil headers: wrk.headers, which hold the -H Authorization header, are sent.
    return wrk.format("PATCH", "/external/jobs/" .. id, nil, body)
end
done = function(summary, latency, requests)
    io.write(string.format("acknowledged %d\n", summary.requests - summary.errors.status - summary.errors.read - summary.errors.write - summary.errors.timeout))
end
LUA
audit_before="$(sqlite3 "$HOME/.otto/data/otto-state.db" "SELECT count(*) FROM task_audit WHERE action = 'update'")"
patch_out="$(wrk_run -H "$auth" -s "$work/patch.lua" "$base")"
sleep 1
audit_after="$(sqlite3 "$HOME/.otto/data/otto-state.db" "SELECT count(*) FROM task_audit WHERE action = 'update'")"
acknowledged="$(echo "$patch_out" | awk '/^acknowledged/ {print $2}')"
audited=$((audit_after - audit_before))
non2xx="$(echo "$patch_out" | awk '/Non-2xx/ {print $5}')"

jobs_out="$(wrk -t1 -c1 -d"${duration}s" --latency -H "$auth" "$base/external/jobs")"
nginx_jobs_out="$(wrk -t1 -c1 -d"${duration}s" --latency "http://127.0.0.1:$nginx_port/jobs.json")"
jobs_count="$(curl -sf -H "$auth" "$base/external/jobs" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')"
rss_loaded="$(rss)"
rss_loaded_split="$(rss_split)"

nginx_rps="$(echo "$nginx_out" | rps)"; nginx_off_rps="$(echo "$nginx_off_out" | rps)"; catalog_rps="$(echo "$catalog_out" | rps)"
ratio="$(python3 -c "print(f'{$catalog_rps / $nginx_rps:.2f}')")"
ratio_off="$(python3 -c "print(f'{$catalog_rps / $nginx_off_rps:.2f}')")"
verdict() { python3 -c "print('ok' if $1 else 'MISSED')"; }
secs() { python3 -c "
v='$1'
print(float(v[:-2])/1000 if v.endswith('us') else float(v[:-2]) if v.endswith('ms') else float(v[:-1])*1000)"; }

catalog_p99_ms="$(secs "$(echo "$catalog_out" | p99)")"
jobs_p50_ms="$(secs "$(echo "$jobs_out" | p50)")"
nginx_jobs_p50_ms="$(secs "$(echo "$nginx_jobs_out" | p50)")"
patch_rps="$(echo "$patch_out" | rps)"
audit_ok="$([ "$audited" -ge "$acknowledged" ] && echo yes || echo no)"

report="$(cat <<REPORT
\$ scripts/bench-api.sh $duration   # $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d), wrk -t2 -c64 -d${duration}s
nginx (sendfile on), catalog   : $nginx_rps req/s, p99 $(echo "$nginx_out" | p99)
nginx (sendfile off), catalog  : $nginx_off_rps req/s, p99 $(echo "$nginx_off_out" | p99)
GET /external/models/catalog  : $catalog_rps req/s, p99 $(echo "$catalog_out" | p99)  -> ${ratio}x nginx sendfile on, ${ratio_off}x sendfile off (target >= 0.7x on, p99 < 10 ms: $(verdict "$ratio >= 0.7 and $catalog_p99_ms < 10"))
  catalog body $catalog_bytes bytes, $catalog_gzip_bytes bytes with Accept-Encoding: gzip
GET /external/models/defaults : $(echo "$defaults_out" | rps) req/s, p99 $(echo "$defaults_out" | p99)
PATCH /external/jobs/{id}     : $patch_rps req/s, p99 $(echo "$patch_out" | p99), non-2xx ${non2xx:-0} (target >= 5000: $(verdict "$patch_rps >= 5000"))
  acknowledged changes $acknowledged, new audit rows $audited (every change audited: $audit_ok)
GET /external/jobs ($jobs_count jobs, $jobs_bytes bytes): p50 $(echo "$jobs_out" | p50), p99 $(echo "$jobs_out" | p99) (target p50 <= 50 ms: $(verdict "$jobs_p50_ms <= 50"))
  nginx (sendfile on), same bytes: p50 $(echo "$nginx_jobs_out" | p50), p99 $(echo "$nginx_jobs_out" | p99)
RSS idle $rss_idle MiB (target < 48: $(verdict "$rss_idle < 48")), after the load $rss_loaded MiB (target < 64: $(verdict "$rss_loaded < 64"))
  after the load: $rss_loaded_split
REPORT
)"
echo "$report"

[ "${OTTO_BENCH_README:-1}" = 0 ] || write_readme_block bench-api "$report"
[ "$audit_ok" = yes ] || { echo "some acknowledged PATCH has no audit row" >&2; exit 1; }
