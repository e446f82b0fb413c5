/* policy_decide as a table, without a database: each row is one event against one address state,
 * with the decision expected to the field. test-policy.c plays the same rules through the
 * SQLite store over simulated days. */
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* 2026-01-01T00:00:00Z, a UTC midnight. */
#define T0	1767225600LL
#define HOUR	3600LL
#define DAY	86400LL

#define HARD	.class_ = CLASS_HARD, .blame = BLAME_RECIPIENT, .address_valid = true
#define SOFT	.class_ = CLASS_SOFT, .blame = BLAME_RECIPIENT, .address_valid = true
#define COMPL	.class_ = CLASS_COMPLAINT, .blame = BLAME_RECIPIENT, .address_valid = true

struct row {
	const char *name;
	struct policy_config cfg;	/* all zero: the defaults (5, 7, 30, both on) */
	struct policy_state st;
	struct policy_event ev;
	int64_t now;
	int64_t failed_at;		/* 0: now */
	unsigned int reads;		/* policy_reads */
	struct policy_decision want;
};

static const struct row rows[] = {
	/* Hard and complaint. */
	{ "hard, no row: suppressed until removed", .ev = { HARD }, .now = T0,
	  .reads = POLICY_READ_SUPPRESSION,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_HARD, 0, false, 0, 0, 0 } },
	{ "hard over hard: kept", .st = { .type = SUPPRESSION_HARD }, .ev = { HARD }, .now = T0,
	  .reads = POLICY_READ_SUPPRESSION, .want = { POLICY_KEPT } },
	{ "complaint, no row: suppressed", .ev = { COMPL }, .now = T0,
	  .reads = POLICY_READ_SUPPRESSION, .want = { POLICY_SUPPRESSED, SUPPRESSION_COMPLAINT } },
	{ "complaint over soft: replaces it", .st = { .type = SUPPRESSION_SOFT,
	  .expires_at = T0 + 30 * DAY }, .ev = { COMPL }, .now = T0,
	  .reads = POLICY_READ_SUPPRESSION, .want = { POLICY_SUPPRESSED, SUPPRESSION_COMPLAINT } },
	{ "hard over manual: kept", .st = { .type = SUPPRESSION_MANUAL }, .ev = { HARD },
	  .now = T0, .reads = POLICY_READ_SUPPRESSION, .want = { POLICY_KEPT } },
	{ "hard over an expired soft: suppressed", .st = { .type = SUPPRESSION_SOFT,
	  .expires_at = T0 }, .ev = { HARD }, .now = T0, .reads = POLICY_READ_SUPPRESSION,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_HARD } },
	{ "hard with suppress_hard off: none", .cfg = { false, true, 5, 7, 30 }, .ev = { HARD },
	  .now = T0, .want = { POLICY_NONE } },
	{ "complaint with suppress_complaint off: none", .cfg = { true, false, 5, 7, 30 },
	  .ev = { COMPL }, .now = T0, .want = { POLICY_NONE } },
	{ "a delayed hard: none", .ev = { HARD, .delayed = true }, .now = T0,
	  .want = { POLICY_NONE } },
	/* Blame. */
	{ "hard blamed on the sender: none", .ev = { .class_ = CLASS_HARD,
	  .blame = BLAME_SENDER, .address_valid = true }, .now = T0, .want = { POLICY_NONE } },
	{ "soft blamed on the network: none", .ev = { .class_ = CLASS_SOFT,
	  .blame = BLAME_NETWORK, .address_valid = true }, .now = T0, .want = { POLICY_NONE } },
	{ "soft blamed on nobody known: none", .ev = { .class_ = CLASS_SOFT,
	  .blame = BLAME_UNKNOWN, .address_valid = true }, .now = T0, .want = { POLICY_NONE } },
	{ "soft blamed on the sender: none", .ev = { .class_ = CLASS_SOFT,
	  .blame = BLAME_SENDER, .address_valid = true }, .now = T0, .want = { POLICY_NONE } },
	{ "auto-reply: none", .ev = { .class_ = CLASS_AUTOREPLY, .address_valid = true },
	  .now = T0, .want = { POLICY_NONE } },
	{ "delivery report: none", .ev = { .class_ = CLASS_NONE, .address_valid = true },
	  .now = T0, .want = { POLICY_NONE } },
	/* What acts on nothing. */
	{ "unverified VERP: acts on nothing", .ev = { HARD, .verp_unverified = true },
	  .now = T0, .want = { POLICY_UNVERIFIED } },
	{ "unverified VERP complaint: acts on nothing", .ev = { COMPL, .verp_unverified = true },
	  .now = T0, .want = { POLICY_UNVERIFIED } },
	{ "not an address: an event only", .ev = { .class_ = CLASS_HARD,
	  .blame = BLAME_RECIPIENT }, .now = T0, .want = { POLICY_NOT_AN_ADDRESS } },
	/* Soft scoring per UTC day. */
	{ "soft, no score: the first point", .ev = { SOFT }, .now = T0 + 10 * HOUR,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SCORED, SUPPRESSION_NONE, 0, true, 1, T0 / DAY, T0 + 10 * HOUR } },
	{ "soft, same UTC day: duplicate-day, score and day kept", .st = { .scored = true,
	  .score = 2, .score_day = T0 / DAY, .score_at = T0 + HOUR }, .ev = { SOFT },
	  .now = T0 + 23 * HOUR, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_DUPLICATE_DAY, SUPPRESSION_NONE, 0, true, 2, T0 / DAY,
	  T0 + 23 * HOUR } },
	{ "soft, the next UTC day six minutes later: a point", .st = { .scored = true,
	  .score = 1, .score_day = T0 / DAY, .score_at = T0 + DAY - 180 }, .ev = { SOFT },
	  .now = T0 + DAY + 180, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SCORED, SUPPRESSION_NONE, 0, true, 2, T0 / DAY + 1,
	  T0 + DAY + 180 } },
	{ "soft, an older message arriving late: no point, latest time kept",
	  .st = { .scored = true, .score = 3, .score_day = T0 / DAY + 2,
	  .score_at = T0 + 2 * DAY + HOUR }, .ev = { SOFT }, .now = T0 + 2 * DAY,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_DUPLICATE_DAY, SUPPRESSION_NONE, 0, true, 3, T0 / DAY + 2,
	  T0 + 2 * DAY + HOUR } },
	{ "soft, exactly 7 quiet days: still counts", .st = { .scored = true, .score = 4,
	  .score_day = T0 / DAY, .score_at = T0 }, .ev = { SOFT }, .now = T0 + 7 * DAY,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_SOFT, T0 + 37 * DAY, true, 5, T0 / DAY + 7,
	  T0 + 7 * DAY } },
	{ "soft, 8 quiet days: starts again at 1", .st = { .scored = true, .score = 4,
	  .score_day = T0 / DAY, .score_at = T0 }, .ev = { SOFT }, .now = T0 + 8 * DAY,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SCORED, SUPPRESSION_NONE, 0, true, 1, T0 / DAY + 8, T0 + 8 * DAY } },
	{ "soft, the fifth day: suppressed for 30 days", .st = { .scored = true, .score = 4,
	  .score_day = T0 / DAY + 3, .score_at = T0 + 3 * DAY }, .ev = { SOFT },
	  .now = T0 + 4 * DAY, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_SOFT, T0 + 34 * DAY, true, 5, T0 / DAY + 4,
	  T0 + 4 * DAY } },
	{ "soft at the threshold over a soft in force: kept, still scored",
	  .st = { .type = SUPPRESSION_SOFT, .expires_at = T0 + 20 * DAY, .scored = true,
	  .score = 5, .score_day = T0 / DAY + 3, .score_at = T0 + 3 * DAY }, .ev = { SOFT },
	  .now = T0 + 4 * DAY, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SCORED, SUPPRESSION_NONE, 0, true, 6, T0 / DAY + 4, T0 + 4 * DAY } },
	{ "manual over soft: a soft failure scores under a manual block",
	  .st = { .type = SUPPRESSION_MANUAL, .scored = true, .score = 5,
	  .score_day = T0 / DAY + 4, .score_at = T0 + 4 * DAY }, .ev = { SOFT },
	  .now = T0 + 41 * DAY, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SCORED, SUPPRESSION_NONE, 0, true, 1, T0 / DAY + 41, T0 + 41 * DAY } },
	{ "threshold 3", .cfg = { true, true, 3, 7, 30 }, .st = { .scored = true, .score = 2,
	  .score_day = T0 / DAY + 1, .score_at = T0 + DAY }, .ev = { SOFT }, .now = T0 + 2 * DAY,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_SOFT, T0 + 32 * DAY, true, 3, T0 / DAY + 2,
	  T0 + 2 * DAY } },
	{ "threshold 0: soft failures are events only", .cfg = { true, true, 0, 7, 30 },
	  .ev = { SOFT }, .now = T0, .want = { POLICY_NONE } },
	{ "soft_reset_days 3, 3.5 quiet days: starts again", .cfg = { true, true, 5, 3, 30 },
	  .st = { .scored = true, .score = 3, .score_day = T0 / DAY + 4,
	  .score_at = T0 + 4 * DAY }, .ev = { SOFT }, .now = T0 + 7 * DAY + 12 * HOUR,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SCORED, SUPPRESSION_NONE, 0, true, 1, T0 / DAY + 7,
	  T0 + 7 * DAY + 12 * HOUR } },
	{ "soft_suppress_days 10", .cfg = { true, true, 5, 7, 10 }, .st = { .scored = true,
	  .score = 4, .score_day = T0 / DAY + 3, .score_at = T0 + 3 * DAY }, .ev = { SOFT },
	  .now = T0 + 4 * DAY, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_SOFT, T0 + 14 * DAY, true, 5, T0 / DAY + 4,
	  T0 + 4 * DAY } },
	/* 30-day expiry: a soft suppression past its end is no suppression. */
	{ "soft suppression expired: the fifth point suppresses again",
	  .st = { .type = SUPPRESSION_SOFT, .expires_at = T0 + 34 * DAY, .scored = true,
	  .score = 4, .score_day = T0 / DAY + 36, .score_at = T0 + 36 * DAY }, .ev = { SOFT },
	  .now = T0 + 37 * DAY, .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_SOFT, T0 + 67 * DAY, true, 5, T0 / DAY + 37,
	  T0 + 37 * DAY } },
	{ "soft suppression ending exactly now: expired", .st = { .type = SUPPRESSION_SOFT,
	  .expires_at = T0 + 34 * DAY }, .ev = { HARD }, .now = T0 + 34 * DAY,
	  .reads = POLICY_READ_SUPPRESSION, .want = { POLICY_SUPPRESSED, SUPPRESSION_HARD } },
	/* A lift is final for failures before it. */
	{ "hard dated before the lift: after-lift", .st = { .type = SUPPRESSION_HARD,
	  .lifted = true, .lifted_at = T0 + DAY }, .ev = { HARD }, .now = T0 + DAY + 2 * HOUR,
	  .failed_at = T0 + 12 * HOUR, .reads = POLICY_READ_SUPPRESSION,
	  .want = { POLICY_AFTER_LIFT } },
	{ "hard dated at the lift's second: after-lift", .st = { .type = SUPPRESSION_HARD,
	  .lifted = true, .lifted_at = T0 + DAY }, .ev = { HARD }, .now = T0 + DAY + 2 * HOUR,
	  .failed_at = T0 + DAY, .reads = POLICY_READ_SUPPRESSION,
	  .want = { POLICY_AFTER_LIFT } },
	{ "hard dated after the lift: suppressed", .st = { .type = SUPPRESSION_HARD,
	  .lifted = true, .lifted_at = T0 + DAY }, .ev = { HARD }, .now = T0 + DAY + 2 * HOUR,
	  .failed_at = T0 + DAY + HOUR, .reads = POLICY_READ_SUPPRESSION,
	  .want = { POLICY_SUPPRESSED, SUPPRESSION_HARD } },
	{ "soft dated before the lift: after-lift, no score written",
	  .st = { .type = SUPPRESSION_SOFT, .expires_at = T0 + 34 * DAY, .lifted = true,
	  .lifted_at = T0 + 5 * DAY }, .ev = { SOFT }, .now = T0 + 5 * DAY + 12 * HOUR,
	  .failed_at = T0 + 4 * DAY + 18 * HOUR,
	  .reads = POLICY_READ_SUPPRESSION | POLICY_READ_SCORE, .want = { POLICY_AFTER_LIFT } },
	{ "complaint dated before the lift: after-lift", .st = { .type = SUPPRESSION_COMPLAINT,
	  .lifted = true, .lifted_at = T0 + DAY }, .ev = { COMPL }, .now = T0 + DAY + HOUR,
	  .failed_at = T0, .reads = POLICY_READ_SUPPRESSION, .want = { POLICY_AFTER_LIFT } },
};

