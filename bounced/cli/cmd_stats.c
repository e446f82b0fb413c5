/* bounced stats [--since DATE] [--by day] [--json]: counts of what was taken in and what the
 * policy did with it, aggregated in SQL over one snapshot: by class, reason, receiving domain
 * and effect (why a bounce did or did not suppress), per UTC day, and the suppressions in force
 * by type. The JSON form is what a report reads (its keys are documented in bounced(8)). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "json.h"
#include "log.h"
#include "options.h"
#include "store_cli.h"
#include "strbuf.h"

/* Domains listed: the ones that matter are at the top; a long tail is noise on a terminal. */
#define STATS_DOMAINS_MAX	50
/* Columns of one query at most (the daily table has the most). */
#define STATS_COLUMNS_MAX	20

static const char stats_usage[] =
    "usage: bounced stats [--since DATE] [--by day] [--json] [--config FILE] [--db PATH]\n"
    "\n"
    "Counts messages and recipient events by class, by reason, by receiving domain (the part\n"
    "of the address after '@', busiest first; 'sender' counts events blamed on the sending\n"
    "side: many at one domain mean that provider is refusing our mail), and by effect: what\n"
    "the policy did with each event, so a hard bounce that suppressed nobody says why:\n"
    "\n"
    "  suppressed       newly suppressed\n"
    "  kept             already suppressed\n"
    "  scored           a soft point, below the threshold\n"
    "  duplicate-day    the address already scored that UTC day\n"
    "  unverified       the VERP signature did not verify: acts on nothing\n"
    "  after-lift       the failure is dated before an operator's remove\n"
    "  not-an-address   no usable address\n"
    "  sender-blamed    blamed on the sending side (blocks, policy, rate limits)\n"
    "  network-blamed   blamed on the network (timeouts, routing)\n"
    "  unknown-blamed   nothing conclusive\n"
    "  delayed          a delay warning, not a failure\n"
    "  not-a-failure    auto-replies, delivery reports\n"
    "  policy-off       [policy] suppress_hard, suppress_complaint or soft_threshold = 0\n"
    "\n"
    "and the messages taken in again (duplicates, counted once), the addresses suppressed now\n"
    "by type, and with --by day one row per UTC day: messages, events by class, suppressions\n"
    "added by type and lifted.\n"
    "\n"
    "  --since DATE   2026-11-01, 2026-11-01T12:00:00Z or 7d (seven days ago), UTC;\n"
    "                 default: everything\n"
    "  --by day       add the table per UTC day\n"
    "  --json         one JSON object with every count (the days included), for reports\n"
    "  --config FILE  read [store] from FILE (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH      the database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "\n"
    "Exit status: 0 done, 2 usage, 74 writing the output failed, 75 database busy, 78\n"
    "configuration or missing database.\n";

static const struct options_cmd stats_cmd = { "stats", stats_usage, false, 0, 0, NULL };

/* What the policy did with an event, or why it did nothing (events.effect 'none'). */
#define EFFECT_SQL \
    "CASE WHEN effect <> 'none' THEN effect " \
    "WHEN class IN ('autoreply', 'none') THEN 'not-a-failure' " \
    "WHEN action = 'delayed' THEN 'delayed' " \
    "WHEN blame = 'sender' THEN 'sender-blamed' " \
    "WHEN blame = 'network' THEN 'network-blamed' " \
    "WHEN blame = 'recipient' THEN 'policy-off' " \
    "ELSE 'unknown-blamed' END"

static const char sql_totals[] =
    "SELECT (SELECT count(*) FROM messages WHERE received_at >= ?1), "
    "(SELECT count(*) FROM messages WHERE received_at >= ?1 AND outcome = 'unparsed'), "
    "(SELECT count(*) FROM messages WHERE received_at >= ?1 AND outcome = 'truncated'), "
    "(SELECT count(*) FROM duplicates WHERE at >= ?1), "
    "(SELECT count(*) FROM events WHERE occurred_at >= ?1)";
static const char *const cols_totals[] = {
	"messages", "unparsed", "truncated", "duplicates", "events", NULL };
static const char sql_now[] =
    "SELECT coalesce(sum(type = 'hard'), 0), coalesce(sum(type = 'soft'), 0), "
    "coalesce(sum(type = 'complaint'), 0), coalesce(sum(type = 'manual'), 0), count(*) "
    "FROM suppressed";
