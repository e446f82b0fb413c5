/* The store around the policy: opening and migrating, refusing foreign and newer databases,
 * duplicates, the views applications read (and their index use), busy handling, raw pruning. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "store.h"
#include "store_int.h"
#include "store_schema.h"
#include "strbuf.h"

static int failures;
static char dir[] = "/tmp/bounced-store-XXXXXX";

static void
fail(const char *test, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(const char *test, const char *fmt, ...)
{
	va_list ap;
	printf("FAIL %s: ", test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures++;
}

static char *
db_path(const char *name)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "%s/%s", dir, name);
	return strbuf_detach(&b);
}

static void
sql(const char *path, const char *q)
{
	sqlite3 *db;
	char *err = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) {
		printf("setup SQL failed: %s: %s\n", q, err ? err : sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_close(db);
}

static long long
one(struct store *s, const char *q)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(store_sqlite(s), q, -1, &st, NULL) != SQLITE_OK) {
		printf("query failed: %s: %s\n", q, sqlite3_errmsg(store_sqlite(s)));
		exit(1);
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

/* Open: missing, create, current, newer, foreign, not SQLite. */
static void
test_open(void)
{
	static const struct {
		const char *name;
		const char *setup;	/* SQL run on a new file first; NULL = no file */
		int flags;
		int want;
		const char *msg;	/* part of the error */
	} rows[] = {
		{ "missing", NULL, 0, STORE_ERR_MISSING, "create it with: bounced db migrate --db " },
		{ "create", NULL, STORE_OPEN_CREATE, STORE_OK, NULL },
		{ "newer", "PRAGMA application_id = 1651471726; PRAGMA user_version = 99;", 0,
		    STORE_ERR_SCHEMA, "database schema version 99 is newer than this bounced understands" },
		{ "foreign", "CREATE TABLE users (id INTEGER);", 0, STORE_ERR_SCHEMA,
		    "not a bounced database" },
		{ "other application", "PRAGMA application_id = 42;", 0, STORE_ERR_SCHEMA,
		    "not a bounced database" },
		{ "read-only empty", "", STORE_OPEN_READONLY, STORE_ERR_SCHEMA,
		    "bounced db migrate --db" },
		{ "no migrate", "", STORE_OPEN_NO_MIGRATE, STORE_OK, NULL },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "open-%zu.db", i);
		char *path = db_path(name);
		if (rows[i].setup != NULL)
			sql(path, rows[i].setup);
		struct store *s = NULL;
		char *error = NULL;
		int rc = store_open(path, NULL, rows[i].flags, &s, &error);
		if (rc != rows[i].want)
			fail(rows[i].name, "rc %d, want %d (%s)", rc, rows[i].want, error ? error : "");
		else if (rows[i].msg != NULL && !contains(error, rows[i].msg))
			fail(rows[i].name, "error '%s' lacks '%s'", error, rows[i].msg);
		free(error);
		store_close(s);
		free(path);
	}

	/* Not SQLite at all. */
	char *path = db_path("text.db");
	FILE *f = fopen(path, "w");
	fputs("this is a text file, not a database, and it is long enough to have a header......"
	    "................................................................................", f);
	fclose(f);
	struct store *s = NULL;
	char *error = NULL;
	int rc = store_open(path, NULL, 0, &s, &error);
	if (rc != STORE_ERR_SCHEMA || !contains(error, "not a database"))
		fail("not sqlite", "rc %d: %s", rc, error ? error : "");
	free(error);
	store_close(s);
	free(path);

	/* A created database is current, in WAL mode, and migrating again is a no-op. */
	path = db_path("open-1.db");
	error = NULL;
	rc = store_open(path, NULL, 0, &s, &error);
	if (rc != STORE_OK) {
		fail("reopen", "%s", error);
		free(error);
		free(path);
		return;
	}
	int from = -1, to = -1;
	if (one(s, "PRAGMA user_version") != schema_version)
		fail("version", "user_version %lld", one(s, "PRAGMA user_version"));
	if (one(s, "PRAGMA synchronous") != 2)
		fail("synchronous", "not FULL");
	if (store_migrate(s, &from, &to, &error) != STORE_OK || from != schema_version ||
	    to != schema_version)
		fail("migrate again", "from %d to %d", from, to);
	store_close(s);
	sqlite3 *db;
	sqlite3_open(path, &db);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		fail("wal", "journal_mode is not wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
}

/* Migrations apply in order, each in its own transaction: a failing one leaves the database at
 * the version before it, with nothing of it applied. */
