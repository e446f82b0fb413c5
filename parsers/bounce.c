/* The pipeline: MIME → ARF | DSN | read receipt | auto-reply | heuristic rules → classification
 * → VERP. Each stage is a module of its own; this file only decides the order and what wins. */
#include "bounce.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arf.h"
#include "autoreply.h"
#include "classify.h"
#include "dsn.h"
#include "fieldscan.h"
#include "header.h"
#include "limits.h"
#include "mime.h"
#include "rules.h"
#include "smtpcode.h"
#include "verp.h"

/* Header fields that may carry the envelope recipient of a message read from a mailbox, in the
 * order they are trusted (issue 7). */
static const char *const envelope_fields[] = { "Delivered-To", "X-Original-To", "Envelope-To", "To" };

static char *
field_dup(const char *block, size_t len, const char *name, bool decode)
{
	if (block == NULL)
		return NULL;
	struct strbuf b = STRBUF_INIT;
	bool found = decode ? header_get_decoded(block, len, name, &b) : header_get(block, len, name, &b);
	if (!found || b.len == 0) {
		strbuf_free(&b);
		return NULL;
	}
	return strbuf_detach(&b);
}

/* A field's value as field_dup keeps it: NULL when empty. */
static char *
value_dup(const struct strbuf *val, bool decode)
{
	struct strbuf b = STRBUF_INIT;
	if (decode)
		header_decode_2047(val->s, val->len, &b);
	else
		strbuf_append(&b, val->s, val->len);
	if (b.len == 0) {
		strbuf_free(&b);
		return NULL;
	}
	return strbuf_detach(&b);
}

/* The returned original: its Message-ID, From, To, Subject and the X- tags the sender put there
 * (applications use these to match a bounce to what they sent). One pass over its header
 * block: the first field of each name, as header_get finds it (it reads the field with
 * header_next too). */
static void
read_original(const char *h, size_t hl, struct bounce_report *r)
{
	if (h == NULL)
		return;
	const struct {
		const char *name;
		bool decode;
		char **dst;
	} want[] = {
		{ "Message-ID", false, &r->original_message_id },
		{ "From", true, &r->original_from },
		{ "To", true, &r->original_to },
		{ "Subject", true, &r->original_subject },
	};
	bool got[sizeof want / sizeof want[0]] = { false };
	bool tags_full = false;
	struct header_iter it;
	struct strbuf val = STRBUF_INIT, tags = STRBUF_INIT;
	const char *name;
	size_t nlen;
	header_iter_init(&it, h, hl);
	while (header_next(&it, &name, &nlen, &val)) {
		for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
			if (!got[i] && nlen == strlen(want[i].name) &&
			    strncasecmp(name, want[i].name, nlen) == 0) {
				got[i] = true;
				/* An empty field keeps what another source gave (a read receipt's
				 * Original-Message-ID). */
				char *nv = value_dup(&val, want[i].decode);
				if (nv != NULL) {
					free(*want[i].dst);
					*want[i].dst = nv;
				}
			}
		if (tags_full || nlen < 3 || strncasecmp(name, "X-", 2) != 0)
			continue;
		if (tags.len + nlen + val.len > LIMIT_FIELD_BYTES) {
			tags_full = true;	/* no more tags; the fields above may still come */
			continue;
		}
		strbuf_append(&tags, name, nlen);
		strbuf_puts(&tags, ": ");
		strbuf_append(&tags, val.s, val.len);
		strbuf_putc(&tags, '\n');
	}
	strbuf_free(&val);
	if (tags.len > 0)
		r->x_tags = strbuf_detach(&tags);
	strbuf_free(&tags);
}

static bool
is_message_part(const struct mime_part *p)
{
	return strcmp(p->content_type, "message/rfc822") == 0 ||
	    strcmp(p->content_type, "message/global") == 0;
}

/* The embedded message a part belongs to: the index of its nearest message/rfc822 (or
 * message/global) ancestor, -1 for the message's own parts. */
