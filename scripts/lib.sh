# Shared by the scripts: installing Debian tools, a work directory that is cleaned up, free ports, starting the
# stand-in OpenCode and `otto serve`, and writing measured figures into README.md. Source it; do not run it.

# apt-get installs the named Debian packages (as root, or with sudo).
install_packages() {
    [ $# -gt 0 ] || return 0
    echo "installing $*" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}

# Installs each named tool whose command is missing (each name here is also its Debian package).
require_tools() {
    local need=()
    for tool in "$@"; do
        command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || need+=("$tool")
    done
    install_packages "${need[@]}"
}

# Builds the named products in release mode (in $OTTO_BENCH_SCRATCH when set, so two checkouts can share their
# dependencies' build) and sets $bin to where they are.
build_release() {
    local scratch=(${OTTO_BENCH_SCRATCH:+--scratch-path "$OTTO_BENCH_SCRATCH"})
    for product in "$@"; do swift build -c release "${scratch[@]}" --product "$product" >&2; done
    bin="$(swift build -c release "${scratch[@]}" --show-bin-path)"
}

# Creates $work and stops everything in $pids (and an nginx under $work) when the script exits.
make_workdir() {
    work="$(mktemp -d -t "$1.XXXXXX")"
    pids=()
    trap cleanup EXIT
}
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pidfile in "$work"/nginx*.pid; do [ -f "$pidfile" ] && kill -QUIT "$(cat "$pidfile")" 2>/dev/null; done; true
    wait 2>/dev/null || true
    rm -rf "$work"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Starts the stand-in OpenCode from $bin on a free port; sets $opencode_port.
start_standin() {
    opencode_port="$(free_port)"
    "$bin/opencode-standin" --port "$opencode_port" --fixture Tests/Fixtures/opencode >"$work/standin.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$opencode_port/config" >/dev/null && return; sleep 0.1; done
    echo "the stand-in OpenCode did not start: $(cat "$work/standin.log")" >&2
    exit 1
}

# Points HOME at $work/home and OpenCode at the stand-in, and picks a free API port; sets $api_port and $base.
use_temporary_home() {
    api_port="$(free_port)"
    base="http://127.0.0.1:$api_port"
    export HOME="$work/home" OTTO_OPENCODE_BASE_URL="http://127.0.0.1:$opencode_port" OTTO_EXTERNAL_API_PORT="$api_port"
    mkdir -p "$HOME"
}

# Starts `otto serve` from $bin with the given options and waits until it serves; sets $otto_pid.
start_otto() {
    "$bin/otto" serve "$@" 2>"$work/otto.log" &
    otto_pid=$!
    pids+=($otto_pid)
    for _ in $(seq 1 200); do curl -s -o /dev/null "$base/external/openapi.json" && return; sleep 0.1; done
    echo "otto did not start: $(cat "$work/otto.log")" >&2
    exit 1
}

# Replaces the block between <!-- NAME:start --> and <!-- NAME:end --> in README.md with TEXT in a code fence.
write_readme_block() {
    python3 - "$1" "$2" <<'PY'
import re, sys
name, figures = sys.argv[1], sys.argv[2]
block = f"<!-- {name}:start -->\n```\n" + figures.strip() + f"\n```\n<!-- {name}:end -->"
text = open("README.md").read()
text, n = re.subn(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", lambda _: block, text, flags=re.S)
if n != 1:
    sys.exit(f"README.md has no {name} markers")
open("README.md", "w").write(text)
PY
    echo "README.md updated" >&2
}
