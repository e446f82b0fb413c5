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
	EV,		/* a bounce for addr: class, blame, action, verp, date; expect effect */
	REMOVE,		/* suppress remove addr; expect ok (removed) and one audit row */
	ADD,		/* suppress add addr; expect want (below) and one audit row */
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
	/* EV: events.effect; CHECK: suppression type or NULL; ADD: "added", or "replaced T" /
	 * "kept T" with T the type that was there */
	const char *want;
	int score;		/* CHECK: soft score, -1 = not checked, 0 = no row */
	double expires;		/* CHECK: expiry day of a soft suppression, 0 = not checked */
	const char *date;	/* EV: the bounce's Date header, NULL = none */
	const char *last_attempt;	/* EV: the recipient's DSN Last-Attempt-Date, NULL = none */
};

struct scenario {
	const char *name;
	unsigned int threshold;	/* 0 = default */
	bool hard_off, complaint_off;	/* suppress_hard = no, suppress_complaint = no */
	bool soft_off;			/* soft_threshold = 0 */
	unsigned int reset_days, suppress_days;	/* soft_reset_days, soft_suppress_days; 0 = default */
	struct step steps[32];
};

#define H(d, a)		{ EV, d, a, CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "suppressed", 0, 0, NULL, NULL }
#define S(d, a, eff)	{ EV, d, a, CLASS_SOFT, BLAME_RECIPIENT, "failed", NO_VERP, eff, 0, 0, NULL, NULL }
#define CK(d, a, t, sc)	{ CHECK, d, a, 0, 0, NULL, NO_VERP, t, sc, 0, NULL, NULL }
/* A hard bounce taken in on day d whose report is dated date (Date header). */
#define HD(d, a, dt, eff)	{ .op = EV, .day = d, .addr = a, .cls = CLASS_HARD, \
	.blame = BLAME_RECIPIENT, .action = "failed", .want = eff, .date = dt }
#define RM(d, a)	{ .op = REMOVE, .day = d, .addr = a }
#define AD(d, a, w)	{ .op = ADD, .day = d, .addr = a, .want = w }

