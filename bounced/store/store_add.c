/* Recording a message and its recipient events: the duplicate check, the report's own dates, and
 * for each recipient the state policy.c needs, its decision, and the rows it asks for.
 *
 * Two clocks: when bounced took a message in (scores, expiry, events.occurred_at) and when the
 * failure happened (the report's own date, when plausible), which only a lift is compared with. */
#include <gnutls/crypto.h>
#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "header.h"
#include "limits.h"
#include "policy.h"
#include "store_int.h"
#include "strbuf.h"

/* A SHA-256 in hex, with its NUL. */
#define SHA256_HEX	65

/* A report dated later than this after bounced took it in has a wrong clock or zone, not a fast
 * network: its date is not trusted. Drift between honest clocks stays well under it. */
#define STORE_REPORT_SKEW	3600
/* A report dated earlier than this before bounced took it in has a reset clock or a mangled
 * year, not late mail: MTAs return mail within days, and a year covers re-ingesting an archive. */
#define STORE_REPORT_MAX_AGE	(365 * (int64_t)STORE_DAY)
/* The longest run of digits in an RFC 5322 date (year, zone): libetpan reads longer numbers
 * into 32 bits, wrapped, so a longer run is refused before it can pass for a date. */
#define STORE_DATE_DIGITS_MAX	4
/* Years accepted from a date: outside them the text is not a date of this era. */
#define STORE_DATE_YEAR_MIN	1970
#define STORE_DATE_YEAR_MAX	9999

char *
store_address_key(const char *address)
{
	if (address == NULL)
		address = "";
	const char *p = address, *end = address + strlen(address);
	while (p < end && (*p == ' ' || *p == '\t' || *p == '<'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '>' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		end--;
	char *key = xstrndup(p, (size_t)(end - p));
	address_lower_domain(key);	/* as the parsers print it, internationalised domains too */
	return key;
}

bool
store_address_valid(const char *address)
{
	char *key = store_address_key(address);
	const char *at = strrchr(key, '@');
	bool ok = at != NULL && at != key && at[1] != '\0';
	if (ok) {
		/* The parsers hand the store only what address_extract accepts: the same test, and
		 * the whole key must be the address (not "rfc822; a@b" or "a@b.example."). */
		struct strbuf out = STRBUF_INIT;
		ok = address_extract(key, strlen(key), &out) && out.len == strlen(key) &&
		    memcmp(out.s, key, out.len) == 0;
		strbuf_free(&out);
	}
	free(key);
	return ok;
}

static int
month_days(int64_t y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

bool
store_date_parse(const char *p, size_t len, int64_t *t_r)
{
	/* libetpan reads the grammar (day names, obsolete zones, comments) but checks no range. */
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		run = p[i] >= '0' && p[i] <= '9' ? run + 1 : 0;
		if (run > STORE_DATE_DIGITS_MAX)
			return false;
	}
	size_t idx = 0;
	struct mailimf_date_time *dt = NULL;
	if (len == 0 || mailimf_date_time_parse(p, len, &idx, &dt) != MAILIMF_NO_ERROR)
		return false;
	int64_t y = dt->dt_year;
	int mo = dt->dt_month, d = dt->dt_day, h = dt->dt_hour, mi = dt->dt_min, sec = dt->dt_sec;
	int zone = dt->dt_zone;	/* +hhmm as a number: +0130 is 130 */
	mailimf_date_time_free(dt);
	/* RFC 5322 4.3: a two-digit year below 50 is 20xx, else 19xx; three digits add 1900. */
	if (y >= 0 && y < 50)
		y += 2000;
	else if (y >= 50 && y < 1000)
		y += 1900;
	if (zone < -9999 || zone > 9999)
		return false;	/* more than four digits; also keeps -zone defined */
	int zabs = zone < 0 ? -zone : zone;
	if (y < STORE_DATE_YEAR_MIN || y > STORE_DATE_YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
	    d > month_days(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 60 || zabs % 100 > 59 || zabs / 100 > 23)
		return false;
	int64_t off = (int64_t)(zabs / 100 * 3600 + zabs % 100 * 60) * (zone < 0 ? -1 : 1);
	/* The fields are in range now, as store_cli_date's strptime leaves them for timegm. */
	struct tm tm = { .tm_year = (int)(y - 1900), .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
		.tm_min = mi, .tm_sec = sec };
	*t_r = (int64_t)timegm(&tm) - off;
	return true;
}

/* The report's date t, when plausible for a message taken in at taken: not later than it by more
 * than STORE_REPORT_SKEW (and then taken: a failure cannot follow its report's arrival), not
 * earlier by more than STORE_REPORT_MAX_AGE. 0 when not plausible. */
static int64_t
plausible_date(int64_t t, int64_t taken)
{
	if (t > taken + STORE_REPORT_SKEW || t < taken - STORE_REPORT_MAX_AGE)
		return 0;
	return t < taken ? t : taken;
}

/* When the message says it was written: its Date header, when plausible; else 0. */
static int64_t
message_date(const struct store_msg *m, int64_t taken)
{
	if (m->data == NULL)
		return 0;
	size_t len = m->len < LIMIT_HEADER_BYTES ? m->len : LIMIT_HEADER_BYTES;
	struct strbuf v = STRBUF_INIT;
	int64_t t = 0;
	if (header_get(m->data, len, "Date", &v) && v.s != NULL && !store_date_parse(v.s, v.len, &t))
		t = 0;
	strbuf_free(&v);
	return t != 0 ? plausible_date(t, taken) : 0;
}

/* When r's failure happened: its DSN Last-Attempt-Date, else the Date header of m, when
 * plausible; else when bounced took it in (taken). Arrival-Date is not used: it is when the
 * original reached the reporting MTA, before the failure. */
static int64_t
failed_at(const struct store_msg *m, const struct bounce_recipient *r, int64_t taken)
{
	int64_t t;
	if (r->last_attempt != NULL &&
	    store_date_parse(r->last_attempt, strlen(r->last_attempt), &t) &&
	    (t = plausible_date(t, taken)) != 0)
		return t;
	t = message_date(m, taken);
	return t != 0 ? t : taken;
}

static void
sha256_hex(const char *data, size_t len, char out[SHA256_HEX])
{
	unsigned char d[32];
	static const char hex[] = "0123456789abcdef";
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) != 0)
		memset(d, 0, sizeof d);	/* cannot happen with a built-in digest */
	for (size_t i = 0; i < sizeof d; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[64] = '\0';
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The recipient keys of rep, sorted, without repeats, one per line: with the Message-ID, what
 * makes a message "the same" when its bytes differ (a re-delivery with another Received:). */
static char *
rcpt_set(const struct bounce_report *rep)
{
	if (rep == NULL || rep->nrcpts == 0)
		return xstrdup("");
	char **keys = xcalloc(rep->nrcpts, sizeof *keys);
	for (size_t i = 0; i < rep->nrcpts; i++)
		keys[i] = store_address_key(rep->rcpts[i].address);
	qsort(keys, rep->nrcpts, sizeof *keys, cmp_str);
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i < rep->nrcpts; i++) {
		if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0) {
			strbuf_puts(&b, keys[i]);
			strbuf_putc(&b, '\n');
		}
	}
	for (size_t i = 0; i < rep->nrcpts; i++)
		free(keys[i]);
	free(keys);
	return strbuf_detach(&b);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Runs a statement expected to return at most one row; *row_r tells whether it did. */
static int
step(struct store *s, sqlite3_stmt *st, bool *row_r, const char *what, char **error_r)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (row_r != NULL)
			*row_r = true;
		return STORE_OK;
	}
	if (row_r != NULL)
		*row_r = false;
	if (rc == SQLITE_DONE)
		return STORE_OK;
	return store_fail(s, rc, what, error_r);
}

