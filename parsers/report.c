#include "report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "limits.h"

static const struct {
	const char *name;
	enum bounce_class class_;
	enum bounce_blame blame;
} reasons[REASON__COUNT] = {
	[REASON_UNKNOWN] =		{ "unknown",		CLASS_SOFT,	 BLAME_UNKNOWN },
	[REASON_USER_UNKNOWN] =		{ "user_unknown",	CLASS_HARD,	 BLAME_RECIPIENT },
	[REASON_HOST_UNKNOWN] =		{ "host_unknown",	CLASS_HARD,	 BLAME_RECIPIENT },
	[REASON_HAS_MOVED] =		{ "has_moved",		CLASS_HARD,	 BLAME_RECIPIENT },
	[REASON_NOT_ACCEPT] =		{ "not_accept",		CLASS_HARD,	 BLAME_RECIPIENT },
	[REASON_MAILBOX_FULL] =		{ "mailbox_full",	CLASS_SOFT,	 BLAME_RECIPIENT },
	[REASON_MAILBOX_DISABLED] =	{ "mailbox_disabled",	CLASS_SOFT,	 BLAME_RECIPIENT },
	[REASON_MESSAGE_TOO_LARGE] =	{ "message_too_large",	CLASS_SOFT,	 BLAME_SENDER },
	[REASON_FILTERED] =		{ "filtered",		CLASS_SOFT,	 BLAME_RECIPIENT },
	[REASON_REJECTED] =		{ "rejected",		CLASS_SOFT,	 BLAME_SENDER },
	[REASON_BLOCKED] =		{ "blocked",		CLASS_SOFT,	 BLAME_SENDER },
	[REASON_SPAM_DETECTED] =	{ "spam_detected",	CLASS_SOFT,	 BLAME_SENDER },
	[REASON_POLICY] =		{ "policy",		CLASS_SOFT,	 BLAME_SENDER },
	[REASON_RATE_LIMITED] =		{ "rate_limited",	CLASS_SOFT,	 BLAME_SENDER },
	[REASON_EXPIRED] =		{ "expired",		CLASS_SOFT,	 BLAME_NETWORK },
	[REASON_NETWORK_ERROR] =	{ "network_error",	CLASS_SOFT,	 BLAME_NETWORK },
	[REASON_SYSTEM_ERROR] =		{ "system_error",	CLASS_SOFT,	 BLAME_NETWORK },
	[REASON_SYNTAX_ERROR] =		{ "syntax_error",	CLASS_SOFT,	 BLAME_SENDER },
	[REASON_COMPLAINT] =		{ "complaint",		CLASS_COMPLAINT, BLAME_RECIPIENT },
	[REASON_AUTO_REPLY] =		{ "auto_reply",		CLASS_AUTOREPLY, BLAME_NONE },
	[REASON_DELIVERED] =		{ "delivered",		CLASS_NONE,	 BLAME_NONE },
};

static const char *const kind_names[] = { "none", "dsn", "arf", "autoreply", "heuristic" };
static const char *const class_names[] = { "none", "hard", "soft", "complaint", "autoreply" };
static const char *const blame_names[] = { "", "recipient", "sender", "network", "unknown" };

static const struct {
	unsigned int bit;
	const char *name;
} flag_names[] = {
	{ BOUNCE_F_TRUNCATED, "truncated" },
	{ BOUNCE_F_HEADER_CUT, "header_cut" },
	{ BOUNCE_F_LONG_LINE, "long_line" },
	{ BOUNCE_F_TOO_DEEP, "too_deep" },
	{ BOUNCE_F_TOO_MANY_PARTS, "too_many_parts" },
	{ BOUNCE_F_BAD_BOUNDARY, "bad_boundary" },
	{ BOUNCE_F_MIME_ERROR, "mime_error" },
	{ BOUNCE_F_REGEX_LIMIT, "regex_limit" },
	{ BOUNCE_F_BAD_ENCODING, "bad_encoding" },
	{ BOUNCE_F_NUL_BYTES, "nul_bytes" },
	{ BOUNCE_F_TOO_MANY_RCPTS, "too_many_recipients" },
};

const char *
bounce_kind_name(enum bounce_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "none";
}

const char *
bounce_class_name(enum bounce_class c)
{
	return (unsigned)c < sizeof class_names / sizeof class_names[0] ? class_names[c] : "none";
}

const char *
bounce_blame_name(enum bounce_blame b)
{
	return (unsigned)b < sizeof blame_names / sizeof blame_names[0] ? blame_names[b] : "";
}

const char *
bounce_reason_name(enum bounce_reason r)
{
	return (unsigned)r < REASON__COUNT ? reasons[r].name : "unknown";
}

