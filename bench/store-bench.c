/* Store benchmark (prints figures; not a timed test):
 *  1. ingest throughput with durable commits (synchronous=FULL, one transaction per message,
 *     the path of `bounced ingest` and LMTP), parse included and excluded, and with 100
 *     messages per transaction for comparison;
 *  2. `check` latency on a database of 1,000,000 suppressions: store_check in process, the
 *     application's SELECT on the suppressed view, and the `bounced suppress check` command.
 *
 * usage: store-bench [--messages N] [--suppressions N] [--dir DIR] [--bounced PATH] */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "store.h"
#include "strbuf.h"

/* Lookups timed per latency figure: enough for a stable p99. */
#define BENCH_LOOKUPS		100000
/* Runs of the `bounced suppress check` process. */
#define BENCH_PROCESS_RUNS	50

static double
now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *
message(unsigned int n)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b,
	    "From: MAILER-DAEMON@mx.example.net\nTo: bounces@example.net\n"
	    "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <bench-%u@mx.example.net>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\nDelivery failed.\n\n"
	    "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
	    "Final-Recipient: rfc822; user%u@example%u.com\nAction: failed\nStatus: 5.1.1\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <user%u@example%u.com>: User unknown\n\n--B--\n",
	    n, n, n % 1000, n, n % 1000);
	return strbuf_detach(&b);
}

static struct store *
open_fresh(const char *path)
{
	char side[1024];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	struct store *s;
	char *error = NULL;
	if (store_open(path, NULL, STORE_OPEN_CREATE, &s, &error) != STORE_OK) {
		fprintf(stderr, "store-bench: %s\n", error);
		exit(1);
	}
	return s;
}

static void
die(const char *what, char *error)
{
	fprintf(stderr, "store-bench: %s: %s\n", what, error != NULL ? error : "failed");
	exit(1);
}

/* Ingest: mode 0 parse + one transaction per message, 1 pre-parsed + one transaction per
 * message, 2 pre-parsed + batch transactions of 100. Returns messages per second. */