static void
test_migrations(void)
{
	/* The real migrations, then one more that works and one that breaks. */
	const int n = schema_version;
	struct schema_migration migs[n + 2];
	for (int i = 0; i < n; i++)
		migs[i] = schema_migrations[i];
	migs[n] = (struct schema_migration){ n + 1, "extra",
	    "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (1);" };
	migs[n + 1] = (struct schema_migration){ n + 2, "broken",
	    "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;" };
	char newer[64], broken[64];
	snprintf(newer, sizeof newer, "schema version %d is newer", n + 1);
	snprintf(broken, sizeof broken, "migration %03d-broken: ", n + 2);
	char *path = db_path("migrate.db");
	struct store *s;
	char *error = NULL;
	if (store_open(path, NULL, STORE_OPEN_CREATE | STORE_OPEN_NO_MIGRATE, &s, &error) != STORE_OK) {
		fail("migrations", "open: %s", error);
		return;
	}
	int from = -1, to = -1;
	int rc = store_migrate_list(s, migs, n + 1, &from, &to, &error);
	if (rc != STORE_OK || from != 0 || to != n + 1 || one(s, "PRAGMA user_version") != n + 1 ||
	    one(s, "SELECT x FROM extra") != 1)
		fail("migrations up to extra", "rc %d from %d to %d: %s", rc, from, to,
		    error ? error : "");
	free(error);
	error = NULL;
	rc = store_migrate_list(s, migs, n + 2, &from, &to, &error);
	if (rc != STORE_ERR_SCHEMA || !contains(error, broken))
		fail("broken migration", "rc %d: %s", rc, error ? error : "");
	if (one(s, "PRAGMA user_version") != n + 1 ||
	    one(s, "SELECT count(*) FROM sqlite_master WHERE name = 'half'") != 0)
		fail("broken migration", "a failed migration left a trace");
	free(error);
	error = NULL;
	store_close(s);
	/* This binary knows versions up to n: n + 1 is refused. */
	rc = store_open(path, NULL, 0, &s, &error);
	if (rc != STORE_ERR_SCHEMA || !contains(error, newer))
		fail("migrations", "a newer database opened: %d %s", rc, error ? error : "");
	free(error);
	free(path);
}

static struct bounce_report *
report(const char *msgid, const char *const *addrs, enum bounce_class cls)
{
	struct bounce_report *r = bounce_report_new();
	r->kind = KIND_DSN;
	bounce_set(&r->message_id, msgid);
	for (; *addrs != NULL; addrs++) {
		struct bounce_recipient *rc = bounce_report_add(r, *addrs);
		bounce_set(&rc->action, "failed");
		rc->class_ = cls;
		rc->reason = cls == CLASS_HARD ? REASON_USER_UNKNOWN : REASON_MAILBOX_FULL;
		rc->blame = BLAME_RECIPIENT;
		snprintf(rc->status, sizeof rc->status, "%s", cls == CLASS_HARD ? "5.1.1" : "4.2.2");
		snprintf(rc->smtp_code, sizeof rc->smtp_code, "550");
		bounce_set(&rc->diagnostic, "550 5.1.1 no such user");
	}
	return r;
}

static int
add_key(struct store *s, const char *body, const struct bounce_report *rep, int64_t t,
    const char *key, struct store_add_result *res)
{
	struct store_msg m = { .data = body, .len = strlen(body), .source = "test", .received_at = t,
		.event_key = key };
	char *error = NULL;
	int rc = store_begin(s, &error);
	if (rc == STORE_OK)
		rc = store_add(s, &m, rep, res, &error);
	if (rc == STORE_OK)
		rc = store_commit(s, &error);
	else
		store_rollback(s);
	if (rc != STORE_OK)
		printf("add: %s\n", error);
	free(error);
	return rc;
}

static int
add(struct store *s, const char *body, const struct bounce_report *rep, int64_t t,
    struct store_add_result *res)
{
	return add_key(s, body, rep, t, NULL, res);
}

/* The same message twice counts once: same bytes, same webhook event key, or same Message-ID
 * and recipients. */