enum bounce_class
bounce_reason_class(enum bounce_reason r)
{
	return (unsigned)r < REASON__COUNT ? reasons[r].class_ : CLASS_SOFT;
}

enum bounce_blame
bounce_reason_blame(enum bounce_reason r)
{
	return (unsigned)r < REASON__COUNT ? reasons[r].blame : BLAME_UNKNOWN;
}

bool
bounce_reason_from_name(const char *name, enum bounce_reason *r)
{
	for (int i = 0; i < REASON__COUNT; i++) {
		if (strcmp(reasons[i].name, name) == 0) {
			*r = (enum bounce_reason)i;
			return true;
		}
	}
	return false;
}

struct bounce_report *
bounce_report_new(void)
{
	return xcalloc(1, sizeof(struct bounce_report));
}

static void
recipient_clear(struct bounce_recipient *rc)
{
	free(rc->address);
	free(rc->original_recipient);
	free(rc->action);
	free(rc->diagnostic);
	free(rc->remote_mta);
	free(rc->last_attempt);
	free(rc->feedback_type);
	free(rc->evidence);
	free(rc->rule);
	free(rc->rule_at);
}

void
bounce_report_free(struct bounce_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrcpts; i++)
		recipient_clear(&r->rcpts[i]);
	free(r->rcpts);
	free(r->message_id);
	free(r->original_message_id);
	free(r->original_from);
	free(r->original_to);
	free(r->original_subject);
	free(r->x_tags);
	free(r->reporting_mta);
	free(r->mta_family);
	free(r->verp_address);
	free(r->verp_tag);
	free(r->verp_source);
	free(r->evidence);
	free(r->rules_matched);
	free(r);
}

struct bounce_recipient *
bounce_report_add(struct bounce_report *r, const char *address)
{
	if (r->nrcpts >= LIMIT_RECIPIENTS) {
		r->flags |= BOUNCE_F_TOO_MANY_RCPTS;
		return NULL;
	}
	if (r->nrcpts == r->rcpts_cap) {
		r->rcpts_cap = r->rcpts_cap ? r->rcpts_cap * 2 : 4;
		r->rcpts = xrealloc(r->rcpts, r->rcpts_cap * sizeof r->rcpts[0]);
	}
	struct bounce_recipient *rc = &r->rcpts[r->nrcpts++];
	memset(rc, 0, sizeof *rc);
	rc->address = xstrdup(address != NULL ? address : "");
	rc->action = xstrdup("");
	rc->reason = REASON_UNKNOWN;
	rc->class_ = CLASS_SOFT;
	rc->blame = BLAME_UNKNOWN;
	return rc;
}

struct bounce_recipient *
bounce_report_find(struct bounce_report *r, const char *address)
{
	for (size_t i = 0; i < r->nrcpts; i++)
		if (strcasecmp(r->rcpts[i].address, address) == 0)
			return &r->rcpts[i];
	return NULL;
}

void
bounce_set(char **dst, const char *src)
{
	char *copy = src != NULL ? xstrdup(src) : NULL;
	free(*dst);
	*dst = copy;
}

/* ---- JSON ---- */

static void
kv(struct strbuf *out, const char *key, const char *val, bool comma)
{
	if (comma)
		strbuf_putc(out, ',');
	json_kv(out, key, val != NULL ? val : "");
}

static const char *
reason_out(const struct bounce_recipient *rc)
{
	/* DESIGN.md: ARF "abuse" is complaint; other feedback types keep their name. */
	if (rc->reason == REASON_COMPLAINT && rc->feedback_type != NULL && rc->feedback_type[0] != '\0' &&
	    strcasecmp(rc->feedback_type, "abuse") != 0)
		return rc->feedback_type;
	return bounce_reason_name(rc->reason);
}

/* --explain: what was read of the returned original besides its Message-ID. The X- tags the
 * sender put there ("X-Campaign: 42") become an object; a name seen twice keeps its first. */
static void
original_to_json(const struct bounce_report *r, struct strbuf *out)
{
	strbuf_puts(out, ",\"original\":{");
	kv(out, "from", r->original_from, false);
	kv(out, "to", r->original_to, true);
	kv(out, "subject", r->original_subject, true);
	strbuf_puts(out, ",\"x_tags\":{");
	const char *p = r->x_tags != NULL ? r->x_tags : "";
	bool first = true;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n'), *eol = nl != NULL ? nl : p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL) {
			size_t nlen = (size_t)(colon - p);
			bool seen = false;
			for (const char *q = r->x_tags; q < p && !seen; ) {
				const char *qn = strchr(q, '\n');
				seen = strncasecmp(q, p, nlen) == 0 && q[nlen] == ':';
				q = qn != NULL ? qn + 1 : p;
			}
			if (!seen) {
				const char *v = colon + 1;
				while (v < eol && *v == ' ')
					v++;
				if (!first)
					strbuf_putc(out, ',');
				json_lstring(out, p, nlen);
				strbuf_putc(out, ':');
				json_lstring(out, v, (size_t)(eol - v));
				first = false;
			}
		}
		p = nl != NULL ? nl + 1 : eol;
	}
	strbuf_puts(out, "}}");
}