static const char *const cols_now[] = { "hard", "soft", "complaint", "manual", "total", NULL };
static const char sql_class[] =
    "SELECT class, count(*) FROM events WHERE occurred_at >= ?1 "
    "GROUP BY class ORDER BY 2 DESC, 1";
static const char *const cols_class[] = { "class", "events", NULL };
static const char sql_reason[] =
    "SELECT reason, count(*), class, blame FROM events WHERE occurred_at >= ?1 "
    "GROUP BY reason, class, blame ORDER BY 2 DESC, 1";
static const char *const cols_reason[] = { "reason", "events", "class", "blame", NULL };
static const char sql_effect[] =
    "SELECT " EFFECT_SQL " AS eff, count(*) FROM events WHERE occurred_at >= ?1 "
    "GROUP BY eff ORDER BY 2 DESC, 1";
static const char *const cols_effect[] = { "effect", "events", NULL };
static const char sql_domain[] =
    "SELECT substr(address_key, instr(address_key, '@') + 1) AS domain, count(*), "
    "sum(class = 'hard'), sum(class = 'soft'), sum(class = 'complaint'), "
    "sum(blame = 'sender') FROM events WHERE occurred_at >= ?1 "
    "GROUP BY domain ORDER BY 2 DESC, 1 LIMIT ?2";
static const char *const cols_domain[] = {
	"domain", "events", "hard", "soft", "complaint", "sender", NULL };
/* One row per UTC day that saw anything: each source aggregated by day, then joined. */
static const char sql_days[] =
    "WITH e AS (SELECT date(occurred_at, 'unixepoch') AS day, count(*) AS events, "
    "  sum(class = 'hard') AS hard, sum(class = 'soft') AS soft, "
    "  sum(class = 'complaint') AS complaint, sum(class = 'autoreply') AS autoreply, "
    "  sum(class = 'none') AS none_, "
    "  sum(effect = 'suppressed' AND class = 'hard') AS s_hard, "
    "  sum(effect = 'suppressed' AND class = 'soft') AS s_soft, "
    "  sum(effect = 'suppressed' AND class = 'complaint') AS s_complaint "
    "  FROM events WHERE occurred_at >= ?1 GROUP BY 1), "
    "m AS (SELECT date(received_at, 'unixepoch') AS day, count(*) AS n, "
    "  sum(outcome = 'unparsed') AS unparsed, sum(outcome = 'truncated') AS truncated "
    "  FROM messages WHERE received_at >= ?1 GROUP BY 1), "
    "d AS (SELECT date(at, 'unixepoch') AS day, count(*) AS n FROM duplicates "
    "  WHERE at >= ?1 GROUP BY 1), "
    "man AS (SELECT date(at, 'unixepoch') AS day, count(*) AS n FROM audit "
    "  WHERE action = 'add' AND at >= ?1 GROUP BY 1), "
    "l AS (SELECT date(at, 'unixepoch') AS day, count(*) AS n FROM audit "
    "  WHERE action = 'remove' AND at >= ?1 GROUP BY 1), "
    "days AS (SELECT day FROM e UNION SELECT day FROM m UNION SELECT day FROM d "
    "  UNION SELECT day FROM man UNION SELECT day FROM l) "
    "SELECT days.day, coalesce(m.n, 0), coalesce(m.unparsed, 0), coalesce(m.truncated, 0), "
    "coalesce(d.n, 0), coalesce(e.events, 0), coalesce(e.hard, 0), coalesce(e.soft, 0), "
    "coalesce(e.complaint, 0), coalesce(e.autoreply, 0), coalesce(e.none_, 0), "
    "coalesce(e.s_hard, 0), coalesce(e.s_soft, 0), coalesce(e.s_complaint, 0), "
    "coalesce(man.n, 0), coalesce(l.n, 0) "
    "FROM days LEFT JOIN e USING (day) LEFT JOIN m USING (day) LEFT JOIN d USING (day) "
    "LEFT JOIN man USING (day) LEFT JOIN l USING (day) ORDER BY days.day";
static const char *const cols_days[] = {
	"day", "messages", "unparsed", "truncated", "duplicates", "events", "hard", "soft",
	"complaint", "autoreply", "none", "suppressed_hard", "suppressed_soft",
	"suppressed_complaint", "manual_added", "lifted", NULL };
