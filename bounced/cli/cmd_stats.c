/* bounced stats [--since DATE]: counts of recipient events by class, reason and receiving
 * domain. A block at one provider shows as one domain with many sender-blamed events. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "log.h"
#include "options.h"
#include "store_cli.h"

/* Domains listed: the ones that matter are at the top; a long tail is noise on a terminal. */
#define STATS_DOMAINS_MAX	50

static const char stats_usage[] =
    "usage: bounced stats [--since DATE] [--config FILE] [--db PATH]\n"
    "\n"
    "Counts recipient events by class, by reason and by receiving domain (the part of the\n"
    "address after '@'), busiest first. For each domain, 'sender' counts the events blamed on\n"
    "the sending side (blocks, policy, rate limits): many at one domain mean that provider is\n"
    "refusing our mail.\n"
    "\n"
    "  --since DATE   2026-11-01, 2026-11-01T12:00:00Z or 7d (seven days ago), UTC;\n"
    "                 default: everything\n"
    "  --config FILE  read [store] from FILE\n"
    "  --db PATH      the database (default: [store] db, ./var/bounced.db)\n"
    "\n"
    "Exit status: 0 done, 2 usage, 75 database busy, 78 configuration or missing database.\n";

static const struct options_cmd stats_cmd = { "stats", stats_usage, false, 0, 0, NULL };

static const char sql_totals[] =
    "SELECT count(*), coalesce(sum(outcome = 'unparsed'), 0), "
    "coalesce(sum(outcome = 'truncated'), 0) FROM messages WHERE received_at >= ?1";
static const char sql_class[] =
    "SELECT class, count(*) FROM events WHERE occurred_at >= ?1 "
    "GROUP BY class ORDER BY 2 DESC, 1";
static const char sql_reason[] =
    "SELECT reason, count(*), class, blame FROM events WHERE occurred_at >= ?1 "
    "GROUP BY reason, class, blame ORDER BY 2 DESC, 1";
static const char sql_domain[] =
    "SELECT substr(address_key, instr(address_key, '@') + 1) AS domain, count(*), "
    "sum(class = 'hard'), sum(class = 'soft'), sum(class = 'complaint'), "
    "sum(blame = 'sender') FROM events WHERE occurred_at >= ?1 "
    "GROUP BY domain ORDER BY 2 DESC, 1 LIMIT ?2";

static int
query(sqlite3 *db, const char *sql, int64_t since, sqlite3_stmt **st_r)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st_r, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("stats: %s", sqlite3_errmsg(db));
		return rc;
	}
	sqlite3_bind_int64(*st_r, 1, since);
	sqlite3_bind_int(*st_r, 2, STATS_DOMAINS_MAX);
	return SQLITE_OK;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v != NULL && v[0] != '\0' ? (const char *)v : "-";
}

/* Prints the rows of sql with the column layout of kind; returns a SQLite result code. */
static int
section(sqlite3 *db, int kind, int64_t since)
{
	static const char *const sqls[] = { sql_class, sql_reason, sql_domain };
	static const char *const titles[] = {
		"by class\n",
		"by reason\n",
		"by receiving domain\n  domain                           events   hard   soft  compl sender\n",
	};
	sqlite3_stmt *st;
	int rc = query(db, sqls[kind], since, &st);
	if (rc != SQLITE_OK)
		return rc;
	fputs(titles[kind], stdout);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (kind == 0)
			printf("  %-18s %8lld\n", col(st, 0), sqlite3_column_int64(st, 1));
		else if (kind == 1)
			printf("  %-18s %8lld  %-9s %s\n", col(st, 0), sqlite3_column_int64(st, 1),
			    col(st, 2), col(st, 3));
		else
			printf("  %-32s %6lld %6lld %6lld %6lld %6lld\n", col(st, 0),
			    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
			    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
			    sqlite3_column_int64(st, 5));
	}
	if (rc != SQLITE_DONE)
		log_warnx("stats: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	putchar('\n');
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
report(sqlite3 *db, int64_t since)
{
	/* One read transaction: every section counts the same snapshot. */
	int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *st;
	if (rc == SQLITE_OK)
		rc = query(db, sql_totals, since, &st);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			char when[32] = "the beginning";
			if (since > 0)
				store_cli_time(since, when, sizeof when);
			printf("since %s: %lld messages (%lld unparsed, %lld truncated)\n\n", when,
			    sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2));
			rc = SQLITE_OK;
		} else {
			log_warnx("stats: %s", sqlite3_errmsg(db));
		}
		sqlite3_finalize(st);
	}
	for (int kind = 0; rc == SQLITE_OK && kind < 3; kind++)
		rc = section(db, kind, since);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

int
cmd_stats(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *since_s = NULL;
	const struct option_spec specs[] = {
		OPTION_STRING("since", 0, &since_s), OPTIONS_CONFIG_DB(&config_path, &db),
		OPTIONS_END,
	};
	int first, st = options_parse(&stats_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	int64_t since = 0;
	if (since_s != NULL && !store_cli_date(since_s, (int64_t)time(NULL), &since)) {
		log_warnx("stats: --since '%s' is not a date (2026-11-01, 2026-11-01T12:00:00Z or 7d)",
		    since_s);
		return EXIT_USAGE;
	}
	struct config cfg;
	int status = store_cli_config(&cfg, config_path, db);
	struct store *s = NULL;
	if (status == EXIT_OK)
		status = store_cli_open(&cfg, STORE_OPEN_READONLY, &s);
	if (status == EXIT_OK) {
		int rc = report(store_sqlite(s), since);
		if ((rc & 0xff) == SQLITE_BUSY)
			status = EXIT_TEMPFAIL;
		else if (rc != SQLITE_OK)
			status = EXIT_SOFTWARE;
		else if (fflush(stdout) != 0)
			status = EXIT_IOERR;
	}
	store_close(s);
	config_free(&cfg);
	return status;
}