void
report_to_json(const struct bounce_report *r, const char *source, bool explain, struct strbuf *out)
{
	strbuf_putc(out, '{');
	kv(out, "source", source, false);
	kv(out, "kind", bounce_kind_name(r->kind), true);
	kv(out, "message_id", r->message_id, true);
	kv(out, "original_message_id", r->original_message_id, true);
	strbuf_puts(out, ",\"verp\":");
	if (r->verp_present) {
		strbuf_putc(out, '{');
		kv(out, "address", r->verp_address, false);
		if (r->verp_tag != NULL)
			kv(out, "tag", r->verp_tag, true);
		strbuf_puts(out, r->verp_verified ? ",\"verified\":true" : ",\"verified\":false");
		if (explain)
			kv(out, "source", r->verp_source, true);
		strbuf_putc(out, '}');
	} else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"recipients\":[");
	for (size_t i = 0; i < r->nrcpts; i++) {
		const struct bounce_recipient *rc = &r->rcpts[i];
		if (i > 0)
			strbuf_putc(out, ',');
		strbuf_putc(out, '{');
		kv(out, "address", rc->address, false);
		kv(out, "action", rc->action, true);
		kv(out, "status", rc->status, true);
		kv(out, "smtp_code", rc->smtp_code, true);
		kv(out, "class", bounce_class_name(rc->class_), true);
		kv(out, "reason", reason_out(rc), true);
		kv(out, "blame", bounce_blame_name(rc->blame), true);
		kv(out, "diagnostic", rc->diagnostic, true);
		kv(out, "remote_mta", rc->remote_mta, true);
		if (rc->original_recipient != NULL)
			kv(out, "final_recipient", rc->original_recipient, true);
		if (rc->feedback_type != NULL)
			kv(out, "feedback_type", rc->feedback_type, true);
		if (explain) {
			kv(out, "last_attempt", rc->last_attempt, true);
			kv(out, "evidence", rc->evidence, true);
			kv(out, "rule", rc->rule, true);
			kv(out, "rule_at", rc->rule_at, true);
		}
		strbuf_putc(out, '}');
	}
	strbuf_putc(out, ']');
	if (explain) {
		original_to_json(r, out);
		kv(out, "evidence", r->evidence, true);
		kv(out, "mta_family", r->mta_family, true);
		strbuf_puts(out, ",\"flags\":[");
		bool first = true;
		for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
			if (!(r->flags & flag_names[i].bit))
				continue;
			if (!first)
				strbuf_putc(out, ',');
			json_cstring(out, flag_names[i].name);
			first = false;
		}
		strbuf_putc(out, ']');
		strbuf_puts(out, ",\"rules\":[");
		for (const char *p = r->rules_matched; p != NULL && *p != '\0';) {
			const char *sp = strchr(p, ' ');
			size_t n = sp != NULL ? (size_t)(sp - p) : strlen(p);
			if (p != r->rules_matched)
				strbuf_putc(out, ',');
			json_lstring(out, p, n);
			p += n;
			while (*p == ' ')
				p++;
		}
		strbuf_putc(out, ']');
	}
	strbuf_putc(out, '}');
}

/* ---- pack / unpack: u32 little-endian lengths, 0xffffffff for NULL ---- */

#define PACK_MAGIC "BRP1"
#define PACK_NULL 0xffffffffu

static void
put_u32(struct strbuf *out, uint32_t v)
{
	unsigned char b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
	strbuf_append(out, (const char *)b, 4);
}

static void
put_str(struct strbuf *out, const char *s)
{
	if (s == NULL) {
		put_u32(out, PACK_NULL);
		return;
	}
	size_t n = strlen(s);
	put_u32(out, (uint32_t)n);
	strbuf_append(out, s, n);
}