static void
test_duplicates(void)
{
	static const char *const ab[] = { "a@example.com", "b@Example.com", NULL };
	static const char *const ba[] = { "b@example.com", "a@EXAMPLE.com", "a@example.com", NULL };
	static const char *const a[] = { "a@example.com", NULL };
	static const char *const c[] = { "c@example.com", NULL };
	static const struct {
		const char *name;
		const char *body;
		const char *msgid;
		const char *const *addrs;
		bool dup;
		size_t events;
		const char *key;	/* a webhook event's */
	} rows[] = {
		{ "first", "Message-ID: <1@x>\n\none\n", "<1@x>", ab, false, 2, NULL },
		{ "same bytes", "Message-ID: <1@x>\n\none\n", "<1@x>", ab, true, 0, NULL },
		{ "same id, same recipients in another order", "Received: again\nMessage-ID: <1@x>\n\none\n",
		    "<1@x>", ba, true, 0, NULL },
		{ "same id, other recipients", "Received: 3\nMessage-ID: <1@x>\n\none\n", "<1@x>", a,
		    false, 1, NULL },
		{ "no id, other bytes", "Subject: x\n\ntwo\n", NULL, ab, false, 2, NULL },
		{ "webhook event", "{\"n\":1}", NULL, c, false, 1, "ses:m-1" },
		{ "same event key, other bytes (a retry)", "{\"n\":2}", NULL, c, true, 0, "ses:m-1" },
		{ "other event key", "{\"n\":3}", NULL, c, false, 1, "ses:m-2" },
		{ "same bytes, no key", "{\"n\":3}", NULL, c, true, 0, NULL },
	};
	char *path = db_path("dup.db");
	struct store *s;
	char *error = NULL;
	if (store_open(path, NULL, STORE_OPEN_CREATE, &s, &error) != STORE_OK) {
		fail("dup open", "%s", error);
		return;
	}
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct bounce_report *rep = report(rows[i].msgid, rows[i].addrs, CLASS_SOFT);
		struct store_add_result res;
		if (add_key(s, rows[i].body, rep, 1767225600 + (int64_t)i * 86400, rows[i].key, &res) !=
		    STORE_OK)
			fail(rows[i].name, "add failed");
		else if (res.duplicate != rows[i].dup || res.events != rows[i].events)
			fail(rows[i].name, "duplicate %d events %zu, want %d %zu", res.duplicate,
			    res.events, rows[i].dup, rows[i].events);
		bounce_report_free(rep);
	}
	/* Duplicates scored nothing: a@ got points on days 0 and 3 only, b@ on 0 and 4. */
	if (one(s, "SELECT score FROM soft_scores WHERE address_key = 'a@example.com'") != 3)
		fail("dup score", "a@ score %lld, want 3",
		    one(s, "SELECT score FROM soft_scores WHERE address_key = 'a@example.com'"));
	/* A message that could not be parsed is kept and marked. */
	struct store_add_result res;
	if (add(s, "garbage", NULL, 1767225600, &res) != STORE_OK || res.events != 0 ||
	    one(s, "SELECT count(*) FROM messages WHERE outcome = 'unparsed' AND CAST(raw AS TEXT) = 'garbage'") != 1)
		fail("unparsed", "not stored as unparsed");
	store_close(s);
	free(path);
}

