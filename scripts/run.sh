#!/bin/sh
# Installs what is missing, builds, and starts `bounced serve` on its embedded defaults:
# the database ./var/bounced.db and the LMTP socket ./var/lmtp.sock.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -d build ] || meson setup build
ninja -C build
mkdir -p var
build/bounced/bounced db migrate --db var/bounced.db
exec build/bounced/bounced serve
