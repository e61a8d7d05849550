#!/usr/bin/env bash
# Builds every product (the tests run the real `otto`, `ottoctl` and `opencode-standin` binaries as
# subprocesses) and runs the whole test suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
# GRDB links the system SQLite and the gzip support (compress-nio, swift-nio-extras) the system zlib, so a bare
# machine needs their headers; the ottoctl tests compare its output with curl's view of the API.
[ -e /usr/include/sqlite3.h ] || install_packages libsqlite3-dev
[ -e /usr/include/zlib.h ] || install_packages zlib1g-dev
require_tools curl

swift build --build-tests "$@"
swift test --skip-build "$@"