static int
owner_of(const struct mime_message *m, const struct mime_part *p)
{
	for (int i = p->parent; i >= 0 && (size_t)i < m->nparts; i = m->parts[i].parent)
		if (is_message_part(&m->parts[i]))
			return i;
	return -1;
}

/* The parts a report speaks with: the message's own (owner -1), or those of a report that came
 * attached whole (owner = its message part). */
static bool
spoken_by(const struct mime_message *m, const struct mime_part *p, int owner)
{
	return owner < 0 ? !p->in_returned : owner_of(m, p) == owner;
}

/* The human-readable explanation: the first text part of the report. */
static const struct mime_part *
human_part(const struct mime_message *m, int owner)
{
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];
		if (spoken_by(m, p, owner) && strncmp(p->content_type, "text/", 5) == 0 &&
		    strcmp(p->content_type, "text/rfc822-headers") != 0 && p->body_len > 0)
			return p;
	}
	return NULL;
}

static bool
is_dsn_part(const struct mime_message *m, const struct mime_part *p, int owner)
{
	return spoken_by(m, p, owner) && (strcmp(p->content_type, "message/delivery-status") == 0 ||
	    strcmp(p->content_type, "message/global-delivery-status") == 0);
}

/* A delivery report that came attached whole, as the message's first embedded message: a
 * gateway relaying a bounce it could not deliver itself, or a bounce forwarded as an
 * attachment. It counts only when it is a multipart/report of delivery status sent by a mail
 * system; the user's original mail inside it stays the returned original. Returns the index of
 * its message part, or -1. */
static int
attached_report(const struct mime_message *m, const struct rules *rules,
    struct rules_scratch *sc)
{
	for (size_t i = 0; i + 1 < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i], *body = &m->parts[i + 1];
		if (!is_message_part(p))
			continue;
		if (body->parent != (int)i || strcmp(body->content_type, "multipart/report") != 0 ||
		    body->report_type == NULL || (strcmp(body->report_type, "delivery-status") != 0 &&
		    strcmp(body->report_type, "global-delivery-status") != 0))
			return -1;
		struct mime_message view;
		memset(&view, 0, sizeof view);
		view.headers = p->headers;
		view.headers_len = p->headers_len;
		return rules_is_bounce_sender(rules, sc, &view, NULL) ? (int)i : -1;
	}
	return -1;
}

/* Reads the DSN parts of the report; *owner_r says whose they were (see spoken_by). */
static void
read_dsn(const struct mime_message *m, const struct rules *rules, struct rules_scratch *sc,
    struct bounce_report *r, int *owner_r)
{
	*owner_r = -1;
	for (size_t i = 0; i < m->nparts; i++)
		if (is_dsn_part(m, &m->parts[i], -1))
			dsn_parse(m->parts[i].body, m->parts[i].body_len, r);
	if (r->nrcpts > 0)
		return;
	int attached = attached_report(m, rules, sc);
	if (attached >= 0) {
		for (size_t i = (size_t)attached + 1; i < m->nparts; i++)
			if (is_dsn_part(m, &m->parts[i], attached))
				dsn_parse(m->parts[i].body, m->parts[i].body_len, r);
		if (r->nrcpts > 0) {
			*owner_r = attached;
			return;
		}
	}
	if (!rules_is_bounce_sender(rules, sc, m, r))
		return;
	/* A report from a mail system whose MIME is broken (no or a mangled boundary): the
	 * delivery-status fields are in the text. */
	for (size_t i = 0; i < m->nparts && r->nrcpts == 0; i++) {
		const struct mime_part *p = &m->parts[i];
		if (!p->in_returned && strncmp(p->content_type, "text/", 5) == 0)
			dsn_parse_text(p->body, p->body_len, r);
	}
}