/* policy_manual_replaces: which suppressions an operator's add writes over. */
static const struct {
	enum suppression_type current;
	bool want;
} manual[] = {
	{ SUPPRESSION_NONE, true },
	{ SUPPRESSION_SOFT, true },	/* manual over soft: the block must not expire */
	{ SUPPRESSION_HARD, false },
	{ SUPPRESSION_COMPLAINT, false },
	{ SUPPRESSION_MANUAL, false },
};

/* The database text of each value. */
static const struct {
	enum policy_effect effect;
	const char *name;
} effect_names[] = {
	{ POLICY_NONE, "none" }, { POLICY_UNVERIFIED, "unverified" },
	{ POLICY_NOT_AN_ADDRESS, "not-an-address" }, { POLICY_AFTER_LIFT, "after-lift" },
	{ POLICY_KEPT, "kept" }, { POLICY_SUPPRESSED, "suppressed" },
	{ POLICY_SCORED, "scored" }, { POLICY_DUPLICATE_DAY, "duplicate-day" },
};

static const struct {
	const char *name;
	bool known;
	enum suppression_type type;
} type_names[] = {
	{ "hard", true, SUPPRESSION_HARD }, { "soft", true, SUPPRESSION_SOFT },
	{ "complaint", true, SUPPRESSION_COMPLAINT }, { "manual", true, SUPPRESSION_MANUAL },
	{ "", false, SUPPRESSION_NONE }, { "Hard", false, SUPPRESSION_NONE },
	{ "none", false, SUPPRESSION_NONE },
};

