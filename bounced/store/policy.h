/* The suppression policy of DESIGN.md as a pure function: given the policy's settings, what the
 * store knows of an address and one recipient event, it decides what the event does (its
 * effect) and what to write (a suppression, a soft score). No I/O, no SQL: any store (SQLite
 * today, another SQL engine later) reads the state its own way, asks, and writes the decision.
 *
 * The rules: hard bounces blamed on the recipient and complaints suppress at once (until
 * removed); recipient-blamed soft failures score at most one point per address per UTC day, the
 * score restarts after reset_days without one, and at threshold the address is suppressed for
 * suppress_days; everything else (sender, network or unknown blame, delays, auto-replies,
 * delivery reports) is an event only. An unverified VERP acts on nothing. A lift (an operator's
 * remove) is final for failures that happened before it. A suppression in force is kept, except
 * that a permanent type replaces a soft one. */
#ifndef BOUNCED_POLICY_H
#define BOUNCED_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "report.h"

/* A calendar day in seconds: scores count UTC days (unix time / POLICY_DAY). */
#define POLICY_DAY	86400

/* What the policy did with one event (events.effect in the database, by policy_effect_name). */
enum policy_effect {
	POLICY_NONE = 0,	/* "none": recorded only (not the policy's business) */
	POLICY_UNVERIFIED,	/* "unverified": a VERP that did not verify; acts on nothing */
	POLICY_NOT_AN_ADDRESS,	/* "not-an-address": no usable address to act on */
	POLICY_AFTER_LIFT,	/* "after-lift": the failure happened before a remove */
	POLICY_KEPT,		/* "kept": already suppressed, left as it is */
	POLICY_SUPPRESSED,	/* "suppressed": newly suppressed */
	POLICY_SCORED,		/* "scored": one soft point, below the threshold */
	POLICY_DUPLICATE_DAY,	/* "duplicate-day": the address already scored that UTC day */
	POLICY_EFFECT__COUNT
};

/* The types of suppressions.type, by suppression_type_name. */
enum suppression_type {
	SUPPRESSION_NONE = 0,	/* no suppression (not a database value) */
	SUPPRESSION_HARD,	/* "hard" */
	SUPPRESSION_SOFT,	/* "soft": expires */
	SUPPRESSION_COMPLAINT,	/* "complaint" */
	SUPPRESSION_MANUAL,	/* "manual": an operator's, until removed */
	SUPPRESSION_TYPE__COUNT
};

/* The database text of an effect or a type: a static string ("" for SUPPRESSION_NONE). */
const char *policy_effect_name(enum policy_effect e);
const char *suppression_type_name(enum suppression_type t);
/* The type named name ("hard", "soft", "complaint", "manual"); false when it names none. */
bool suppression_type_from_name(const char *name, enum suppression_type *type_r);

/* The policy's settings ([policy] of bounced.conf(5)). */
struct policy_config {
	bool suppress_hard;
	bool suppress_complaint;
	unsigned int soft_threshold;	/* points that suppress; 0 = soft failures never do */
	unsigned int soft_reset_days;	/* quiet days after which the score starts again */
	unsigned int soft_suppress_days;	/* how long a soft suppression lasts */
};

/* One recipient event, as the policy sees it. */
struct policy_event {
	enum bounce_class class_;
	enum bounce_blame blame;
	bool delayed;		/* a DSN Action: delayed (a warning, not a failure) */
	bool verp_unverified;	/* the report carried a VERP address that did not verify */
	bool address_valid;	/* the address is one the policy acts on (store_address_valid) */
};

/* What a store knows of an address (over its case variants), as of the event. */
struct policy_state {
	/* The suppression row: the one in force, else the latest lifted one. */
	enum suppression_type type;	/* SUPPRESSION_NONE: no row at all */
	int64_t expires_at;		/* unix time; 0 = until removed */
	bool lifted;
	int64_t lifted_at;		/* when lifted: unix time of the remove */
	/* The soft score row. */
	bool scored;			/* false: no row */
	int64_t score;
	int64_t score_day;		/* the UTC day (unix time / POLICY_DAY) of the last point */
	int64_t score_at;		/* unix time of the latest soft failure counted or not */
};

/* What the store must read before deciding (bits of policy_reads). */
#define POLICY_READ_SUPPRESSION	0x1	/* type, expires_at, lifted, lifted_at */
#define POLICY_READ_SCORE	0x2	/* scored, score, score_day, score_at */

/* The parts of struct policy_state that policy_decide reads for ev: 0 when the event can only
 * be recorded (so a store need not look the address up at all). */
unsigned int policy_reads(const struct policy_config *cfg, const struct policy_event *ev);

/* What to do with one event. */
struct policy_decision {
	enum policy_effect effect;
	enum suppression_type suppress;	/* the suppression to write; SUPPRESSION_NONE: none */
	int64_t expires_at;		/* of that suppression: unix time, 0 = until removed */
	bool write_score;		/* write score, score_day and score_at as the new row */
	int64_t score;
	int64_t score_day;
	int64_t score_at;
};

/* Decides for ev given st (only the parts policy_reads named need be filled). now is when the
 * store took the event in: scores, days and expiry count from it. failed_at is when the failure
 * happened (the report's own date, when plausible), compared only with a lift: a store may pass
 * now when st has no lift. Fills *decision_r; a decision that suppresses has effect
 * POLICY_SUPPRESSED, and only such a decision does. */
void policy_decide(const struct policy_config *cfg, const struct policy_state *st,
    const struct policy_event *ev, int64_t now, int64_t failed_at,
    struct policy_decision *decision_r);

/* An operator's manual add over the suppression in force of type current (SUPPRESSION_NONE:
 * none): true when the manual suppression is written. A soft suppression expires by itself, so
 * it gives way; hard, complaint and manual ones already last until removed and stay. */
bool policy_manual_replaces(enum suppression_type current);

#endif
