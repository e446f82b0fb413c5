#!/bin/sh
# Installs what bounced needs to build and to run its whole test suite on Debian 12 (as root).
# Skips apt entirely when everything is already there.
set -eu
PACKAGES="gcc meson ninja-build pkg-config python3 \
 libetpan-dev libsqlite3-dev libpcre2-dev libevent-dev libgnutls28-dev libinih-dev \
 libjansson-dev libcurl4-gnutls-dev curl \
 sqlite3 swaks postfix dovecot-imapd openssl valgrind"
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
