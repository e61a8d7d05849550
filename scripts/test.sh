#!/usr/bin/env bash
# Builds every product (the tests run the real `otto`, `ottoctl` and `opencode-standin` binaries as
# subprocesses) and runs the whole test suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# GRDB links the system SQLite; a bare machine may lack its headers.
if ! [ -e /usr/include/sqlite3.h ]; then
    echo "installing libsqlite3-dev (GRDB needs the SQLite headers)" >&2
    if command -v apt-get >/dev/null; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libsqlite3-dev >/dev/null
    fi
fi

swift build --build-tests "$@"
swift test --skip-build "$@"
