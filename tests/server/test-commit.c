/* Group commit as a table: each row submits requests back to back on a real libevent loop and
 * a real SQLite file, runs the loop until every request is done, and checks each done call: once
 * per request, in submission order, with its result, and only once what it stored can be read
 * from another connection (the commit came first). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "commit.h"
#include "report.h"
#include "strbuf.h"

/* Seconds a row may take before the test gives up on it (a hung committer). */
#define TEST_TIMEOUT_S	60
/* Requests and entries of one row at most. */
#define ROW_REQUESTS	4
#define ROW_ENTRIES	600

struct row {
	const char *name;
	size_t n[ROW_REQUESTS];		/* entries per request; 0 ends the list */
	bool same_body;			/* every entry of the row is the same message */
	long long messages;		/* rows in messages afterwards */
	size_t duplicates;		/* entries answered as duplicates */
};

static const struct row rows[] = {
	{ "one request of one message", { 1 }, false, 1, 0 },
	{ "three requests submitted together", { 1, 1, 1 }, false, 3, 0 },
	{ "one request of two: the same message twice is stored once", { 2 }, true, 1, 1 },
	{ "a request over COMMIT_BATCH_MAX is committed whole", { ROW_ENTRIES }, false,
	  ROW_ENTRIES, 0 },
	{ "requests around a large one", { 3, ROW_ENTRIES - 10, 4 }, false, ROW_ENTRIES - 3, 0 },
};

static int failures;

/* Removes the database and its -wal and -shm files. */
static void
remove_db(const char *path)
{
	static const char *const sides[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
		struct strbuf p = STRBUF_INIT;
		strbuf_printf(&p, "%s%s", path, sides[i]);
		unlink(p.s);
		strbuf_free(&p);
	}
}

struct run {
	const struct row *row;
	const char *path;
	struct event_base *base;
	struct commit_request req[ROW_REQUESTS];
	size_t nreq;
	size_t done;			/* done calls so far */
	size_t duplicates;
	bool order_ok, visible_ok, rc_ok;
};

/* Messages with the given Message-ID, read on a connection of its own. */
static long long
visible(const char *path, const char *mid)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE message_id = ?1", -1, &st,
	    NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, mid, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