static const struct scenario scenarios[] = {
	{ "hard suppresses at once", 0, false, false, false, 0, 0, {
		H(0, "joe@example.com"),
		CK(0.1, "joe@example.com", "hard", 0),
		CK(400, "joe@example.com", "hard", 0),	/* never expires */
		{ EV, 1, "joe@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "kept", 0, 0, NULL, NULL },
	} },
	{ "hard blamed on the sender does not suppress", 0, false, false, false, 0, 0, {
		{ EV, 0, "a@example.com", CLASS_HARD, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		CK(0.1, "a@example.com", NULL, 0),
	} },
	{ "complaint suppresses at once", 0, false, false, false, 0, 0, {
		{ EV, 0, "c@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "suppressed", 0, 0, NULL, NULL },
		CK(0.1, "c@example.com", "complaint", 0),
	} },
	{ "soft: one point a day at most", 0, false, false, false, 0, 0, {
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
	{ "soft: five days suppress for thirty days", 0, false, false, false, 0, 0, {
		S(0, "s@example.com", "scored"),
		S(1, "s@example.com", "scored"),
		S(2, "s@example.com", "scored"),
		S(3, "s@example.com", "scored"),
		CK(3.1, "s@example.com", NULL, 4),
		S(4, "s@example.com", "suppressed"),
		{ CHECK, 4.1, "s@example.com", 0, 0, NULL, NO_VERP, "soft", 5, 34, NULL, NULL },
		CK(33.9, "s@example.com", "soft", 5),
		CK(34.0, "s@example.com", NULL, 5),	/* expired by itself */
		S(40, "s@example.com", "scored"),	/* quiet since day 4: starts again */
		CK(40.1, "s@example.com", NULL, 1),
	} },
	{ "soft: the score restarts after seven quiet days", 0, false, false, false, 0, 0, {
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
	{ "soft: exactly seven days apart still counts", 0, false, false, false, 0, 0, {
		S(0, "q@example.com", "scored"),
		S(1, "q@example.com", "scored"),
		S(2, "q@example.com", "scored"),
		S(3, "q@example.com", "scored"),
		S(10, "q@example.com", "suppressed"),
		CK(10.1, "q@example.com", "soft", 5),
	} },
	{ "soft blamed on sender, network or unknown never suppresses", 0, false, false, false, 0, 0, {
		{ EV, 0, "n@example.com", CLASS_SOFT, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 1, "n@example.com", CLASS_SOFT, BLAME_NETWORK, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 2, "n@example.com", CLASS_SOFT, BLAME_UNKNOWN, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 3, "n@example.com", CLASS_SOFT, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 4, "n@example.com", CLASS_SOFT, BLAME_SENDER, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 5, "n@example.com", CLASS_SOFT, BLAME_NETWORK, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		CK(5.1, "n@example.com", NULL, 0),
	} },
	{ "delays, auto-replies and delivered reports never suppress", 0, false, false, false, 0, 0, {
		{ EV, 0, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 1, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 2, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 3, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 4, "d@example.com", CLASS_SOFT, BLAME_RECIPIENT, "delayed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 5, "d@example.com", CLASS_AUTOREPLY, BLAME_NONE, "", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 6, "d@example.com", CLASS_NONE, BLAME_NONE, "delivered", NO_VERP, "none", 0, 0, NULL, NULL },
		CK(6.1, "d@example.com", NULL, 0),
	} },
	{ "an unverified VERP acts on nothing", 0, false, false, false, 0, 0, {
		{ EV, 0, "v@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", VERP_BAD, "unverified", 0, 0, NULL, NULL },
		{ EV, 0, "w@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", VERP_BAD, "unverified", 0, 0, NULL, NULL },
		CK(0.1, "v@example.com", NULL, 0),
		CK(0.1, "w@example.com", NULL, 0),
		{ EV, 1, "v@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", VERP_OK, "suppressed", 0, 0, NULL, NULL },
		CK(1.1, "v@example.com", "hard", 0),
	} },
	{ "remove lifts; only a newer event suppresses again", 0, false, false, false, 0, 0, {
		H(0, "l@example.com"),
		RM(1, "l@example.com"),
		CK(1.1, "l@example.com", NULL, 0),
		/* A bounce written before the lift, fetched late from a mailbox, does not suppress. */
		HD(1.1, "l@example.com", "Thu, 01 Jan 2026 12:00:00 +0000", "after-lift"),
		CK(1.2, "l@example.com", NULL, 0),
		H(2, "l@example.com"),
		CK(2.1, "l@example.com", "hard", 0),
	} },
	{ "remove restarts the soft score", 0, false, false, false, 0, 0, {
		S(0, "k@example.com", "scored"),
		S(1, "k@example.com", "scored"),
		S(2, "k@example.com", "scored"),
		S(3, "k@example.com", "scored"),
		S(4, "k@example.com", "suppressed"),
		RM(4.5, "k@example.com"),
		CK(4.6, "k@example.com", NULL, 0),
		S(5, "k@example.com", "scored"),
		CK(5.1, "k@example.com", NULL, 1),
	} },
	{ "manual stays manual; soft gives way to hard", 0, false, false, false, 0, 0, {
		AD(0, "m@example.com", "added"),
		CK(0.1, "m@example.com", "manual", 0),
		{ EV, 1, "m@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "kept", 0, 0, NULL, NULL },
		CK(1.1, "m@example.com", "manual", 0),
		S(0, "u@example.com", "scored"),
		S(1, "u@example.com", "scored"),
		S(2, "u@example.com", "scored"),
		S(3, "u@example.com", "scored"),
		S(4, "u@example.com", "suppressed"),
		{ EV, 5, "u@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "suppressed", 0, 0, NULL, NULL },
		CK(40, "u@example.com", "complaint", -1),
	} },
	{ "check ignores case, as the view suppressed does (schema 002)", 0, false, false, false, 0, 0, {
		H(0, "Joe@Example.COM"),
		CK(0.1, "Joe@example.com", "hard", 0),
		CK(0.1, "<Joe@EXAMPLE.com>", "hard", 0),
		CK(0.1, "joe@example.com", "hard", 0),
		CK(0.1, "joe@example.net", NULL, 0),
		/* An internationalised domain is lowered in UTF-8, as the parsers print it. */
		H(0, "j\xc3\xb6rg@B\xc3\x9c" "CHER.example"),
		CK(0.1, "j\xc3\xb6rg@b\xc3\xbc" "cher.example", "hard", 0),
		CK(0.1, "J\xc3\xb6rg@B\xc3\x9c" "cher.Example", "hard", 0),
	} },
	{ "a report without a usable address acts on nothing", 0, false, false, false, 0, 0, {
		{ EV, 0, "", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "not-an-address", 0, 0, NULL, NULL },
		{ EV, 0, "postmaster", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "not-an-address", 0, 0, NULL, NULL },
		{ EV, 0, "@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "not-an-address", 0, 0, NULL, NULL },
		{ EV, 0, "joe@", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "not-an-address", 0, 0, NULL, NULL },
		CK(0.1, "postmaster", NULL, 0),
	} },
	{ "suppress_hard and suppress_complaint off", 0, true, true, false, 0, 0, {
		{ EV, 0, "h@example.com", CLASS_HARD, BLAME_RECIPIENT, "failed", NO_VERP, "none", 0, 0, NULL, NULL },
		{ EV, 0, "c@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "none", 0, 0, NULL, NULL },
		CK(0.1, "h@example.com", NULL, 0),
		CK(0.1, "c@example.com", NULL, 0),
	} },
	{ "soft_threshold 0 turns soft suppression off", 0, false, false, true, 0, 0, {
		S(0, "z@example.com", "none"),
		S(1, "z@example.com", "none"),
		CK(1.1, "z@example.com", NULL, 0),
	} },
	{ "soft_threshold 3", 3, false, false, false, 0, 0, {
		S(0, "t@example.com", "scored"),
		S(1, "t@example.com", "scored"),
		S(2, "t@example.com", "suppressed"),
		CK(2.1, "t@example.com", "soft", 3),
	} },
	/* An operator's block must outlast a soft suppression; permanent types stay. */
	{ "manual add replaces soft; keeps hard, complaint and manual; audits each", 0, false, false,
	    false, 0, 0, {
		S(0, "s@example.com", "scored"),
		S(1, "s@example.com", "scored"),
		S(2, "s@example.com", "scored"),
		S(3, "s@example.com", "scored"),
		S(4, "s@example.com", "suppressed"),
		AD(5, "s@example.com", "replaced soft"),
		CK(5.1, "s@example.com", "manual", 5),
		CK(40, "s@example.com", "manual", 5),	/* the soft one would have expired on day 34 */
		S(41, "s@example.com", "scored"),	/* still scored: a remove restarts from it */
		H(0, "h@example.com"),
		AD(1, "h@example.com", "kept hard"),
		CK(1.1, "h@example.com", "hard", 0),
		{ EV, 0, "c@example.com", CLASS_COMPLAINT, BLAME_RECIPIENT, "", NO_VERP, "suppressed", 0, 0, NULL, NULL },
		AD(1, "c@example.com", "kept complaint"),
		CK(1.1, "c@example.com", "complaint", 0),
		AD(0, "m@example.com", "added"),
		AD(1, "m@example.com", "kept manual"),
		/* remove lifts whatever is there: no second layer was kept under it. */
		RM(2, "h@example.com"),
		CK(2.1, "h@example.com", NULL, 0),
		RM(42, "s@example.com"),
		CK(42.1, "s@example.com", NULL, 0),
		/* An expired soft suppression is no suppression: the add is a plain one. */
		S(0, "x@example.com", "scored"),
		S(1, "x@example.com", "scored"),
		S(2, "x@example.com", "scored"),
		S(3, "x@example.com", "scored"),
		S(4, "x@example.com", "suppressed"),
		AD(34, "x@example.com", "added"),
		CK(100, "x@example.com", "manual", 5),
	} },
	/* The lift is compared with when the failure happened, not with when bounced
	 * took the report in. Each address: hard on day 0, removed on day 1 (2026-01-02 00:00Z),
	 * another bounce taken in on day 1.1. */
	{ "the lift is compared with the report's own date", 0, false, false, false, 0, 0, {
		H(0, "a@example.com"), RM(1, "a@example.com"),
		HD(1.1, "a@example.com", "Thu, 01 Jan 2026 21:36:00 +0000", "after-lift"),
		CK(1.2, "a@example.com", NULL, 0),
		/* 01:00 at +0200 is 23:00 the day before in UTC. */
		H(0, "z@example.com"), RM(1, "z@example.com"),
		HD(1.1, "z@example.com", "Fri, 2 Jan 2026 01:00:00 +0200", "after-lift"),
		/* Two-digit year (RFC 5322 4.3: 26 is 2026). */
		H(0, "y@example.com"), RM(1, "y@example.com"),
		HD(1.1, "y@example.com", "1 Jan 26 21:36 GMT", "after-lift"),
		/* The lift holds for every spelling remove lifted (review): a late bounce for a
		 * case variant, dated before the lift, does not suppress again. */
		H(0, "Late@example.com"), RM(1, "late@example.com"),
		HD(1.1, "LATE@example.com", "Thu, 01 Jan 2026 21:36:00 +0000", "after-lift"),
		CK(1.2, "late@example.com", NULL, 0),
		HD(1.3, "late@Example.com", "Fri, 02 Jan 2026 06:00:00 +0000", "suppressed"),
		CK(1.4, "Late@example.com", "hard", 0),
		/* Written after the lift: suppresses again. */
		H(0, "b@example.com"), RM(1, "b@example.com"),
		HD(1.1, "b@example.com", "Fri, 02 Jan 2026 01:12:00 +0000", "suppressed"),
		CK(1.2, "b@example.com", "hard", 0),
		/* Dated in the future past the skew (a wrong clock), or a year before it was taken
		 * in, or not a date: when it was taken in counts, after the lift. */
		H(0, "f@example.com"), RM(1, "f@example.com"),
		HD(1.1, "f@example.com", "Mon, 05 Jan 2026 00:00:00 +0000", "suppressed"),
		H(0, "o@example.com"), RM(1, "o@example.com"),
		HD(1.1, "o@example.com", "Wed, 01 Jan 2025 00:00:00 +0000", "suppressed"),
		H(0, "g@example.com"), RM(1, "g@example.com"),
		HD(1.1, "g@example.com", "yesterday", "suppressed"),
		/* The recipient's Last-Attempt-Date beats the report's Date (a queue that gave up
		 * after the lift, on an attempt made before it). */
		H(0, "q@example.com"), RM(1, "q@example.com"),
		{ .op = EV, .day = 1.1, .addr = "q@example.com", .cls = CLASS_HARD,
		  .blame = BLAME_RECIPIENT, .action = "failed", .want = "after-lift",
		  .date = "Fri, 02 Jan 2026 02:00:00 +0000",
		  .last_attempt = "Thu, 01 Jan 2026 23:00:00 +0000" },
	} },
	{ "a soft bounce written before the lift does not score", 0, false, false, false, 0, 0, {
		S(0, "k@example.com", "scored"),
		S(1, "k@example.com", "scored"),
		S(2, "k@example.com", "scored"),
		S(3, "k@example.com", "scored"),
		S(4, "k@example.com", "suppressed"),
		RM(5, "k@example.com"),
		{ .op = EV, .day = 5.5, .addr = "k@example.com", .cls = CLASS_SOFT,
		  .blame = BLAME_RECIPIENT, .action = "failed", .want = "after-lift",
		  .date = "Mon, 5 Jan 2026 18:00:00 +0000" },
		CK(5.6, "k@example.com", NULL, 0),
		S(6, "k@example.com", "scored"),
		CK(6.1, "k@example.com", NULL, 1),
	} },
	/* One point per UTC calendar day, kept (bounced.conf(5) says why). */
	{ "soft: a point per UTC calendar day", 0, false, false, false, 0, 0, {
		S(0.998, "m@example.com", "scored"),	/* 23:57 */
		S(1.002, "m@example.com", "scored"),	/* 00:03 the next day */
		CK(1.1, "m@example.com", NULL, 2),
		/* A daily mailing whose bounce comes a little earlier each day scores daily. */
		S(0.40, "d@example.com", "scored"),
		S(1.37, "d@example.com", "scored"),
		S(2.35, "d@example.com", "scored"),
		S(3.33, "d@example.com", "scored"),
		S(4.30, "d@example.com", "suppressed"),
	} },
	/* soft_reset_days and soft_suppress_days at non-default values. */
	{ "soft_reset_days 3", 0, false, false, false, 3, 0, {
		S(0, "r@example.com", "scored"),
		S(1, "r@example.com", "scored"),
		S(4, "r@example.com", "scored"),	/* exactly 3 days: still counts */
		CK(4.1, "r@example.com", NULL, 3),
		S(7.5, "r@example.com", "scored"),	/* 3.5 quiet days: starts again */
		CK(7.6, "r@example.com", NULL, 1),
	} },
	{ "soft_suppress_days 10", 0, false, false, false, 0, 10, {
		S(0, "e@example.com", "scored"),
		S(1, "e@example.com", "scored"),
		S(2, "e@example.com", "scored"),
		S(3, "e@example.com", "scored"),
		S(4, "e@example.com", "suppressed"),
		{ CHECK, 4.1, "e@example.com", 0, 0, NULL, NO_VERP, "soft", 5, 14, NULL, NULL },
		CK(13.9, "e@example.com", "soft", 5),
		CK(14, "e@example.com", NULL, 5),
	} },
	{ "soft_threshold 2, soft_reset_days 1, soft_suppress_days 1", 2, false, false, false, 1, 1, {
		S(0, "w@example.com", "scored"),
		S(2.5, "w@example.com", "scored"),	/* 2.5 quiet days: starts again */
		CK(2.6, "w@example.com", NULL, 1),
		S(3, "w@example.com", "suppressed"),
		{ CHECK, 3.1, "w@example.com", 0, 0, NULL, NO_VERP, "soft", 2, 4, NULL, NULL },
		CK(4, "w@example.com", NULL, 2),
	} },
};

static int failures;

/* store_date_parse: text -> unix seconds, or -1 when it is not a date. */
static const struct {
	const char *text;
	long long want;
} dates[] = {
	{ "Thu, 01 Jan 2026 00:00:00 +0000", T0 },
	{ "Thu, 1 Jan 2026 00:00:00 GMT", T0 },
	{ "1 Jan 2026 00:00 -0000", T0 },			/* no day name, no seconds */
	{ "Thu, 01 Jan 2026 01:30:00 +0130", T0 },
	{ "Wed, 31 Dec 2025 19:00:00 -0500", T0 },
	{ "Wed, 31 Dec 2025 19:00:00 EST", T0 },		/* obsolete zone name */
	{ "Thu, 01 Jan 2026 00:00:00 +0000 (UTC)", T0 },	/* trailing comment */
	{ "Thu, 1 Jan 26 00:00:00 +0000", T0 },			/* two-digit year < 50: 20xx */
	{ "Fri, 1 Jan 99 00:00:00 +0000", 915148800LL },	/* two-digit year >= 50: 19xx */
	{ "Fri, 1 Jan 099 00:00:00 +0000", 915148800LL },	/* three digits: + 1900 */
	{ "Sun, 29 Feb 2032 12:00:00 +0000", 1961668800LL },	/* leap day */
	{ "Thu, 01 Jan 1970 00:00:00 +0000", 0 },
	{ "Sat, 29 Feb 2025 12:00:00 +0000", -1 },		/* not a leap year */
	{ "Thu, 31 Apr 2026 12:00:00 +0000", -1 },
	{ "Thu, 01 Jan 2026 24:00:00 +0000", -1 },
	{ "Thu, 01 Jan 2026 23:60:00 +0000", -1 },
	{ "Thu, 01 Jan 2026 12:00:00 +0075", -1 },		/* 75 minutes */
	{ "Thu, 01 Jan 1969 12:00:00 +0000", -1 },
	{ "Thu, 01 Jan 2026 12:00:00 -2147483648", -1 },	/* zone past four digits */
	{ "Thu, 01 Jan 2026 12:00:00 +99999999999", -1 },
	{ "Thu, 4294967297 Jan 2026 12:00:00 +0000", -1 },
	{ "Thu, 01 Jan 4294969322 12:00:00 +0000", -1 },
	{ "2026-01-01T00:00:00Z", -1 },				/* ISO 8601 is not RFC 5322 */
	{ "yesterday", -1 },
	{ "", -1 },
};

/* store_address_valid: the test ingest makes (effect not-an-address otherwise). */
static const struct {
	const char *address;
	bool want;
} addresses[] = {
	{ "joe@example.com", true },
	{ "<Joe@Example.COM>", true },
	{ " joe@example.com ", true },
	{ "\"joe smith\"@example.com", true },
	{ "postmaster@localhost", true },
	{ "joe@[192.0.2.1]", true },
	{ "joe@", false },
	{ "@example.com", false },
	{ "", false },
	{ "postmaster", false },
	{ "joe@example", false },				/* no dot: not a mail domain */
	{ "joe@example.com.", false },
	{ "joe smith@example.com", false },
	{ "rfc822; joe@example.com", false },
	{ "Joe <joe@example.com>", false },
	{ "joe@exa mple.com", false },
	{ "a@b@example.com", false },
};

static int
test_tables(void)
{
	int bad = 0;
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		int64_t t = -1;
		bool ok = store_date_parse(dates[i].text, strlen(dates[i].text), &t);
		long long got = ok ? (long long)t : -1;
		if (got != dates[i].want) {
			printf("FAIL date '%s': %lld, want %lld\n", dates[i].text, got, dates[i].want);
			bad++;
		}
	}
	for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
		if (store_address_valid(addresses[i].address) != addresses[i].want) {
			printf("FAIL address '%s': want %s\n", addresses[i].address,
			    addresses[i].want ? "valid" : "not an address");
			bad++;
		}
	}
	return bad;
}

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
	char mid[64], body[256];
	snprintf(mid, sizeof mid, "<%u.policy@test>", serial);
	snprintf(body, sizeof body, "Message-ID: %s\n%s%s%s\nbounce %u\n", mid,
	    st->date != NULL ? "Date: " : "", st->date != NULL ? st->date : "",
	    st->date != NULL ? "\n" : "", serial);
	rep->kind = st->cls == CLASS_COMPLAINT ? KIND_ARF : KIND_DSN;
	bounce_set(&rep->message_id, mid);
	if (st->verp != NO_VERP) {
		rep->verp_present = true;
		rep->verp_verified = st->verp == VERP_OK;
		bounce_set(&rep->verp_address, st->addr);
	}
	struct bounce_recipient *r = bounce_report_add(rep, st->addr);
	bounce_set(&r->action, st->action);
	bounce_set(&r->last_attempt, st->last_attempt);
	r->class_ = st->cls;
	r->blame = st->blame;
	r->reason = st->cls == CLASS_HARD ? REASON_USER_UNKNOWN :
	    st->cls == CLASS_COMPLAINT ? REASON_COMPLAINT :
	    st->cls == CLASS_AUTOREPLY ? REASON_AUTO_REPLY :
	    st->cls == CLASS_NONE ? REASON_DELIVERED :
	    st->blame == BLAME_RECIPIENT ? REASON_MAILBOX_FULL : REASON_BLOCKED;
	/* received_at 0, as every real input leaves it: taken in at the store's clock. */
	struct store_msg m = { .data = body, .len = strlen(body), .source = "test" };
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
	const char *got = found ? suppression_type_name(sup.type) : NULL;
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

/* The audit table: its row count, and its newest row as "action key reason actor at". */
static long long
audit_last(struct store *s, char *buf, size_t size)
{
	sqlite3_stmt *st;
	long long n = 0;
	buf[0] = '\0';
	if (sqlite3_prepare_v2(store_sqlite(s), "SELECT (SELECT count(*) FROM audit), action, "
	    "address_key, coalesce(reason, '-'), actor, at FROM audit ORDER BY id DESC LIMIT 1",
	    -1, &st, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		snprintf(buf, size, "%s %s %s %s %lld", sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
		    sqlite3_column_text(st, 4), (long long)sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);
	return n;
}

static void
manual(struct store *s, const struct scenario *sc, size_t i)
{
	const struct step *st = &sc->steps[i];
	bool done = false;
	struct store_suppression prev = { 0 };
	char *error = NULL, before[256], after[256], want_audit[256], got[64];
	long long n = audit_last(s, before, sizeof before);
	store_set_now(s, at(st->day));
	int rc = st->op == ADD ?
	    store_suppress_add(s, st->addr, "asked by the owner", "test", &done, &prev,
	    &error) :
	    store_suppress_remove(s, st->addr, NULL, "test", &done, &error);
	if (rc != STORE_OK) {
		failf(sc->name, i, "manual change failed: %s", error);
		free(error);
		store_suppression_clear(&prev);
		return;
	}
	if (st->op == ADD) {
		if (done && prev.type == SUPPRESSION_NONE)
			snprintf(got, sizeof got, "added");
		else
			snprintf(got, sizeof got, "%s %s", done ? "replaced" : "kept",
			    prev.type != SUPPRESSION_NONE ? suppression_type_name(prev.type) : "(none)");
		if (strcmp(got, st->want) != 0)
			failf(sc->name, i, "add: %s, want %s", got, st->want);
	} else if (!done) {
		failf(sc->name, i, "remove: was not suppressed");
	}
	char *key = store_address_key(st->addr);
	snprintf(want_audit, sizeof want_audit, "%s %s %s test %lld",
	    st->op == ADD ? "add" : "remove", key, st->op == ADD ? "asked by the owner" : "-",
	    (long long)at(st->day));
	if (audit_last(s, after, sizeof after) != n + 1 || strcmp(after, want_audit) != 0)
		failf(sc->name, i, "audit: %lld rows, newest '%s'; want %lld, '%s'",
		    audit_last(s, after, sizeof after), after, n + 1, want_audit);
	free(key);
	store_suppression_clear(&prev);
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
	if (sc->reset_days != 0)
		cfg.soft_reset_days = sc->reset_days;
	if (sc->suppress_days != 0)
		cfg.soft_suppress_days = sc->suppress_days;
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
	failures += test_tables();
	for (size_t i = 0; i < n; i++)
		run(&scenarios[i], dir);
	rmdir(dir);
	printf("%zu scenarios, %d failures\n", n, failures);
	return failures != 0;
}