static bool
same(const struct policy_decision *a, const struct policy_decision *b)
{
	return a->effect == b->effect && a->suppress == b->suppress &&
	    a->expires_at == b->expires_at && a->write_score == b->write_score &&
	    a->score == b->score && a->score_day == b->score_day && a->score_at == b->score_at;
}

static void
print(const char *what, const struct policy_decision *d)
{
	printf("  %s: effect %s, suppress '%s' until %lld, score %s %lld day %lld at %lld\n", what,
	    policy_effect_name(d->effect), suppression_type_name(d->suppress),
	    (long long)d->expires_at, d->write_score ? "written" : "not written",
	    (long long)d->score, (long long)d->score_day, (long long)d->score_at);
}

int
main(void)
{
	int failures = 0;
	size_t n = sizeof rows / sizeof rows[0];
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct policy_config cfg = r->cfg;
		if (cfg.soft_reset_days == 0)
			cfg = (struct policy_config){ true, true, 5, 7, 30 };
		struct policy_decision got;
		memset(&got, 0xa5, sizeof got);	/* every field must be set */
		policy_decide(&cfg, &r->st, &r->ev, r->now, r->failed_at != 0 ? r->failed_at : r->now,
		    &got);
		unsigned int reads = policy_reads(&cfg, &r->ev);
		if (!same(&got, &r->want) || reads != r->reads) {
			printf("FAIL %s (reads %u, want %u)\n", r->name, reads, r->reads);
			print("got ", &got);
			print("want", &r->want);
			failures++;
		}
		/* Only a decision that suppresses names a type, and it is the effect suppressed. */
		if ((got.suppress != SUPPRESSION_NONE) != (got.effect == POLICY_SUPPRESSED)) {
			printf("FAIL %s: suppress and effect disagree\n", r->name);
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof manual / sizeof manual[0]; i++) {
		if (policy_manual_replaces(manual[i].current) != manual[i].want) {
			printf("FAIL manual add over '%s': want %s\n",
			    suppression_type_name(manual[i].current),
			    manual[i].want ? "replaced" : "kept");
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof effect_names / sizeof effect_names[0]; i++) {
		if (strcmp(policy_effect_name(effect_names[i].effect), effect_names[i].name) != 0) {
			printf("FAIL effect %d: '%s', want '%s'\n", (int)effect_names[i].effect,
			    policy_effect_name(effect_names[i].effect), effect_names[i].name);
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
		enum suppression_type t = SUPPRESSION_NONE;
		bool known = suppression_type_from_name(type_names[i].name, &t);
		if (known != type_names[i].known || (known && (t != type_names[i].type ||
		    strcmp(suppression_type_name(t), type_names[i].name) != 0))) {
			printf("FAIL type '%s': %s %d\n", type_names[i].name, known ? "known" : "unknown",
			    (int)t);
			failures++;
		}
	}
	printf("%zu rows, %d failures\n", n, failures);
	return failures != 0;
}
