/* The suppression policy of DESIGN.md as tables: each scenario is a sequence of events and
 * manual changes over simulated days, with the state expected after each step. A fresh database
 * per scenario; the store's clock is set to the simulated time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "report.h"
#include "store.h"
#include "strbuf.h"

/* 2026-01-01T00:00:00Z: day 0 of every scenario. */
#define T0	1767225600LL
#define HOUR	3600LL
#define DAY	86400LL

enum op {
	END = 0,
	EV,		/* a bounce for addr: class, blame, action, verp; expect effect */
	REMOVE,		/* suppress remove addr; expect ok (removed) */
	ADD,		/* suppress add addr */
	CHECK,		/* addr suppressed as type (NULL: not suppressed), soft score */
};

enum verp { NO_VERP, VERP_OK, VERP_BAD };

struct step {
	enum op op;
	double day;		/* days after T0, hours as fractions */
	const char *addr;
	enum bounce_class cls;
	enum bounce_blame blame;
	const char *action;
	enum verp verp;
	const char *want;	/* EV: events.effect; CHECK: suppression type or NULL */
	int score;		/* CHECK: soft score, -1 = not checked, 0 = no row */
	double expires;		/* CHECK: expiry day of a soft suppression, 0 = not checked */
};

struct scenario {
	const char *name;
	unsigned int threshold;	/* 0 = default */
	bool hard_off, complaint_off;	/* suppress_hard = no, suppress_complaint = no */
	bool soft_off;			/* soft_threshold = 0 */
	struct step steps[24];
};

#define H(d, a)		{ EV, d, a, CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "suppressed", 0, 0 }
#define S(d, a, eff)	{ EV, d, a, CLASS_SOFT, BLAME_RECIPIENT, "failed", NO_VERP, eff, 0, 0 }
#define CK(d, a, t, sc)	{ CHECK, d, a, 0, 0, NULL, NO_VERP, t, sc, 0 }