/* The views, with the real clock (they compare with 'now' themselves), and their index use. */
static void
test_views(void)
{
	char *path = db_path("views.db");
	struct store *s;
	char *error = NULL;
	if (store_open(path, NULL, STORE_OPEN_CREATE, &s, &error) != STORE_OK) {
		fail("views open", "%s", error);
		return;
	}
	int64_t now = (int64_t)time(NULL);
	static const char *const hard[] = { "Hard@Example.ORG", NULL };
	static const char *const soft[] = { "soft@example.org", NULL };
	static const char *const old[] = { "old@example.org", NULL };
	struct store_add_result res;
	struct bounce_report *r = report("<h@x>", hard, CLASS_HARD);
	add(s, "h", r, now - 100, &res);
	bounce_report_free(r);
	/* soft@ bounced the last five days: suppressed until now + 26 days. old@ bounced five days
	 * 40 days ago: its suppression expired by itself. */
	for (int d = 0; d < 5; d++) {
		char body[32];
		snprintf(body, sizeof body, "s%d", d);
		r = report(NULL, soft, CLASS_SOFT);
		add(s, body, r, now - (4 - d) * 86400 - 60, &res);
		bounce_report_free(r);
		snprintf(body, sizeof body, "o%d", d);
		r = report(NULL, old, CLASS_SOFT);
		add(s, body, r, now - (44 - d) * 86400, &res);
		bounce_report_free(r);
	}
	sqlite3 *db = store_sqlite(s);
	static const struct {
		const char *address;
		const char *type;	/* NULL: not in the view */
	} rows[] = {
		{ "Hard@example.org", "hard" },
		{ "soft@example.org", "soft" },
		{ "old@example.org", NULL },
		/* Case is ignored (schema 002), in the domain and, as Postfix's tables do, in the
		 * local part; nothing else is. */
		{ "Hard@Example.ORG", "hard" },
		{ "hard@example.org", "hard" },
		{ "SOFT@EXAMPLE.ORG", "soft" },
		{ "hard@example.com", NULL },
		{ "hard @example.org", NULL },
	};
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT type, reason, since, expires_at FROM suppressed WHERE address = ?",
	    -1, &st, NULL);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, rows[i].address, -1, SQLITE_STATIC);
		bool row = sqlite3_step(st) == SQLITE_ROW;
		const char *type = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if ((type == NULL) != (rows[i].type == NULL) ||
		    (type != NULL && strcmp(type, rows[i].type) != 0))
			fail("suppressed view", "%s is %s, want %s", rows[i].address,
			    type ? type : "absent", rows[i].type ? rows[i].type : "absent");
		if (row && strcmp(rows[i].type, "hard") == 0 &&
		    (strcmp((const char *)sqlite3_column_text(st, 1), "user_unknown") != 0 ||
		    sqlite3_column_type(st, 3) != SQLITE_NULL ||
		    strlen((const char *)sqlite3_column_text(st, 2)) != 20))
			fail("suppressed view", "hard row columns wrong");
	}
	sqlite3_finalize(st);
	if (one(s, "SELECT count(*) FROM bounce_events WHERE address = 'soft@example.org' AND "
	    "class = 'soft' AND reason = 'mailbox_full' AND status = '4.2.2' AND smtp_code = '550' "
	    "AND diagnostic LIKE '550%' AND occurred_at LIKE '____-__-__T__:__:__Z'") != 5)
		fail("bounce_events view", "soft@ rows wrong");
	if (one(s, "SELECT count(*) FROM bounce_events WHERE message_id = '<h@x>'") != 1)
		fail("bounce_events view", "message_id wrong");
	/* Lookups by address use an index, not a scan. */
	static const char *const plans[] = {
		"EXPLAIN QUERY PLAN SELECT * FROM suppressed WHERE address = 'x@y'",
		"EXPLAIN QUERY PLAN SELECT * FROM bounce_events WHERE address = 'x@y'",
	};
	for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
		sqlite3_prepare_v2(db, plans[i], -1, &st, NULL);
		struct strbuf plan = STRBUF_INIT;
		while (sqlite3_step(st) == SQLITE_ROW) {
			strbuf_puts(&plan, (const char *)sqlite3_column_text(st, 3));
			strbuf_putc(&plan, ';');
		}
		sqlite3_finalize(st);
		if (plan.s == NULL || strstr(plan.s, "SCAN") != NULL || strstr(plan.s, "USING") == NULL)
			fail("index", "%s: %s", plans[i], plan.s ? plan.s : "");
		strbuf_free(&plan);
	}
	store_close(s);
	free(path);
}

/* A reader in a long transaction does not stop writes (WAL); a second writer waits for the busy
 * timeout and then gets STORE_ERR_BUSY, a transient error. */