static const char sql_days_reason[] =
    "SELECT date(occurred_at, 'unixepoch') AS day, class, reason, blame, " EFFECT_SQL
    " AS eff, count(*) FROM events WHERE occurred_at >= ?1 "
    "GROUP BY day, class, reason, blame, eff ORDER BY day, 6 DESC, class, reason";
static const char *const cols_days_reason[] = {
	"day", "class", "reason", "blame", "effect", "events", NULL };

/* The busiest receiving domains (by_domain's) per UTC day. */
static const char sql_days_domain[] =
    "WITH top AS (SELECT substr(address_key, instr(address_key, '@') + 1) AS domain "
    "  FROM events WHERE occurred_at >= ?1 GROUP BY domain ORDER BY count(*) DESC, domain "
    "  LIMIT ?2) "
    "SELECT date(occurred_at, 'unixepoch') AS day, "
    "substr(address_key, instr(address_key, '@') + 1) AS domain, count(*), "
    "sum(class = 'hard'), sum(class = 'soft'), sum(class = 'complaint'), "
    "sum(blame = 'sender') FROM events WHERE occurred_at >= ?1 "
    "AND substr(address_key, instr(address_key, '@') + 1) IN (SELECT domain FROM top) "
    "GROUP BY day, domain ORDER BY day, 3 DESC, domain";
static const char *const cols_days_domain[] = {
	"day", "domain", "events", "hard", "soft", "complaint", "sender", NULL };

/* A query run over the snapshot; rows handed to a printer. */
struct query {
	const char *key;		/* JSON key */
	const char *sql;
	const char *const *cols;
	bool object;			/* JSON: the single row as an object, not an array */
};

static int
prepare(sqlite3 *db, const char *sql, int64_t since, sqlite3_stmt **st_r)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st_r, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("stats: %s", sqlite3_errmsg(db));
		return rc;
	}
	if (sqlite3_bind_parameter_count(*st_r) >= 1)
		sqlite3_bind_int64(*st_r, 1, since);
	if (sqlite3_bind_parameter_count(*st_r) >= 2)
		sqlite3_bind_int(*st_r, 2, STATS_DOMAINS_MAX);
	return SQLITE_OK;
}

static void
json_row(struct strbuf *b, sqlite3_stmt *st, const char *const *cols)
{
	strbuf_putc(b, '{');
	for (int i = 0; cols[i] != NULL; i++) {
		if (i > 0)
			strbuf_putc(b, ',');
		json_cstring(b, cols[i]);
		strbuf_putc(b, ':');
		if (sqlite3_column_type(st, i) == SQLITE_INTEGER) {
			strbuf_printf(b, "%lld", sqlite3_column_int64(st, i));
		} else {
			const unsigned char *v = sqlite3_column_text(st, i);
			json_cstring(b, v != NULL ? (const char *)v : "");
		}
	}
	strbuf_putc(b, '}');
}