static int
find_duplicate(struct store *s, const char *hash, const struct bounce_report *rep,
    const char *set, int64_t *id_r, char **error_r)
{
	sqlite3_stmt *st = store_stmt(s, SQL_MSG_BY_HASH, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	bind_text(st, 1, hash);
	bool row;
	int rc = step(s, st, &row, "look up content hash", error_r);
	if (rc == STORE_OK && row) {
		*id_r = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return STORE_OK;
	}
	sqlite3_reset(st);
	if (rc != STORE_OK || rep == NULL || rep->message_id == NULL || rep->message_id[0] == '\0')
		return rc;
	st = store_stmt(s, SQL_MSG_BY_MSGID, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	bind_text(st, 1, rep->message_id);
	bind_text(st, 2, set);
	rc = step(s, st, &row, "look up Message-ID", error_r);
	if (rc == STORE_OK && row)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

/* Reads what policy_reads() asks for of key into *st. */
static int
read_state(struct store *s, const char *key, unsigned int reads, struct policy_state *st,
    char **error_r)
{
	memset(st, 0, sizeof *st);
	bool row;
	int rc = STORE_OK;
	if (reads & POLICY_READ_SUPPRESSION) {
		sqlite3_stmt *q = store_stmt(s, SQL_SUPP_GET, error_r);
		if (q == NULL)
			return STORE_ERR_INTERNAL;
		bind_text(q, 1, key);
		sqlite3_bind_int64(q, 2, store_now(s));
		rc = step(s, q, &row, "read suppression", error_r);
		if (rc == STORE_OK && row) {
			/* The schema allows the four types only; anything else is read as the one that
			 * lasts, so an unknown row is never overwritten. */
			if (!suppression_type_from_name((const char *)sqlite3_column_text(q, 0),
			    &st->type))
				st->type = SUPPRESSION_MANUAL;
			st->expires_at = sqlite3_column_int64(q, 1);
			st->lifted = sqlite3_column_type(q, 2) != SQLITE_NULL;
			st->lifted_at = sqlite3_column_int64(q, 2);
		}
		sqlite3_reset(q);
	}
	if (rc == STORE_OK && (reads & POLICY_READ_SCORE)) {
		sqlite3_stmt *q = store_stmt(s, SQL_SCORE_GET, error_r);
		if (q == NULL)
			return STORE_ERR_INTERNAL;
		bind_text(q, 1, key);
		rc = step(s, q, &st->scored, "read soft score", error_r);
		if (rc == STORE_OK && st->scored) {
			st->score = sqlite3_column_int64(q, 0);
			st->score_day = sqlite3_column_int64(q, 1);
			st->score_at = sqlite3_column_int64(q, 2);
		}
		sqlite3_reset(q);
	}
	return rc;
}

/* Reads the state the policy needs for r and asks it. t: when the message was taken in; failed:
 * when r's failure happened (failed_at). */
static int
decide(struct store *s, const struct bounce_report *rep, const struct bounce_recipient *r,
    const char *key, int64_t t, int64_t failed, struct policy_decision *d, char **error_r)
{
	struct policy_event ev = {
		.class_ = r->class_,
		.blame = r->blame,
		.delayed = r->action != NULL && strcmp(r->action, "delayed") == 0,
		.verp_unverified = rep->verp_present && !rep->verp_verified,
	};
	/* Checked only when it matters: an unverified VERP acts on nothing anyway. */
	ev.address_valid = !ev.verp_unverified && store_address_valid(key);
	struct policy_state st;
	int rc = read_state(s, key, policy_reads(&s->policy, &ev), &st, error_r);
	if (rc != STORE_OK)
		return rc;
	policy_decide(&s->policy, &st, &ev, t, failed, d);
	return STORE_OK;
}

static int
insert_message(struct store *s, const struct store_msg *m, const struct bounce_report *rep,
    const char *hash, const char *set, int64_t t, int64_t *id_r, char **error_r)
{
	sqlite3_stmt *st = store_stmt(s, SQL_MSG_INSERT, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	const char *outcome = rep == NULL ? "unparsed" :
	    (m->truncated || (rep->flags & BOUNCE_F_TRUNCATED)) ? "truncated" : "parsed";
	bind_text(st, 1, m->source != NULL ? m->source : "-");
	sqlite3_bind_int64(st, 2, t);
	bind_text(st, 3, m->envelope_rcpt);
	bind_text(st, 4, m->envelope_sender);
	bind_text(st, 5, m->queue_id);
	bind_text(st, 6, rep != NULL ? rep->message_id : NULL);
	bind_text(st, 7, rep != NULL ? rep->original_message_id : NULL);
	bind_text(st, 8, hash);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)m->len);
	bind_text(st, 10, rep != NULL ? bounce_kind_name(rep->kind) : "");
	sqlite3_bind_int64(st, 11, rep != NULL ? rep->flags : 0);
	bind_text(st, 12, outcome);
	bind_text(st, 13, set);
	if (rep != NULL && rep->verp_present) {
		bind_text(st, 14, rep->verp_address);
		bind_text(st, 15, rep->verp_tag);
		sqlite3_bind_int(st, 16, rep->verp_verified);
	}
	sqlite3_bind_blob64(st, 17, m->len > 0 ? m->data : "", m->len, SQLITE_STATIC);
	if (rep != NULL) {
		bind_text(st, 18, rep->original_from);
		bind_text(st, 19, rep->original_to);
		bind_text(st, 20, rep->original_subject);
		bind_text(st, 21, rep->x_tags);
	}
	int rc = step(s, st, NULL, "insert message", error_r);
	sqlite3_reset(st);
	if (rc == STORE_OK)
		*id_r = sqlite3_last_insert_rowid(s->db);
	return rc;
}

static int
insert_event(struct store *s, int64_t msg_id, const struct bounce_report *rep,
    const struct bounce_recipient *r, const char *key, int64_t t, int64_t failed,
    const struct policy_decision *d, int64_t *id_r, char **error_r)
{
	sqlite3_stmt *st = store_stmt(s, SQL_EVENT_INSERT, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, msg_id);
	bind_text(st, 2, r->address);
	bind_text(st, 3, key);
	sqlite3_bind_int64(st, 4, t);
	bind_text(st, 5, bounce_class_name(r->class_));
	bind_text(st, 6, bounce_reason_name(r->reason));
	bind_text(st, 7, bounce_blame_name(r->blame));
	bind_text(st, 8, r->action != NULL ? r->action : "");
	bind_text(st, 9, r->status);
	bind_text(st, 10, r->smtp_code);
	bind_text(st, 11, r->diagnostic);
	bind_text(st, 12, r->remote_mta);
	bind_text(st, 13, r->feedback_type);
	bind_text(st, 14, r->original_recipient);
	if (rep->verp_present) {
		bind_text(st, 15, rep->verp_address);
		bind_text(st, 16, rep->verp_tag);
		sqlite3_bind_int(st, 17, rep->verp_verified);
	}
	bind_text(st, 18, policy_effect_name(d->effect));
	sqlite3_bind_int64(st, 19, failed);
	int rc = step(s, st, NULL, "insert event", error_r);
	sqlite3_reset(st);
	if (rc == STORE_OK)
		*id_r = sqlite3_last_insert_rowid(s->db);
	return rc;
}

static int
apply(struct store *s, const struct bounce_recipient *r, const char *key, int64_t t,
    int64_t event_id, const struct policy_decision *d, char **error_r)
{
	int rc = STORE_OK;
	if (d->write_score) {
		sqlite3_stmt *st = store_stmt(s, SQL_SCORE_PUT, error_r);
		if (st == NULL)
			return STORE_ERR_INTERNAL;
		bind_text(st, 1, key);
		sqlite3_bind_int64(st, 2, d->score);
		sqlite3_bind_int64(st, 3, d->score_day);
		sqlite3_bind_int64(st, 4, d->score_at);
		rc = step(s, st, NULL, "write soft score", error_r);
		sqlite3_reset(st);
		if (rc != STORE_OK)
			return rc;
	}
	if (d->suppress != SUPPRESSION_NONE) {
		sqlite3_stmt *st = store_stmt(s, SQL_SUPP_PUT, error_r);
		if (st == NULL)
			return STORE_ERR_INTERNAL;
		bind_text(st, 1, key);
		bind_text(st, 2, r->address);
		bind_text(st, 3, suppression_type_name(d->suppress));
		bind_text(st, 4, bounce_reason_name(r->reason));
		sqlite3_bind_int64(st, 5, t);
		if (d->expires_at != 0)
			sqlite3_bind_int64(st, 6, d->expires_at);
		sqlite3_bind_int64(st, 7, event_id);
		rc = step(s, st, NULL, "write suppression", error_r);
		sqlite3_reset(st);
	}
	return rc;
}

int
store_add(struct store *s, const struct store_msg *m, const struct bounce_report *rep,
    struct store_add_result *res_r, char **error_r)
{
	struct store_add_result res = { 0 };
	if (!s->in_tx) {
		*error_r = xstrdup("store_add: no transaction open (store_begin)");
		return STORE_ERR_INTERNAL;
	}
	int64_t t = m->received_at != 0 ? m->received_at : store_now(s);
	char hash[SHA256_HEX];
	sha256_hex(m->data != NULL ? m->data : "", m->len, hash);
	char *set = rcpt_set(rep);
	int64_t dup = 0;
	int rc = find_duplicate(s, hash, rep, set, &dup, error_r);
	if (rc == STORE_OK && dup != 0) {
		/* Noted for `bounced stats` (the repeat itself is not recorded again). */
		sqlite3_stmt *st = store_stmt(s, SQL_DUP_INSERT, error_r);
		if (st == NULL) {
			rc = STORE_ERR_INTERNAL;
		} else {
			sqlite3_bind_int64(st, 1, dup);
			sqlite3_bind_int64(st, 2, t);
			rc = step(s, st, NULL, "note duplicate", error_r);
			sqlite3_reset(st);
		}
	}
	if (rc != STORE_OK || dup != 0) {
		free(set);
		if (rc == STORE_OK) {
			res.message_rowid = dup;
			res.duplicate = true;
			*res_r = res;
		}
		return rc;
	}
	rc = insert_message(s, m, rep, hash, set, t, &res.message_rowid, error_r);
	free(set);
	for (size_t i = 0; rc == STORE_OK && rep != NULL && i < rep->nrcpts; i++) {
		const struct bounce_recipient *r = &rep->rcpts[i];
		char *key = store_address_key(r->address);
		struct policy_decision d;
		int64_t ev = 0;
		int64_t failed = failed_at(m, r, t);
		rc = decide(s, rep, r, key, t, failed, &d, error_r);
		if (rc == STORE_OK)
			rc = insert_event(s, res.message_rowid, rep, r, key, t, failed, &d, &ev,
			    error_r);
		if (rc == STORE_OK)
			rc = apply(s, r, key, t, ev, &d, error_r);
		if (rc == STORE_OK) {
			res.events++;
			if (d.effect == POLICY_SUPPRESSED)
				res.suppressed++;
		}
		free(key);
	}
	if (rc == STORE_OK)
		*res_r = res;
	return rc;
}