static void
test_busy(void)
{
	char *path = db_path("busy.db");
	struct config cfg;
	config_defaults(&cfg);
	cfg.busy_timeout_ms = 200;
	struct store *s;
	char *error = NULL;
	if (store_open(path, &cfg, STORE_OPEN_CREATE, &s, &error) != STORE_OK) {
		fail("busy open", "%s", error);
		return;
	}
	sqlite3 *other;
	sqlite3_open(path, &other);
	sqlite3_exec(other, "BEGIN; SELECT count(*) FROM suppressed;", NULL, NULL, NULL);
	static const char *const a[] = { "r@example.com", NULL };
	struct bounce_report *r = report(NULL, a, CLASS_HARD);
	struct store_add_result res;
	if (add(s, "while reading", r, 1767225600, &res) != STORE_OK)
		fail("reader", "a reader made the write fail");
	sqlite3_exec(other, "COMMIT; BEGIN IMMEDIATE;", NULL, NULL, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = store_begin(s, &error);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (rc != STORE_ERR_BUSY || !contains(error, "busy"))
		fail("writer", "rc %d (%s), want STORE_ERR_BUSY", rc, error ? error : "");
	if (ms < 150)
		fail("writer", "gave up after %.0f ms, before the 200 ms busy timeout", ms);
	free(error);
	error = NULL;
	sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
	if (add(s, "after", r, 1767225600, &res) != STORE_OK)
		fail("writer", "no write after the other writer finished");
	bounce_report_free(r);
	sqlite3_close(other);
	store_close(s);
	config_free(&cfg);
	free(path);
}

/* Raw copies go after keep_raw_days; the rest of the message stays. */
static void
test_prune(void)
{
	char *path = db_path("prune.db");
	struct config cfg;
	config_defaults(&cfg);
	cfg.keep_raw_days = 10;
	struct store *s;
	char *error = NULL;
	if (store_open(path, &cfg, STORE_OPEN_CREATE, &s, &error) != STORE_OK) {
		fail("prune open", "%s", error);
		return;
	}
	int64_t t = 1767225600;
	struct store_add_result res;
	store_set_now(s, t);
	add(s, "old message", NULL, t, &res);
	store_set_now(s, t + 11 * 86400);
	add(s, "new message", NULL, t + 11 * 86400, &res);
	if (one(s, "SELECT count(*) FROM messages WHERE raw IS NULL AND size = 11") != 1 ||
	    one(s, "SELECT count(*) FROM messages WHERE CAST(raw AS TEXT) = 'new message'") != 1)
		fail("prune", "raw copies not pruned as expected");

	/* A backlog is worked off a batch (500) per transaction, not all in the one that
	 * acknowledges the next message. */
	store_set_now(s, t);
	char body[64];
	for (int i = 0; i < 1200; i++) {
		snprintf(body, sizeof body, "backlog message %d", i);
		add(s, body, NULL, t, &res);
	}
	static const long long left[] = { 700, 200, 0, 0 };
	for (int i = 0; i < 4; i++) {
		store_set_now(s, t + 12 * 86400 + i);
		snprintf(body, sizeof body, "later message %d", i);
		add(s, body, NULL, t + 12 * 86400 + i, &res);
		long long n = one(s, "SELECT count(*) FROM messages WHERE CAST(raw AS TEXT) LIKE 'backlog%'");
		if (n != left[i])
			fail("prune batch", "after transaction %d: %lld raw copies left, want %lld", i, n,
			    left[i]);
	}
	store_close(s);
	config_free(&cfg);
	free(path);
}

/* A database written at schema version 1 (views comparing case) is brought to the current
 * version when opened, and its rows are then found whatever the case, through the index. */
static void
test_upgrade_v1(void)
{
	char *path = db_path("v1.db");
	struct store *s;
	char *error = NULL;
	if (store_open(path, NULL, STORE_OPEN_CREATE | STORE_OPEN_NO_MIGRATE, &s, &error) !=
	    STORE_OK || store_migrate_list(s, schema_migrations, 1, NULL, NULL, &error) != STORE_OK) {
		fail("v1", "%s", error ? error : "");
		free(error);
		free(path);
		return;
	}
	/* Rows as a version 1 bounced wrote them (today's code writes later columns). */
	if (sqlite3_exec(store_sqlite(s),
	    "INSERT INTO messages (id, source, received_at, message_id, sha256, size, kind, outcome) "
	    "VALUES (1, 'v1', 0, '<v1@x>', 'h', 2, 'dsn', 'parsed');"
	    "INSERT INTO events (message, address, address_key, occurred_at, class, reason, blame, "
	    "effect) VALUES (1, 'Joe@example.com', 'Joe@example.com', 0, 'hard', 'user_unknown', "
	    "'recipient', 'suppressed');"
	    "INSERT INTO suppressions (address_key, address, type, reason, since) VALUES "
	    "('Joe@example.com', 'Joe@example.com', 'hard', 'user_unknown', 0);",
	    NULL, NULL, NULL) != SQLITE_OK)
		fail("v1", "insert: %s", sqlite3_errmsg(store_sqlite(s)));
	if (one(s, "SELECT count(*) FROM suppressed WHERE address = 'joe@example.com'") != 0)
		fail("v1", "version 1's view already ignored case: the test proves nothing");
	store_close(s);
	if (store_open(path, NULL, 0, &s, &error) != STORE_OK) {
		fail("v1 reopen", "%s", error);
		free(error);
		free(path);
		return;
	}
	if (one(s, "PRAGMA user_version") != schema_version ||
	    one(s, "SELECT count(*) FROM suppressed WHERE address = 'joe@example.com'") != 1 ||
	    one(s, "SELECT count(*) FROM bounce_events WHERE address = 'JOE@EXAMPLE.COM'") != 1)
		fail("v1 upgraded", "version %lld, rows not found ignoring case",
		    one(s, "PRAGMA user_version"));
	if (one(s, "SELECT count(*) FROM pragma_table_info('messages') WHERE name IN "
	    "('original_from', 'original_to', 'original_subject', 'original_x_tags')") != 4)
		fail("v1 upgraded", "messages lacks the columns of schema 003");
	store_close(s);
	free(path);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_open();
	test_migrations();
	test_duplicates();
	test_views();
	test_upgrade_v1();
	test_busy();
	test_prune();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", dir);
	printf("store tests: %d failures\n", failures);
	return failures != 0;
}