/* A free-form bounce that came attached whole, as the message's first embedded message, sent by
 * a mail system by its own header: a list manager handing the owner a bounce it could not read
 * (Mailman's "Uncaught bounce notification"), a bounce forwarded as an attachment. The
 * embedded message is read by the rules as if it had come itself: its header, its parts (the
 * original it returns, if any, stays returned). Returns the index of its message part when
 * the rules named a recipient, else -1. */
static int
read_attached_bounce(const struct mime_message *m, const struct rules *rules,
    struct rules_scratch *sc, struct bounce_report *r)
{
	size_t at = 0;
	while (at < m->nparts && !is_message_part(&m->parts[at]))
		at++;
	if (at + 1 >= m->nparts || strcmp(m->parts[0].content_type, "multipart/report") == 0)
		return -1;	/* none, or a report's own returned original */
	const struct mime_part *mp = &m->parts[at];
	if (m->parts[at + 1].depth <= mp->depth)
		return -1;	/* a leaf (base64 message/rfc822): not walked */
	struct mime_message view;
	memset(&view, 0, sizeof view);
	view.headers = mp->headers;
	view.headers_len = mp->headers_len;
	if (!rules_is_bounce_sender(rules, sc, &view, NULL))
		return -1;
	size_t n = 0;
	while (at + 1 + n < m->nparts && m->parts[at + 1 + n].depth > mp->depth)
		n++;
	view.parts = xcalloc(n, sizeof *view.parts);
	view.nparts = n;
	for (size_t j = 0; j < n; j++) {
		struct mime_part *v = &view.parts[j];
		*v = m->parts[at + 1 + j];
		v->index = (int)j;
		v->depth -= mp->depth + 1;
		v->parent = v->parent > (int)at ? v->parent - (int)at - 1 : -1;
		/* returned again only under the embedded message's own returned original */
		const struct mime_part *up = v->parent >= 0 ? &view.parts[v->parent] : NULL;
		v->in_returned = (up != NULL && (up->in_returned || is_message_part(up))) ||
		    strcmp(v->content_type, "text/rfc822-headers") == 0;
		if (view.returned_headers == NULL && v->in_returned && (is_message_part(v) ||
		    strcmp(v->content_type, "text/rfc822-headers") == 0)) {
			view.returned_headers = is_message_part(v) ? v->headers : v->body;
			view.returned_headers_len = is_message_part(v) ? v->headers_len : v->body_len;
		}
	}
	size_t added = rules_extract(rules, sc, &view, r);
	free(view.parts);
	return added > 0 ? (int)at : -1;
}

/* A delivery-status part whose recipient fields could not be read ("Final-Recipient: rfc822;
 * @mx.example.org") still says how delivery failed: when it gives one Status, that code is kept
 * for the recipients the text named, where the text gave none. */
static void
keep_dsn_status(const struct mime_message *m, struct bounce_report *r)
{
	char status[SMTPCODE_STATUS_SIZE] = "";
	size_t n = 0;
	for (size_t i = 0; i < m->nparts && n < 2; i++) {
		if (!is_dsn_part(m, &m->parts[i], -1))
			continue;
		const char *cursor = NULL;
		struct strbuf v = STRBUF_INIT;
		while (n < 2 && fieldscan_next(m->parts[i].body, m->parts[i].body_len, &cursor,
		    "Status", &v)) {
			struct smtpcode c;
			smtpcode_scan(v.s, v.len, &c);
			if (c.status[0] != '\0' && strcmp(c.status, status) != 0) {
				memcpy(status, c.status, sizeof status);
				n++;
			}
			strbuf_reset(&v);
		}
		strbuf_free(&v);
	}
	if (n != 1)
		return;
	for (size_t i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].status[0] == '\0' && r->rcpts[i].feedback_type == NULL)
			memcpy(r->rcpts[i].status, status, sizeof r->rcpts[i].status);
}