/* Appends "KEY": [rows] (or the single row as an object) to b. Returns a SQLite code. */
static int
json_query(sqlite3 *db, const struct query *q, int64_t since, struct strbuf *b)
{
	sqlite3_stmt *st;
	int rc = prepare(db, q->sql, since, &st);
	if (rc != SQLITE_OK)
		return rc;
	strbuf_putc(b, ',');
	json_cstring(b, q->key);
	strbuf_puts(b, q->object ? ":" : ":[");
	int n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ > 0)
			strbuf_putc(b, ',');
		json_row(b, st, q->cols);
	}
	if (!q->object)
		strbuf_putc(b, ']');
	else if (n == 0)
		strbuf_puts(b, "null");
	if (rc != SQLITE_DONE)
		log_warnx("stats: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
report_json(sqlite3 *db, int64_t since)
{
	static const struct query qs[] = {
		{ "totals", sql_totals, cols_totals, true },
		{ "suppressed_now", sql_now, cols_now, true },
		{ "by_class", sql_class, cols_class, false },
		{ "by_reason", sql_reason, cols_reason, false },
		{ "by_effect", sql_effect, cols_effect, false },
		{ "by_domain", sql_domain, cols_domain, false },
		{ "days", sql_days, cols_days, false },
		{ "days_by_reason", sql_days_reason, cols_days_reason, false },
		{ "days_by_domain", sql_days_domain, cols_days_domain, false },
	};
	struct strbuf b = STRBUF_INIT;
	char when[32];
	strbuf_puts(&b, "{\"since\":");
	if (since > 0) {
		store_cli_time(since, when, sizeof when);
		json_cstring(&b, when);
	} else {
		strbuf_puts(&b, "null");
	}
	store_cli_time((int64_t)time(NULL), when, sizeof when);
	strbuf_puts(&b, ",\"generated_at\":");
	json_cstring(&b, when);
	int rc = SQLITE_OK;
	for (size_t i = 0; rc == SQLITE_OK && i < sizeof qs / sizeof qs[0]; i++)
		rc = json_query(db, &qs[i], since, &b);
	strbuf_puts(&b, "}\n");
	if (rc == SQLITE_OK)
		fwrite(b.s, 1, b.len, stdout);
	strbuf_free(&b);
	return rc;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v != NULL && v[0] != '\0' ? (const char *)v : "-";
}

/* Prints the rows of a table section: a title, then each row as fmt lays it out (columns of
 * text then counts, as kinds says: 's' or 'n'). */
static int
text_section(sqlite3 *db, const char *title, const char *sql, const char *kinds, int64_t since)
{
	sqlite3_stmt *st;
	int rc = prepare(db, sql, since, &st);
	if (rc != SQLITE_OK)
		return rc;
	fputs(title, stdout);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; kinds[i] != '\0'; i++) {
			if (kinds[i] == 'S')
				printf("  %-32s", col(st, i));
			else if (kinds[i] == 's')
				printf(i == 0 ? "  %-18s" : "  %-9s", col(st, i));
			else if (kinds[i] == 'd')
				printf("  %s", col(st, i));
			else
				printf(" %7lld", sqlite3_column_int64(st, i));
		}
		putchar('\n');
	}
	if (rc != SQLITE_DONE)
		log_warnx("stats: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	putchar('\n');
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
report_text(sqlite3 *db, int64_t since, bool by_day)
{
	sqlite3_stmt *st;
	int rc = prepare(db, sql_totals, since, &st);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char when[32] = "the beginning";
		if (since > 0)
			store_cli_time(since, when, sizeof when);
		printf("since %s: %lld messages (%lld unparsed, %lld truncated; %lld more taken in "
		    "again, counted once), %lld recipient events\n", when,
		    sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		    sqlite3_column_int64(st, 4));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && (rc = prepare(db, sql_now, since, &st)) == SQLITE_OK) {
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			printf("suppressed now: %lld (hard %lld, soft %lld, complaint %lld, manual "
			    "%lld)\n\n", sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 0),
			    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
			    sqlite3_column_int64(st, 3));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_OK)
		rc = text_section(db, "by class\n", sql_class, "sn", since);
	if (rc == SQLITE_OK)
		rc = text_section(db, "by reason               events  class      blame\n", sql_reason,
		    "snss", since);
	if (rc == SQLITE_OK)
		rc = text_section(db, "by effect (what the policy did, or why not)\n", sql_effect,
		    "sn", since);
	if (rc == SQLITE_OK)
		rc = text_section(db, "by receiving domain\n  domain                            "
		    " events    hard    soft   compl  sender\n", sql_domain, "Snnnnn", since);
	if (rc == SQLITE_OK && by_day)
		rc = text_section(db, "by day (UTC)\n  day        messages unparsd truncd   dupl  "
		    "events    hard    soft   compl  autorp    none  +hard  +soft +compl +manual "
		    "lifted\n", sql_days, "dnnnnnnnnnnnnnnn", since);
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		log_warnx("stats: %s", sqlite3_errmsg(db));
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
cmd_stats(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *since_s = NULL, *by = NULL;
	bool json = false;
	const struct option_spec specs[] = {
		OPTION_STRING("since", 0, &since_s), OPTION_STRING("by", 0, &by),
		OPTION_FLAG("json", 0, &json), OPTIONS_CONFIG_DB(&config_path, &db),
		OPTIONS_END,
	};
	int first, st = options_parse(&stats_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	if (by != NULL && strcmp(by, "day") != 0) {
		log_warnx("stats: --by '%s': only 'day' is known", by);
		return EXIT_USAGE;
	}
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
		sqlite3 *h = store_sqlite(s);
		/* One read transaction: every section counts the same snapshot. */
		int rc = sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = json ? report_json(h, since) : report_text(h, since, by != NULL);
		sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
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