static const struct scenario scenarios[] = {
	{ "hard suppresses at once", 0, false, false, false, {
		H(0, "joe@example.com"),
		CK(0.1, "joe@example.com", "hard", 0),
		CK(400, "joe@example.com", "hard", 0),	/* never expires */
		{ EV, 1, "joe@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "kept", 0, 0 },
	} },
	{ "hard blamed on the sender does not suppress", 0, false, false, false, {
		{ EV, 0, "a@example.com", CLASS_HARD, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0 },
		CK(0.1, "a@example.com", NULL, 0),
	} },
	{ "complaint suppresses at once", 0, false, false, false, {
		{ EV, 0, "c@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "suppressed", 0, 0 },
		CK(0.1, "c@example.com", "complaint", 0),
	} },
	{ "soft: one point a day at most", 0, false, false, false, {
		S(0, "s@example.com", "scored"),
		S(0.2, "s@example.com", "duplicate-day"),
		S(0.3, "s@example.com", "duplicate-day"),
		S(0.4, "s@example.com", "duplicate-day"),
		S(0.5, "s@example.com", "duplicate-day"),
		S(0.6, "s@example.com", "duplicate-day"),
		CK(0.7, "s@example.com", NULL, 1),
		S(1, "s@example.com", "scored"),
		CK(1.1, "s@example.com", NULL, 2),
	} },
	{ "soft: five days suppress for thirty days", 0, false, false, false, {
		S(0, "s@example.com", "scored"),
		S(1, "s@example.com", "scored"),
		S(2, "s@example.com", "scored"),
		S(3, "s@example.com", "scored"),
		CK(3.1, "s@example.com", NULL, 4),
		S(4, "s@example.com", "suppressed"),
		{ CHECK, 4.1, "s@example.com", 0, 0, NULL, NO_VERP, "soft", 5, 34 },
		CK(33.9, "s@example.com", "soft", 5),
		CK(34.0, "s@example.com", NULL, 5),	/* expired by itself */
		S(40, "s@example.com", "scored"),	/* quiet since day 4: starts again */
		CK(40.1, "s@example.com", NULL, 1),
	} },
	{ "soft: the score restarts after seven quiet days", 0, false, false, false, {
		S(0, "r@example.com", "scored"),
		S(1, "r@example.com", "scored"),
		S(2, "r@example.com", "scored"),
		S(3, "r@example.com", "scored"),
		S(11, "r@example.com", "scored"),	/* 8 days after the last: restart */
		CK(11.1, "r@example.com", NULL, 1),
		S(12, "r@example.com", "scored"),
		S(13, "r@example.com", "scored"),
		S(14, "r@example.com", "scored"),
		S(15, "r@example.com", "suppressed"),
		CK(15.1, "r@example.com", "soft", 5),
	} },
	{ "soft: exactly seven days apart still counts", 0, false, false, false, {
		S(0, "q@example.com", "scored"),
		S(1, "q@example.com", "scored"),
		S(2, "q@example.com", "scored"),
		S(3, "q@example.com", "scored"),
		S(10, "q@example.com", "suppressed"),
		CK(10.1, "q@example.com", "soft", 5),
	} },
	{ "soft blamed on sender, network or unknown never suppresses", 0, false, false, false, {
		{ EV, 0, "n@example.com", CLASS_SOFT, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0 },
		{ EV, 1, "n@example.com", CLASS_SOFT, BLAME_NETWORK, "failed", NO_VERP, "none", 0, 0 },
		{ EV, 2, "n@example.com", CLASS_SOFT, BLAME_UNKNOWN, "failed", NO_VERP, "none", 0, 0 },
		{ EV, 3, "n@example.com", CLASS_SOFT, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0 },
		{ EV, 4, "n@example.com", CLASS_SOFT, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0 },
		{ EV, 5, "n@example.com", CLASS_SOFT, BLAME_NETWORK, "failed", NO_VERP, "none", 0, 0 },
		CK(5.1, "n@example.com", NULL, 0),
	} },
	{ "delays, auto-replies and delivered reports never suppress", 0, false, false, false, {
		{ EV, 0, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0 },
		{ EV, 1, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0 },
		{ EV, 2, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0 },
		{ EV, 3, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0 },
		{ EV, 4, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0 },
		{ EV, 5, "d@example.com", CLASS_AUTOREPLY, BLAME_NONE, "", NO_VERP, "none", 0, 0 },
		{ EV, 6, "d@example.com", CLASS_NONE, BLAME_NONE, "delivered", NO_VERP, "none", 0, 0 },
		CK(6.1, "d@example.com", NULL, 0),
	} },
	{ "an unverified VERP acts on nothing", 0, false, false, false, {
		{ EV, 0, "v@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", VERP_BAD, "unverified", 0, 0 },
		{ EV, 0, "w@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", VERP_BAD, "unverified", 0, 0 },
		CK(0.1, "v@example.com", NULL, 0),
		CK(0.1, "w@example.com", NULL, 0),
		{ EV, 1, "v@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", VERP_OK, "suppressed", 0, 0 },
		CK(1.1, "v@example.com", "hard", 0),
	} },
	{ "remove lifts; only a newer event suppresses again", 0, false, false, false, {
		H(0, "l@example.com"),
		{ REMOVE, 1, "l@example.com", 0, 0, NULL, NO_VERP, NULL, 0, 0 },
		CK(1.1, "l@example.com", NULL, 0),
		/* A bounce received before the lift (a late IMAP fetch) does not suppress. */
		{ EV, 0.5, "l@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "after-lift", 0, 0 },
		CK(1.2, "l@example.com", NULL, 0),
		H(2, "l@example.com"),
		CK(2.1, "l@example.com", "hard", 0),
	} },
	{ "remove restarts the soft score", 0, false, false, false, {
		S(0, "k@example.com", "scored"),
		S(1, "k@example.com", "scored"),
		S(2, "k@example.com", "scored"),
		S(3, "k@example.com", "scored"),
		S(4, "k@example.com", "suppressed"),
		{ REMOVE, 4.5, "k@example.com", 0, 0, NULL, NO_VERP, NULL, 0, 0 },
		CK(4.6, "k@example.com", NULL, 0),
		S(5, "k@example.com", "scored"),
		CK(5.1, "k@example.com", NULL, 1),
	} },
	{ "manual stays manual; soft gives way to hard", 0, false, false, false, {
		{ ADD, 0, "m@example.com", 0, 0, NULL, NO_VERP, NULL, 0, 0 },
		CK(0.1, "m@example.com", "manual", 0),
		{ EV, 1, "m@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "kept", 0, 0 },
		CK(1.1, "m@example.com", "manual", 0),
		S(0, "u@example.com", "scored"),
		S(1, "u@example.com", "scored"),
		S(2, "u@example.com", "scored"),
		S(3, "u@example.com", "scored"),
		S(4, "u@example.com", "suppressed"),
		{ EV, 5, "u@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "suppressed", 0, 0 },
		CK(40, "u@example.com", "complaint", -1),
	} },
	{ "check ignores case, as the view suppressed does (schema 002)", 0, false, false, false, {
		H(0, "Joe@Example.COM"),
		CK(0.1, "Joe@example.com", "hard", 0),
		CK(0.1, "<Joe@EXAMPLE.com>", "hard", 0),
		CK(0.1, "joe@example.com", "hard", 0),
		CK(0.1, "joe@example.net", NULL, 0),
	} },
	{ "a report without a usable address acts on nothing", 0, false, false, false, {
		{ EV, 0, "", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "not-an-address", 0, 0 },
		{ EV, 0, "postmaster", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "not-an-address", 0, 0 },
		{ EV, 0, "@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "not-an-address", 0, 0 },
		{ EV, 0, "joe@", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "not-an-address", 0, 0 },
		CK(0.1, "postmaster", NULL, 0),
	} },
	{ "suppress_hard and suppress_complaint off", 0, true, true, false, {
		{ EV, 0, "h@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "none", 0, 0 },
		{ EV, 0, "c@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "none", 0, 0 },
		CK(0.1, "h@example.com", NULL, 0),
		CK(0.1, "c@example.com", NULL, 0),
	} },
	{ "soft_threshold 0 turns soft suppression off", 0, false, false, true, {
		S(0, "z@example.com", "none"),
		S(1, "z@example.com", "none"),
		CK(1.1, "z@example.com", NULL, 0),
	} },
	{ "soft_threshold 3", 3, false, false, false, {
		S(0, "t@example.com", "scored"),
		S(1, "t@example.com", "scored"),
		S(2, "t@example.com", "suppressed"),
		CK(2.1, "t@example.com", "soft", 3),
	} },
};

static int failures;

static void failf(const char *scenario, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
failf(const char *scenario, size_t i, const char *fmt, ...)
{
	va_list ap;
	printf("FAIL %s, step %zu: ", scenario, i + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures++;
}

static const char *
str_or_null(const char *s)
{
	return s != NULL ? s : "(not suppressed)";
}

static int64_t
at(double day)
{
	return T0 + (int64_t)(day * (double)DAY);
}

/* The soft score of key, 0 when there is no row. */
static long long
score_of(struct store *s, const char *addr)
{
	char *key = store_address_key(addr);
	sqlite3_stmt *st;
	long long v = 0;
	if (sqlite3_prepare_v2(store_sqlite(s), "SELECT score FROM soft_scores WHERE address_key = ?",
	    -1, &st, NULL) != SQLITE_OK)
		abort();
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	free(key);
	return v;
}

/* The effect recorded for the newest event. */
static char *
last_effect(struct store *s)
{
	sqlite3_stmt *st;
	char *v = NULL;
	if (sqlite3_prepare_v2(store_sqlite(s), "SELECT effect FROM events ORDER BY id DESC LIMIT 1",
	    -1, &st, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(st) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void
event(struct store *s, const struct scenario *sc, size_t i, unsigned int serial)
{
	const struct step *st = &sc->steps[i];
	struct bounce_report *rep = bounce_report_new();
	char mid[64], body[128];
	snprintf(mid, sizeof mid, "<%u.policy@test>", serial);
	snprintf(body, sizeof body, "Message-ID: %s\n\nbounce %u\n", mid, serial);
	rep->kind = st->cls == CLASS_COMPLAINT ? KIND_ARF : KIND_DSN;
	bounce_set(&rep->message_id, mid);
	if (st->verp != NO_VERP) {
		rep->verp_present = true;
		rep->verp_verified = st->verp == VERP_OK;
		bounce_set(&rep->verp_address, st->addr);
	}
	struct bounce_recipient *r = bounce_report_add(rep, st->addr);
	bounce_set(&r->action, st->action);
	r->class_ = st->cls;
	r->blame = st->blame;
	r->reason = st->cls == CLASS_HARD ? REASON_USER_UNKNOWN :
	    st->cls == CLASS_COMPLAINT ? REASON_COMPLAINT :
	    st->cls == CLASS_AUTOREPLY ? REASON_AUTO_REPLY :
	    st->cls == CLASS_NONE ? REASON_DELIVERED :
	    st->blame == BLAME_RECIPIENT ? REASON_MAILBOX_FULL : REASON_BLOCKED;
	struct store_msg m = { .data = body, .len = strlen(body), .source = "test",
	    .received_at = at(st->day) };
	struct store_add_result res;
	char *error = NULL;
	store_set_now(s, at(st->day));
	if (store_begin(s, &error) != STORE_OK || store_add(s, &m, rep, &res, &error) != STORE_OK ||
	    store_commit(s, &error) != STORE_OK) {
		failf(sc->name, i, "store: %s", error);
		free(error);
	} else {
		char *eff = last_effect(s);
		if (res.duplicate || res.events != 1 || eff == NULL || strcmp(eff, st->want) != 0)
			failf(sc->name, i, "effect %s, want %s", eff != NULL ? eff : "(none)", st->want);
		bool newly = strcmp(st->want, "suppressed") == 0;
		if (res.suppressed != (size_t)newly)
			failf(sc->name, i, "suppressed count %zu (effect %s)", res.suppressed, st->want);
		free(eff);
	}
	bounce_report_free(rep);
}

static void
check(struct store *s, const struct scenario *sc, size_t i)
{
	const struct step *st = &sc->steps[i];
	bool found;
	struct store_suppression sup = { 0 };
	char *error = NULL;
	store_set_now(s, at(st->day));
	if (store_check(s, st->addr, &found, &sup, &error) != STORE_OK) {
		failf(sc->name, i, "check: %s", error);
		free(error);
		return;
	}
	const char *got = found ? sup.type : NULL;
	if ((got == NULL) != (st->want == NULL) || (got != NULL && strcmp(got, st->want) != 0))
		failf(sc->name, i, "%s is %s", st->addr, str_or_null(got));
	if (st->score >= 0 && score_of(s, st->addr) != st->score) {
		failf(sc->name, i, "score %lld, want %d", score_of(s, st->addr), st->score);
	}
	if (st->expires != 0 && (!found || sup.expires_at != at(st->expires))) {
		failf(sc->name, i, "expires_at %lld, want %lld", (long long)sup.expires_at,
		    (long long)at(st->expires));
	}
	store_suppression_clear(&sup);
}

static void
manual(struct store *s, const struct scenario *sc, size_t i)
{
	const struct step *st = &sc->steps[i];
	bool done = false;
	char *error = NULL;
	store_set_now(s, at(st->day));
	int rc = st->op == ADD ?
	    store_suppress_add(s, st->addr, "asked by the owner", "test", &done, &error) :
	    store_suppress_remove(s, st->addr, "test", &done, &error);
	if (rc != STORE_OK || !done) {
		failf(sc->name, i, "manual change failed: %s", error != NULL ? error : "no change");
		free(error);
	}
}

static void
run(const struct scenario *sc, const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/policy.db", dir);
	unlink(path);
	struct config cfg;
	config_defaults(&cfg);
	if (sc->threshold != 0)
		cfg.soft_threshold = sc->threshold;
	if (sc->soft_off)
		cfg.soft_threshold = 0;
	cfg.suppress_hard = !sc->hard_off;
	cfg.suppress_complaint = !sc->complaint_off;
	struct store *s;
	char *error = NULL;
	if (store_open(path, &cfg, STORE_OPEN_CREATE, &s, &error) != STORE_OK) {
		printf("FAIL %s: open: %s\n", sc->name, error);
		exit(1);
	}
	config_free(&cfg);
	static unsigned int serial;
	for (size_t i = 0; i < sizeof sc->steps / sizeof sc->steps[0] && sc->steps[i].op != END; i++) {
		switch (sc->steps[i].op) {
		case EV: event(s, sc, i, ++serial); break;
		case CHECK: check(s, sc, i); break;
		case ADD:
		case REMOVE: manual(s, sc, i); break;
		case END: break;
		}
	}
	store_close(s);
	char side[600];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

int
main(void)
{
	char dir[] = "/tmp/bounced-policy-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	size_t n = sizeof scenarios / sizeof scenarios[0];
	for (size_t i = 0; i < n; i++)
		run(&scenarios[i], dir);
	rmdir(dir);
	printf("%zu scenarios, %d failures\n", n, failures);
	return failures != 0;
}
