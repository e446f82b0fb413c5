#!/bin/sh
# Longer fuzzing: builds the libFuzzer targets, runs every target (or the ones named) for SECONDS
# each, all at once, then merges what they found into the minimised corpus of the tree.
#
# usage: fuzz/run-all.sh SECONDS [TARGET...]     (from the top of the tree)
#   BUILD (default build-fuzz): the clang build, set up here when missing (see README.md)
#   WORK  (default BUILD/run-all: a shared /tmp name is another worktree's too): scratch:
#         run-T/ (new inputs), out-T/ (crashes, leaks, timeouts), log-T.txt, merge-T.txt;
#         removed and made anew at each start
#
# A target that crashes is started again for the time it has left (at most RESTARTS_MAX times),
# so every target runs SECONDS in all; each crash stays in out-T/. After the runs, the inputs of
# run-T that reach edges fuzz/corpus/T does not are merged into it (-merge=1, edges only:
# -use_counters=0), the fixtures of the message targets counted as covered (they are replayed
# anyway); what is in fuzz/corpus/T stays. Prints one line per target: executions, corpus
# files before and after, crashes (and leaks, timeouts, out-of-memory). A crash reproducer goes
# to fuzz/crashes/T/ with its fix, by hand (README.md).
set -eu
[ $# -ge 1 ] || { sed -n '2,18p' "$0"; exit 2; }
SECONDS_EACH=$1
shift
case $SECONDS_EACH in *[!0-9]* | '') echo "run-all.sh: SECONDS must be a number" >&2; exit 2 ;; esac
TOP=$(pwd)
[ -f "$TOP/fuzz/replay-main.c" ] || { echo "run-all.sh: run it from the top of the tree" >&2; exit 2; }
BUILD=${BUILD:-build-fuzz}
WORK=${WORK:-$TOP/$BUILD/run-all}
# Restarts of one target after crashes: a target that crashes at once is not worth more.
RESTARTS_MAX=100
ALL="bounce mime dsn arf rules verp report lmtp config imap prefilter"
TARGETS=${*:-$ALL}

# Longest input per target: whole messages for the message targets, less for the others.
max_len() {
	case $1 in
	bounce | mime | arf | report) echo 65536 ;;
	dsn | rules | imap) echo 16384 ;;
	lmtp | config) echo 8192 ;;
	prefilter) echo 2048 ;;
	*) echo 4096 ;;
	esac
}
# A slow input is a finding after this many seconds; fuzz-imap bounds each command itself (20 s).
timeout_of() {
	case $1 in imap) echo 30 ;; *) echo 5 ;; esac
}
fixture_dirs() {
	case $1 in
	bounce | mime | arf)
		for k in dsn arf autoreply mdn heuristic hostile not-bounce; do
			[ -d "$TOP/tests/fixtures/$k" ] && echo "$TOP/tests/fixtures/$k"
		done ;;
	esac
	return 0
}

if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$BUILD" $(for t in $TARGETS; do printf 'fuzz/fuzz-%s ' "$t"; done)

rm -rf "$WORK"
mkdir -p "$WORK"
run_target() {	# TARGET: runs it SECONDS_EACH seconds in all, restarting after crashes
	t=$1
	mkdir -p "$WORK/run-$t" "$WORK/out-$t"
	left=$SECONDS_EACH
	n=0
	while [ "$left" -gt 0 ] && [ "$n" -le "$RESTARTS_MAX" ]; do
		start=$(date +%s)
		# shellcheck disable=SC2046
		"$TOP/$BUILD/fuzz/fuzz-$t" -max_total_time="$left" -max_len="$(max_len "$t")" \
		    -rss_limit_mb=2048 -timeout="$(timeout_of "$t")" -print_final_stats=1 \
		    -artifact_prefix="$WORK/out-$t/" "$WORK/run-$t" "$TOP/fuzz/corpus/$t" \
		    $([ -d "$TOP/fuzz/crashes/$t" ] && echo "$TOP/fuzz/crashes/$t") \
		    $(fixture_dirs "$t") >>"$WORK/log-$t.txt" 2>&1 || true
		left=$((left - ($(date +%s) - start)))
		n=$((n + 1))
	done
}
pids=""
for t in $TARGETS; do
	run_target "$t" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done

printf '%-10s %12s %8s %8s %s\n' target executions before after findings
for t in $TARGETS; do
	c="$TOP/fuzz/corpus/$t"
	mkdir -p "$c"
	before=$(ls "$c" | wc -l)
	# The fixtures count as covered while merging (*.eml: no corpus file is named so).
	for d in $(fixture_dirs "$t"); do
		for f in "$d"/*.eml; do
			cp "$f" "$c/fixture-$(basename "$d")-$(basename "$f")"
		done
	done
	"$TOP/$BUILD/fuzz/fuzz-$t" -merge=1 -use_counters=0 -max_len="$(max_len "$t")" \
	    -timeout="$(timeout_of "$t")" "$c" "$WORK/run-$t" >"$WORK/merge-$t.txt" 2>&1 ||
	    echo "run-all.sh: merge of $t failed, see $WORK/merge-$t.txt" >&2
	rm -f "$c"/fixture-*.eml
	after=$(ls "$c" | wc -l)
	# Per run: its final stats, or (a run cut by a crash prints none) its last status line.
	execs=$(awk '/^INFO: Seed:/ { s += last; last = 0; fin = 0 }
	    /^#[0-9]+/ { if (!fin) last = substr($1, 2) + 0 }
	    /^stat::number_of_executed_units:/ { last = $2 + 0; fin = 1 }
	    END { print s + last }' "$WORK/log-$t.txt")
	findings=$(ls "$WORK/out-$t" | sed -n 's/^\(crash\|leak\|timeout\|oom\|slow-unit\)-.*/\1/p' |
	    sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')
	printf '%-10s %12s %8s %8s %s\n' "$t" "$execs" "$before" "$after" "${findings:-none}"
done