struct reader {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint32_t
get_u32(struct reader *rd)
{
	if (rd->left < 4) {
		rd->bad = true;
		return 0;
	}
	uint32_t v = (uint32_t)rd->p[0] | (uint32_t)rd->p[1] << 8 | (uint32_t)rd->p[2] << 16 |
	    (uint32_t)rd->p[3] << 24;
	rd->p += 4;
	rd->left -= 4;
	return v;
}

static char *
get_str(struct reader *rd)
{
	uint32_t n = get_u32(rd);
	if (rd->bad || n == PACK_NULL)
		return NULL;
	if (n > rd->left) {
		rd->bad = true;
		return NULL;
	}
	char *s = xstrndup((const char *)rd->p, n);
	rd->p += n;
	rd->left -= n;
	return s;
}

static void
get_fixed(struct reader *rd, char *dst, size_t size)
{
	char *s = get_str(rd);
	dst[0] = '\0';
	if (s != NULL && strlen(s) < size)
		memcpy(dst, s, strlen(s) + 1);
	else if (s != NULL)
		rd->bad = true;
	free(s);
}

void
report_pack(const struct bounce_report *r, struct strbuf *out)
{
	strbuf_append(out, PACK_MAGIC, 4);
	put_u32(out, r->kind);
	put_u32(out, r->flags);
	put_u32(out, (r->verp_present ? 1u : 0u) | (r->verp_verified ? 2u : 0u));
	const char *strs[] = { r->message_id, r->original_message_id, r->original_from,
		r->original_to, r->original_subject, r->x_tags, r->reporting_mta, r->mta_family,
		r->verp_address, r->verp_tag, r->verp_source, r->evidence, r->rules_matched };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		put_str(out, strs[i]);
	put_u32(out, (uint32_t)r->nrcpts);
	for (size_t i = 0; i < r->nrcpts; i++) {
		const struct bounce_recipient *rc = &r->rcpts[i];
		put_u32(out, rc->class_);
		put_u32(out, rc->reason);
		put_u32(out, rc->blame);
		put_str(out, rc->status);
		put_str(out, rc->smtp_code);
		const char *rs[] = { rc->address, rc->original_recipient, rc->action, rc->diagnostic,
			rc->remote_mta, rc->last_attempt, rc->feedback_type, rc->evidence, rc->rule,
			rc->rule_at };
		for (size_t j = 0; j < sizeof rs / sizeof rs[0]; j++)
			put_str(out, rs[j]);
	}
}

struct bounce_report *
report_unpack(const char *p, size_t len)
{
	if (len < 4 || memcmp(p, PACK_MAGIC, 4) != 0)
		return NULL;
	struct reader rd = { (const unsigned char *)p + 4, len - 4, false };
	struct bounce_report *r = bounce_report_new();
	uint32_t kind = get_u32(&rd);
	r->kind = kind <= KIND_HEURISTIC ? (enum bounce_kind)kind : KIND_NONE;
	r->flags = get_u32(&rd);
	uint32_t verp = get_u32(&rd);
	r->verp_present = verp & 1;
	r->verp_verified = (verp & 2) != 0;
	char **strs[] = { &r->message_id, &r->original_message_id, &r->original_from,
		&r->original_to, &r->original_subject, &r->x_tags, &r->reporting_mta, &r->mta_family,
		&r->verp_address, &r->verp_tag, &r->verp_source, &r->evidence, &r->rules_matched };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		*strs[i] = get_str(&rd);
	uint32_t n = get_u32(&rd);
	if (n > LIMIT_RECIPIENTS)
		rd.bad = true;
	for (uint32_t i = 0; i < n && !rd.bad; i++) {
		struct bounce_recipient *rc = bounce_report_add(r, "");
		uint32_t c = get_u32(&rd), reason = get_u32(&rd), blame = get_u32(&rd);
		rc->class_ = c <= CLASS_AUTOREPLY ? (enum bounce_class)c : CLASS_SOFT;
		rc->reason = reason < REASON__COUNT ? (enum bounce_reason)reason : REASON_UNKNOWN;
		rc->blame = blame <= BLAME_UNKNOWN ? (enum bounce_blame)blame : BLAME_UNKNOWN;
		get_fixed(&rd, rc->status, sizeof rc->status);
		get_fixed(&rd, rc->smtp_code, sizeof rc->smtp_code);
		free(rc->address);
		free(rc->action);
		char **rs[] = { &rc->address, &rc->original_recipient, &rc->action, &rc->diagnostic,
			&rc->remote_mta, &rc->last_attempt, &rc->feedback_type, &rc->evidence, &rc->rule,
			&rc->rule_at };
		for (size_t j = 0; j < sizeof rs / sizeof rs[0]; j++)
			*rs[j] = get_str(&rd);
		if (rc->address == NULL)
			rc->address = xstrdup("");
		if (rc->action == NULL)
			rc->action = xstrdup("");
	}
	if (rd.bad || rd.left != 0) {
		bounce_report_free(r);
		return NULL;
	}
	return r;
}