static void
done(struct commit_request *req)
{
	struct run *r = req->ctx;
	if (req != &r->req[r->done])
		r->order_ok = false;
	if (req->rc != STORE_OK)
		r->rc_ok = false;
	for (size_t i = 0; i < req->n; i++) {
		const struct commit_entry *e = &req->entries[i];
		r->duplicates += e->res.duplicate;
		if (req->rc == STORE_OK && (e->res.message_rowid <= 0 || (!e->res.duplicate &&
		    e->res.events != 1)))
			r->rc_ok = false;
		if (visible(r->path, e->rep->message_id) < 1)
			r->visible_ok = false;
	}
	if (++r->done == r->nreq)
		event_base_loopbreak(r->base);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* One message: a hard bounce for rcpt-N@example.com with its own Message-ID and body. */
static void
entry(struct commit_entry *e, unsigned int n, char **body_r)
{
	struct bounce_report *rep = bounce_report_new();
	struct strbuf b = STRBUF_INIT, mid = STRBUF_INIT, addr = STRBUF_INIT;
	strbuf_printf(&mid, "<%u.commit@test>", n);
	strbuf_printf(&addr, "rcpt-%u@example.com", n);
	strbuf_printf(&b, "Message-ID: %s\nSubject: bounce %u\n\nbody\n", mid.s, n);
	rep->kind = KIND_DSN;
	bounce_set(&rep->message_id, mid.s);
	struct bounce_recipient *r = bounce_report_add(rep, addr.s);
	bounce_set(&r->action, "failed");
	r->class_ = CLASS_HARD;
	r->blame = BLAME_RECIPIENT;
	r->reason = REASON_USER_UNKNOWN;
	*body_r = strbuf_detach(&b);
	e->msg = (struct store_msg){ .data = *body_r, .len = strlen(*body_r), .source = "test" };
	e->rep = rep;
	strbuf_free(&mid);
	strbuf_free(&addr);
}

static void
run_row(const struct row *row, const char *path)
{
	struct run r = { .row = row, .path = path, .order_ok = true, .visible_ok = true,
	    .rc_ok = true };
	struct commit_entry *entries[ROW_REQUESTS] = { NULL };
	char **bodies[ROW_REQUESTS] = { NULL };
	struct commit_queue *q = NULL;
	char *error = NULL;
	remove_db(path);
	r.base = event_base_new();
	if (commit_open(r.base, path, NULL, &q, &error) != STORE_OK) {
		printf("FAIL %s: commit_open: %s\n", row->name, error);
		failures++;
		free(error);
		event_base_free(r.base);
		return;
	}
	unsigned int serial = 0;
	for (; r.nreq < ROW_REQUESTS && row->n[r.nreq] != 0; r.nreq++) {
		size_t n = row->n[r.nreq];
		entries[r.nreq] = calloc(n, sizeof **entries);
		bodies[r.nreq] = calloc(n, sizeof **bodies);
		for (size_t i = 0; i < n; i++)
			entry(&entries[r.nreq][i], row->same_body ? 1 : ++serial, &bodies[r.nreq][i]);
		r.req[r.nreq] = (struct commit_request){ .entries = entries[r.nreq], .n = n,
		    .done = done, .ctx = &r };
	}
	for (size_t i = 0; i < r.nreq; i++)
		commit_submit(q, &r.req[i]);
	if (r.done != 0) {
		printf("FAIL %s: done called from inside commit_submit\n", row->name);
		failures++;
	}
	struct timeval limit = { TEST_TIMEOUT_S, 0 };
	struct event *t = evtimer_new(r.base, on_timeout, r.base);
	evtimer_add(t, &limit);
	event_base_dispatch(r.base);
	event_free(t);
	commit_close(q);
	sqlite3 *db;
	sqlite3_stmt *st;
	long long messages = -1;
	if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db,
	    "SELECT count(*) FROM messages", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			messages = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	if (r.done != r.nreq || !r.order_ok || !r.rc_ok || !r.visible_ok ||
	    r.duplicates != row->duplicates || messages != row->messages) {
		printf("FAIL %s: %zu of %zu done, order %s, results %s, visible before done %s, "
		    "%zu duplicates (want %zu), %lld messages (want %lld)\n", row->name, r.done,
		    r.nreq, r.order_ok ? "ok" : "wrong", r.rc_ok ? "ok" : "wrong",
		    r.visible_ok ? "yes" : "no", r.duplicates, row->duplicates, messages,
		    row->messages);
		failures++;
	}
	for (size_t k = 0; k < r.nreq; k++) {
		for (size_t i = 0; i < row->n[k]; i++) {
			bounce_report_free((struct bounce_report *)entries[k][i].rep);
			free(bodies[k][i]);
		}
		free(entries[k]);
		free(bodies[k]);
	}
	event_base_free(r.base);
}

/* Requests still queued when the queue closes are dropped: their done is never called. */
static void
close_drops(const char *path)
{
	remove_db(path);
	struct event_base *base = event_base_new();
	struct commit_queue *q = NULL;
	char *error = NULL;
	if (commit_open(base, path, NULL, &q, &error) != STORE_OK) {
		printf("FAIL close: commit_open: %s\n", error);
		failures++;
		free(error);
		event_base_free(base);
		return;
	}
	struct run r = { .base = base, .path = path, .nreq = 1 };
	struct commit_entry e;
	char *body;
	entry(&e, 1, &body);
	r.req[0] = (struct commit_request){ .entries = &e, .n = 1, .done = done, .ctx = &r };
	commit_submit(q, &r.req[0]);
	commit_close(q);	/* the loop never ran */
	if (r.done != 0) {
		printf("FAIL close: done called %zu times after commit_close\n", r.done);
		failures++;
	}
	bounce_report_free((struct bounce_report *)e.rep);
	free(body);
	event_base_free(base);
}

int
main(void)
{
	char dir[] = "/tmp/bounced-commit-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	struct strbuf path = STRBUF_INIT;
	strbuf_printf(&path, "%s/commit.db", dir);
	size_t n = sizeof rows / sizeof rows[0];
	for (size_t i = 0; i < n; i++)
		run_row(&rows[i], path.s);
	close_drops(path.s);
	remove_db(path.s);
	rmdir(dir);
	strbuf_free(&path);
	printf("%zu rows, %d failures\n", n + 1, failures);
	return failures != 0;
}
