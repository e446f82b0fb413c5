#!/bin/sh
# Installs what building and running need (not the test tools), builds, and starts
# `bounced serve` in the foreground from the checkout: the database ./var/bounced.db and the
# LMTP socket ./var/lmtp.sock. For an installed service, see README.md and doc/postfix.md.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh run
[ -d build ] || meson setup build
ninja -C build
mkdir -p var
build/bounced/bounced db migrate --db var/bounced.db
cat <<MSG

bounced serve is starting on unix:$PWD/var/lmtp.sock (Ctrl-C stops it). In another terminal,
send it a test bounce (apt-get install swaks sqlite3 first), then look it up:

  swaks --protocol LMTP --socket $PWD/var/lmtp.sock --from '<>' --to bounces+joe=example.org@bounces.example.com --data @$PWD/doc/examples/test-bounce.eml
  $PWD/build/bounced/bounced suppress check joe@example.org --db $PWD/var/bounced.db
MSG
exec build/bounced/bounced serve --db var/bounced.db --listen unix:var/lmtp.sock