static void
decode_verp(const struct mime_message *m, const struct bounce_options *opt, struct bounce_report *r)
{
	struct verp_config defcfg;
	const struct verp_config *cfg = opt->verp;
	if (cfg == NULL) {
		verp_config_default(&defcfg);
		cfg = &defcfg;
	}
	const char *source = NULL;
	struct strbuf addr = STRBUF_INIT;
	if (opt->envelope_recipient != NULL && opt->envelope_recipient[0] != '\0') {
		if (!address_extract(opt->envelope_recipient, strlen(opt->envelope_recipient), &addr))
			strbuf_puts(&addr, opt->envelope_recipient);
		source = "envelope recipient";
	} else {
		struct strbuf val = STRBUF_INIT;
		for (size_t i = 0; i < sizeof envelope_fields / sizeof envelope_fields[0]; i++) {
			strbuf_reset(&val);
			if (header_get(m->headers, m->headers_len, envelope_fields[i], &val) &&
			    address_extract(val.s, val.len, &addr)) {
				source = envelope_fields[i];
				break;
			}
		}
		strbuf_free(&val);
	}
	struct verp_result vr;
	memset(&vr, 0, sizeof vr);
	bool found = source != NULL && addr.len > 0 && verp_decode(cfg, addr.s, &vr);
	if (!found && m->returned_headers != NULL) {
		/* The returned original's Return-Path is the envelope sender we used: a feedback loop
		 * delivers complaints to a fixed address, and a signature makes this safe to trust. */
		struct strbuf val = STRBUF_INIT;
		strbuf_reset(&addr);
		if (header_get(m->returned_headers, m->returned_headers_len, "Return-Path", &val) &&
		    address_extract(val.s, val.len, &addr) && verp_decode(cfg, addr.s, &vr)) {
			found = true;
			source = "Return-Path of the returned message";
		}
		strbuf_free(&val);
	}
	if (found) {
		r->verp_present = true;
		r->verp_verified = vr.verified;
		r->verp_address = vr.address;
		r->verp_tag = vr.tag;
		vr.address = vr.tag = NULL;
		bounce_set(&r->verp_source, source);
		verp_result_clear(&vr);
	} else if (cfg->require_signature && r->kind != KIND_NONE && r->kind != KIND_AUTOREPLY) {
		/* Signatures are required and nothing signed names the recipient: whatever the report
		 * says, it must not suppress anyone (a forged bounce to the plain return path). */
		r->verp_present = true;
		r->verp_verified = false;
		bounce_set(&r->verp_source, "none found, and signatures are required");
	}
	strbuf_free(&addr);
}

/* The VERP address says exactly who the original was sent to, whatever the report says
 * (aliases, forwarding): it is the one acted on, and the report's address is kept beside it. */
static void
apply_verp(struct bounce_report *r, const struct mime_message *m, const struct rules *rules,
    struct rules_scratch *sc)
{
	if (!r->verp_present || r->verp_address == NULL || r->kind == KIND_AUTOREPLY)
		return;
	if (bounce_report_find(r, r->verp_address) != NULL)
		return;
	if (r->nrcpts > 0) {
		struct bounce_recipient *rc = &r->rcpts[0];
		if (rc->original_recipient == NULL)
			rc->original_recipient = rc->address;
		else
			free(rc->address);
		rc->address = xstrdup(r->verp_address);
		return;
	}
	/* A bounce that names no address we could read: the VERP names it. */
	if (r->kind == KIND_NONE && !rules_is_bounce_sender(rules, sc, m, r))
		return;
	struct bounce_recipient *rc = bounce_report_add(r, r->verp_address);
	if (rc == NULL)
		return;
	bounce_set(&rc->action, "failed");
	if (r->kind == KIND_NONE) {
		r->kind = KIND_HEURISTIC;
		bounce_set(&r->evidence, "sent by a mail system to a VERP address; no recipient in the text");
	}
}

