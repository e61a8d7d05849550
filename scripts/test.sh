#!/usr/bin/env bash
# Builds every product (the tests run the real `otto`, `ottoctl` and `opencode-standin` binaries as
# subprocesses) and runs the whole test suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# GRDB links the system SQLite, so a bare machine needs its headers; the ottoctl tests compare its output with
# curl's view of the API.
need=()
[ -e /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

swift build --build-tests "$@"
swift test --skip-build "$@"
