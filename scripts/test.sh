#!/bin/sh
# Installs what is missing, builds, and runs the whole test suite: the normal build (all suites)
# and a sanitizer build (-Db_sanitize=address,undefined) running every suite again but valgrind
# (valgrind cannot run sanitized binaries) and deploy (it builds and installs its own copy, as
# README says): the daemon under swaks, Postfix and kill -9, fetch against Dovecot, and the
# store's concurrent reader included.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -d build ] || meson setup build
meson test -C build --print-errorlogs
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --no-suite valgrind --no-suite deploy