struct bounce_report *
bounce_parse(const char *msg, size_t len, const struct bounce_options *opt)
{
	static const struct bounce_options noopt;
	if (opt == NULL)
		opt = &noopt;
	const struct rules *rules = opt->rules != NULL ? opt->rules : rules_builtin();
	struct rules_scratch *own = NULL;
	struct rules_scratch *sc = opt->scratch != NULL ? opt->scratch : (own = rules_scratch_new());
	struct bounce_report *r = bounce_report_new();
	struct mime_message *m = mime_parse(msg, len);
	r->flags |= m->flags;
	r->message_id = field_dup(m->headers, m->headers_len, "Message-ID", false);

	int owner = -1;		/* whose report parts speak: see spoken_by */
	if (arf_parse(m, r)) {
		r->kind = KIND_ARF;
		if (r->evidence == NULL)
			bounce_set(&r->evidence, "feedback report (RFC 5965)");
	} else {
		read_dsn(m, rules, sc, r, &owner);
		if (r->nrcpts > 0) {
			r->kind = KIND_DSN;
			bounce_set(&r->evidence, owner < 0 ? "delivery-status part (RFC 3464)" :
			    "delivery-status part of a report attached whole (a relayed or forwarded bounce)");
			/* DSN groups without Status or Diagnostic-Code: the text part says why (with
			 * recipients present, rules_extract only fills fields in). */
			rules_extract(rules, sc, m, r);
		} else if (mdn_parse(m, r)) {
			r->kind = KIND_NONE;
		} else if (autoreply_parse(m, r)) {
			r->kind = KIND_AUTOREPLY;
		} else {
			rules_extract(rules, sc, m, r);	/* sets KIND_HEURISTIC when it finds any */
			keep_dsn_status(m, r);
			if (r->nrcpts == 0 && (owner = read_attached_bounce(m, rules, sc, r)) >= 0) {
				struct strbuf ev = STRBUF_INIT;
				strbuf_printf(&ev, "%s, in a bounce attached whole (a list manager's or a "
				    "person's forward)", r->evidence != NULL ? r->evidence : "");
				free(r->evidence);
				r->evidence = strbuf_detach(&ev);
			}
		}
	}

	/* The returned original: the report's own, or the one inside a report attached whole. */
	const char *oh = owner < 0 ? m->returned_headers : NULL;
	size_t ohl = owner < 0 ? m->returned_headers_len : 0;
	for (size_t i = (size_t)owner + 1; owner >= 0 && i < m->nparts; i++)
		if (is_message_part(&m->parts[i]) && owner_of(m, &m->parts[i]) == owner) {
			oh = m->parts[i].headers;
			ohl = m->parts[i].headers_len;
			break;
		}
	read_original(oh, ohl, r);

	const struct mime_part *hp = human_part(m, owner);
	for (size_t i = 0; i < r->nrcpts; i++) {
		struct bounce_recipient *rc = &r->rcpts[i];
		address_lower_domain(rc->address);
		if (rc->class_ == CLASS_COMPLAINT || rc->class_ == CLASS_AUTOREPLY ||
		    rc->feedback_type != NULL || r->kind == KIND_ARF || r->kind == KIND_AUTOREPLY)
			continue;	/* a feedback report's recipients are classed by their type */
		if (r->kind == KIND_NONE && rc->reason == REASON_DELIVERED)
			continue;	/* read receipt */
		if (classify_recipient(rc, hp != NULL ? hp->body : NULL, hp != NULL ? hp->body_len : 0,
		    rules, sc))
			r->flags |= BOUNCE_F_REGEX_LIMIT;
	}

	decode_verp(m, opt, r);
	size_t before = r->nrcpts;
	apply_verp(r, m, rules, sc);
	if (r->nrcpts > before && classify_recipient(&r->rcpts[before], hp != NULL ? hp->body : NULL,
	    hp != NULL ? hp->body_len : 0, rules, sc))
		r->flags |= BOUNCE_F_REGEX_LIMIT;
	if (r->evidence == NULL)
		bounce_set(&r->evidence, r->kind == KIND_NONE ? "no report part, no auto-reply, no rule matched" : "");
	mime_message_free(m);
	rules_scratch_free(own);
	return r;
}
