/* The suppression policy (see policy.h). Two clocks: now (when the store took the event in)
 * drives scores, days and expiry; failed_at (when the failure happened) is compared with a lift
 * only, so a bounce fetched late from a mailbox cannot undo an operator's remove. */
#include <string.h>

#include "policy.h"

static const char *const effect_names[POLICY_EFFECT__COUNT] = {
	[POLICY_NONE] = "none",
	[POLICY_UNVERIFIED] = "unverified",
	[POLICY_NOT_AN_ADDRESS] = "not-an-address",
	[POLICY_AFTER_LIFT] = "after-lift",
	[POLICY_KEPT] = "kept",
	[POLICY_SUPPRESSED] = "suppressed",
	[POLICY_SCORED] = "scored",
	[POLICY_DUPLICATE_DAY] = "duplicate-day",
};

static const char *const type_names[SUPPRESSION_TYPE__COUNT] = {
	[SUPPRESSION_NONE] = "",
	[SUPPRESSION_HARD] = "hard",
	[SUPPRESSION_SOFT] = "soft",
	[SUPPRESSION_COMPLAINT] = "complaint",
	[SUPPRESSION_MANUAL] = "manual",
};

const char *
policy_effect_name(enum policy_effect e)
{
	return (unsigned int)e < POLICY_EFFECT__COUNT ? effect_names[e] : "none";
}

const char *
suppression_type_name(enum suppression_type t)
{
	return (unsigned int)t < SUPPRESSION_TYPE__COUNT ? type_names[t] : "";
}

bool
suppression_type_from_name(const char *name, enum suppression_type *type_r)
{
	for (unsigned int t = SUPPRESSION_NONE + 1; t < SUPPRESSION_TYPE__COUNT; t++) {
		if (name != NULL && strcmp(name, type_names[t]) == 0) {
			*type_r = (enum suppression_type)t;
			return true;
		}
	}
	return false;
}

/* Does ev call for a suppression or a score at all? */
static bool
acts(const struct policy_config *cfg, const struct policy_event *ev)
{
	if (ev->verp_unverified || !ev->address_valid)
		return false;
	switch (ev->class_) {
	case CLASS_HARD:
		return cfg->suppress_hard && ev->blame == BLAME_RECIPIENT && !ev->delayed;
	case CLASS_COMPLAINT:
		return cfg->suppress_complaint;
	case CLASS_SOFT:
		return ev->blame == BLAME_RECIPIENT && !ev->delayed && cfg->soft_threshold > 0;
	default:
		return false;
	}
}

unsigned int
policy_reads(const struct policy_config *cfg, const struct policy_event *ev)
{
	if (!acts(cfg, ev))
		return 0;
	return POLICY_READ_SUPPRESSION | (ev->class_ == CLASS_SOFT ? POLICY_READ_SCORE : 0);
}

/* A lift is final for failures that happened before it. */
static bool
before_lift(const struct policy_state *st, int64_t failed_at)
{
	return st->type != SUPPRESSION_NONE && st->lifted && failed_at <= st->lifted_at;
}

/* A suppression of type, effective now, given the address's row. */
static void
suppress(const struct policy_state *st, enum suppression_type type, int64_t now,
    int64_t failed_at, int64_t expires_at, struct policy_decision *d)
{
	bool active = st->type != SUPPRESSION_NONE && !st->lifted &&
	    (st->expires_at == 0 || st->expires_at > now);
	if (before_lift(st, failed_at)) {
		d->effect = POLICY_AFTER_LIFT;
	} else if (active && !(st->type == SUPPRESSION_SOFT && type != SUPPRESSION_SOFT)) {
		d->effect = POLICY_KEPT;	/* only a permanent type replaces a soft one */
	} else {
		d->effect = POLICY_SUPPRESSED;
		d->suppress = type;
		d->expires_at = expires_at;
	}
}

/* A recipient-blamed soft failure: a point per UTC day, a suppression at the threshold. */
static void
soft(const struct policy_config *cfg, const struct policy_state *st, int64_t now,
    int64_t failed_at, struct policy_decision *d)
{
	if (before_lift(st, failed_at)) {
		d->effect = POLICY_AFTER_LIFT;
		return;
	}
	int64_t day = now / POLICY_DAY;
	int64_t score = 1, last_day = day, last_at = now;
	d->effect = POLICY_SCORED;
	if (st->scored) {
		if (now - st->score_at > (int64_t)cfg->soft_reset_days * POLICY_DAY) {
			score = 1;	/* quiet long enough: start again */
		} else if (day > st->score_day) {
			score = st->score + 1;
		} else {
			/* Same day (or an older message arriving late): no point. */
			score = st->score;
			last_day = st->score_day;
			d->effect = POLICY_DUPLICATE_DAY;
		}
		if (st->score_at > last_at)
			last_at = st->score_at;
	}
	d->write_score = true;
	d->score = score;
	d->score_day = last_day;
	d->score_at = last_at;
	if (d->effect == POLICY_SCORED && score >= (int64_t)cfg->soft_threshold) {
		struct policy_decision sd = { 0 };
		suppress(st, SUPPRESSION_SOFT, now, failed_at,
		    now + (int64_t)cfg->soft_suppress_days * POLICY_DAY, &sd);
		if (sd.effect == POLICY_SUPPRESSED) {
			d->effect = sd.effect;
			d->suppress = sd.suppress;
			d->expires_at = sd.expires_at;
		}
	}
}

void
policy_decide(const struct policy_config *cfg, const struct policy_state *st,
    const struct policy_event *ev, int64_t now, int64_t failed_at,
    struct policy_decision *decision_r)
{
	struct policy_decision d = { .effect = POLICY_NONE };
	if (ev->verp_unverified)
		d.effect = POLICY_UNVERIFIED;	/* a forged bounce must not suppress anyone */
	else if (!ev->address_valid)
		d.effect = POLICY_NOT_AN_ADDRESS;	/* an event only */
	else if (!acts(cfg, ev))
		d.effect = POLICY_NONE;	/* sender/network-blamed, delays, auto-replies */
	else if (ev->class_ == CLASS_SOFT)
		soft(cfg, st, now, failed_at, &d);
	else
		suppress(st, ev->class_ == CLASS_HARD ? SUPPRESSION_HARD : SUPPRESSION_COMPLAINT,
		    now, failed_at, 0, &d);
	*decision_r = d;
}

bool
policy_manual_replaces(enum suppression_type current)
{
	return current == SUPPRESSION_NONE || current == SUPPRESSION_SOFT;
}
