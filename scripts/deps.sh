#!/bin/sh
# Installs what bounced needs on Debian 12 (as root), skipping apt when everything is there:
#   deps.sh run   building and running only (what ./scripts/run.sh and an install need)
#   deps.sh       that, and what the whole test suite runs: Postfix, Dovecot, swaks, sqlite3,
#                 openssl, valgrind (never installed by run: on a systemd machine installing
#                 dovecot-imapd starts a public IMAP server)
set -eu
RUN="gcc meson ninja-build pkg-config python3 \
 libetpan-dev libsqlite3-dev libpcre2-dev libevent-dev libgnutls28-dev libinih-dev"
TEST="sqlite3 swaks postfix dovecot-imapd openssl valgrind util-linux"
case "${1:-test}" in
run) PACKAGES="$RUN" ;;
test) PACKAGES="$RUN $TEST" ;;
*) echo "usage: deps.sh [run|test]" >&2; exit 2 ;;
esac
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix must not ask questions nor start: the tests start their own, in a scratch directory.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
