#!/bin/sh
# make-mbox.sh DIR TIMES OUT: one mbox holding every file of DIR, TIMES times over (mboxrd).
set -eu
dir=$1; times=$2; out=$3
: > "$out"
i=0
while [ "$i" -lt "$times" ]; do
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		printf 'From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n' >> "$out"
		sed -e 's/\r$//' -e 's/^\(>*From \)/>\1/' "$f" >> "$out"
		printf '\n' >> "$out"
	done
	i=$((i + 1))
done
