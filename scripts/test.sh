#!/usr/bin/env bash
# Builds every product (the tests run the real `otto`, `ottoctl`, `opencode-standin` and `telegram-standin` binaries as
# subprocesses) and runs the whole test suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
# GRDB links the system SQLite and the gzip support (compress-nio, swift-nio-extras) the system zlib, so a bare
# machine needs their headers; the ottoctl tests compare its output with curl's view of the API.
[ -e /usr/include/sqlite3.h ] || install_packages libsqlite3-dev
[ -e /usr/include/zlib.h ] || install_packages zlib1g-dev
require_tools curl
# The service tests check the systemd unit with systemd's own `systemd-analyze verify` (no systemd needs to run).
command -v systemd-analyze >/dev/null || install_packages systemd

swift build --build-tests "$@"
# One test at a time: each starts real servers (the stand-in OpenCode, often `otto serve` as a process) and fetches
# the real 3.2 MB catalog, and on a 2-core machine dozens of them at once starve each other past OpenCode's 10 s
# timeout. Serially the suite takes about a minute, and its timing-sensitive tests see the machine they expect.
swift test --skip-build --no-parallel "$@"