static double
ingest(const char *path, char **msgs, struct bounce_report **reps, unsigned int n, int mode)
{
	struct store *s = open_fresh(path);
	char *error = NULL;
	double t0 = now_s();
	for (unsigned int i = 0; i < n; i++) {
		struct store_msg m = { .data = msgs[i], .len = strlen(msgs[i]), .source = "bench" };
		struct store_add_result res;
		if (mode == 0) {
			/* What ingest does: parse outside the transaction, then store. */
			struct bounce_report *rep = bounce_parse(m.data, m.len, NULL);
			if (store_begin(s, &error) != STORE_OK ||
			    store_end(s, store_add(s, &m, rep, &res, &error), &error) != STORE_OK)
				die("ingest", error);
			bounce_report_free(rep);
			continue;
		}
		if ((mode == 1 || i % 100 == 0) && store_begin(s, &error) != STORE_OK)
			die("begin", error);
		if (store_add(s, &m, reps[i], &res, &error) != STORE_OK)
			die("add", error);
		if ((mode == 1 || i % 100 == 99 || i == n - 1) && store_commit(s, &error) != STORE_OK)
			die("commit", error);
	}
	double dt = now_s() - t0;
	store_close(s);
	return n / dt;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
print_latency(const char *what, double *lat, size_t n)
{
	qsort(lat, n, sizeof *lat, cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	printf("  %-44s mean %7.1f us  p50 %7.1f us  p99 %7.1f us  max %8.1f us\n", what,
	    sum / (double)n * 1e6, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6, lat[n - 1] * 1e6);
}

static void
fill(const char *path, unsigned int count)
{
	struct store *s = open_fresh(path);
	char *error = NULL;
	char sql[1024];
	/* Mostly hard, some complaint and soft (soft ones expire 30 days on). */
	snprintf(sql, sizeof sql,
	    "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < %u) "
	    "INSERT INTO suppressions (address_key, address, type, reason, since, expires_at) "
	    "SELECT 'user' || x || '@example' || (x %% 5000) || '.com', "
	    "'user' || x || '@example' || (x %% 5000) || '.com', "
	    "CASE x %% 10 WHEN 0 THEN 'complaint' WHEN 1 THEN 'soft' ELSE 'hard' END, "
	    "CASE x %% 10 WHEN 0 THEN 'complaint' WHEN 1 THEN 'mailbox_full' ELSE 'user_unknown' END, "
	    "strftime('%%s', 'now') - 86400, "
	    "CASE x %% 10 WHEN 1 THEN strftime('%%s', 'now') + 30 * 86400 END FROM n",
	    count - 1);
	double t0 = now_s();
	if (store_begin(s, &error) != STORE_OK)
		die("begin", error);
	if (sqlite3_exec(store_sqlite(s), sql, NULL, NULL, NULL) != SQLITE_OK)
		die("fill", xstrdup(sqlite3_errmsg(store_sqlite(s))));
	if (store_commit(s, &error) != STORE_OK)
		die("commit", error);
	printf("  filled %u suppressions in %.1f s\n", count, now_s() - t0);
	store_close(s);
}

static void
check_latency(const char *path, unsigned int count, const char *bounced)
{
	struct store *s;
	char *error = NULL;
	if (store_open(path, NULL, STORE_OPEN_READONLY, &s, &error) != STORE_OK)
		die("open", error);
	double *lat = xcalloc(BENCH_LOOKUPS, sizeof *lat);
	char addr[128];
	unsigned int found = 0;
	srand(42);
	for (int miss = 0; miss < 2; miss++) {
		for (size_t i = 0; i < BENCH_LOOKUPS; i++) {
			unsigned int x = (unsigned int)rand() % count;
			snprintf(addr, sizeof addr, miss ? "nobody%u@Example%u.com" : "user%u@Example%u.com",
			    x, x % 5000);
			bool sup;
			double t0 = now_s();
			if (store_check(s, addr, &sup, NULL, &error) != STORE_OK)
				die("check", error);
			lat[i] = now_s() - t0;
			found += sup;
		}
		print_latency(miss ? "store_check, address not suppressed" :
		    "store_check, address suppressed", lat, BENCH_LOOKUPS);
	}
	/* The application's query, on its own read-only connection. */
	sqlite3 *db;
	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT type, reason FROM suppressed WHERE address = ?", -1, &st, NULL);
	for (size_t i = 0; i < BENCH_LOOKUPS; i++) {
		unsigned int x = (unsigned int)rand() % count;
		snprintf(addr, sizeof addr, "user%u@example%u.com", x, x % 5000);
		double t0 = now_s();
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
		found += sqlite3_step(st) == SQLITE_ROW;
		lat[i] = now_s() - t0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	print_latency("SELECT ... FROM suppressed WHERE address = ?", lat, BENCH_LOOKUPS);
	store_close(s);
	if (bounced != NULL) {
		for (size_t i = 0; i < BENCH_PROCESS_RUNS; i++) {
			unsigned int x = (unsigned int)rand() % count;
			snprintf(addr, sizeof addr, "user%u@example%u.com", x, x % 5000);
			fflush(stdout);	/* or the child's freopen writes our buffer again */
			double t0 = now_s();
			pid_t pid = fork();
			if (pid == 0) {
				freopen("/dev/null", "w", stdout);
				execl(bounced, bounced, "suppress", "check", addr, "--db", path, (char *)NULL);
				_exit(127);
			}
			int status;
			waitpid(pid, &status, 0);
			lat[i] = now_s() - t0;
			if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
				die("bounced suppress check", NULL);
		}
		print_latency("bounced suppress check (whole process)", lat, BENCH_PROCESS_RUNS);
	}
	free(lat);
	printf("  (%u lookups answered 'suppressed')\n", found);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "messages", required_argument, NULL, 'm' },
		{ "suppressions", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "bounced", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int nmsg = 2000, nsup = 1000000;
	const char *dir = NULL, *bounced = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': nmsg = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 's': nsup = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'b': bounced = optarg; break;
		default:
			fprintf(stderr, "usage: store-bench [--messages N] [--suppressions N] [--dir DIR] "
			    "[--bounced PATH]\n");
			return 2;
		}
	}
	char tmp[] = "/var/tmp/bounced-bench-XXXXXX";
	if (dir == NULL) {
		if (mkdtemp(tmp) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		dir = tmp;
	}
	if (nmsg == 0 || nsup == 0)
		return 2;
	char path[1024];
	snprintf(path, sizeof path, "%s/bench.db", dir);
	printf("store benchmark in %s (SQLite %s, WAL, synchronous=FULL)\n", dir, sqlite3_libversion());

	char **msgs = xcalloc(nmsg, sizeof *msgs);
	struct bounce_report **reps = xcalloc(nmsg, sizeof *reps);
	for (unsigned int i = 0; i < nmsg; i++) {
		msgs[i] = message(i);
		reps[i] = bounce_parse(msgs[i], strlen(msgs[i]), NULL);
	}
	printf("ingest of %u DSNs (1 hard recipient each):\n", nmsg);
	printf("  parse + 1 durable transaction per message:  %8.0f messages/s\n",
	    ingest(path, msgs, reps, nmsg, 0));
	printf("  pre-parsed, 1 durable transaction each:     %8.0f messages/s\n",
	    ingest(path, msgs, reps, nmsg, 1));
	printf("  pre-parsed, 100 messages per transaction:   %8.0f messages/s\n",
	    ingest(path, msgs, reps, nmsg, 2));
	for (unsigned int i = 0; i < nmsg; i++) {
		free(msgs[i]);
		bounce_report_free(reps[i]);
	}
	free(msgs);
	free(reps);

	printf("check on %u suppressions:\n", nsup);
	fill(path, nsup);
	check_latency(path, nsup, bounced);

	char side[1100];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	if (dir == tmp)
		rmdir(tmp);
	return 0;
}
