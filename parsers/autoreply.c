/* Auto-replies (RFC 3834 and the vacation forms seen in practice) and read receipts (RFC 8098). */
#include "autoreply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fieldscan.h"
#include "header.h"
#include "strbuf.h"

/* Subject words of vacation and auto-reply messages, lowercase (ASCII letters are compared
 * case-insensitively; the other scripts are listed in the case they are written in). */
static const char *const vacation_subjects[] = {
	/* English */
	"out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
	"autoreply", "automatic response", "auto response", "auto-response", "autoresponse",
	"vacation reply", "vacation notice", "on vacation", "away from the office",
	"away from my office", "away until",
	/* German */
	"abwesenheitsnotiz", "automatische antwort", "abwesend",
	/* French */
	"réponse automatique", "reponse automatique", "absence", "absent du bureau",
	/* Spanish */
	"respuesta automática", "respuesta automatica", "fuera de la oficina",
	/* Portuguese */
	"resposta automática", "resposta automatica", "ausência", "ausencia",
	/* Italian */
	"risposta automatica", "fuori sede", "fuori ufficio",
	/* Dutch */
	"automatisch antwoord", "afwezig",
	/* Japanese */
	"自動応答", "自動返信", "不在",
	/* Chinese */
	"自动回复", "自動回覆", "自動回复",
	/* Russian */
	"автоответ", "Автоответ", "автоматический ответ", "Автоматический ответ",
};

/* Local parts of the senders of delivery reports: never an auto-reply. */
static const char *const daemon_locals[] = {
	"mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mailerdaemon",
};

/* Display names and subjects of delivery reports that carry Auto-Submitted too. */
static const char *const report_words[] = {
	"mail delivery", "undeliver", "undelivered", "delivery status notification",
	"returned mail", "failure notice", "delivery failure", "delivery has failed",
	"non remis", "unzustellbar", "nondeliverable", "non-deliverable",
};

/* Case-insensitive substring search for ASCII letters; other bytes compare exactly. */
static bool
contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p != '\0'; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return false;
}

static bool
contains_any(const char *hay, const char *const *list, size_t n, const char **hit_r)
{
	for (size_t i = 0; i < n; i++)
		if (contains(hay, list[i])) {
			if (hit_r != NULL)
				*hit_r = list[i];
			return true;
		}
	return false;
}

/* The first token of a header value, without comments: "auto-replied (vacation)". */
static bool
first_token_is(const char *v, const char *want)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(want);
	return strncasecmp(v, want, n) == 0 &&
	    (v[n] == '\0' || v[n] == ' ' || v[n] == ';' || v[n] == '(' || v[n] == '\t');
}

static bool
from_daemon(const char *from)
{
	struct strbuf a = STRBUF_INIT;
	bool daemon = false;
	if (address_extract(from, strlen(from), &a)) {
		const char *at = strrchr(a.s, '@');
		size_t local = at != NULL ? (size_t)(at - a.s) : a.len;
		for (size_t i = 0; i < sizeof daemon_locals / sizeof daemon_locals[0]; i++)
			if (strlen(daemon_locals[i]) == local && strncasecmp(a.s, daemon_locals[i], local) == 0)
				daemon = true;
	} else if (contains_any(from, daemon_locals, sizeof daemon_locals / sizeof daemon_locals[0], NULL)) {
		daemon = true;
	}
	strbuf_free(&a);
	return daemon || contains_any(from, report_words, sizeof report_words / sizeof report_words[0], NULL);
}

/* True when m carries a machine-readable report (DSN, ARF, MDN) outside the returned original. */
static bool
has_report_part(const struct mime_message *m)
{
	static const char *const types[] = {
		"message/delivery-status", "message/global-delivery-status",
		"message/feedback-report", "message/disposition-notification",
		"message/global-disposition-notification",
	};
	for (size_t i = 0; i < m->nparts; i++) {
		if (m->parts[i].in_returned)
			continue;
		for (size_t j = 0; j < sizeof types / sizeof types[0]; j++)
			if (strcmp(m->parts[i].content_type, types[j]) == 0)
				return true;
	}
	return false;
}

/* Why m is an auto-reply, into ev; false when nothing says so. */
static bool
autoreply_evidence(const struct mime_message *m, struct strbuf *ev)
{
	struct strbuf v = STRBUF_INIT;
	bool yes = false;
	const char *hit = NULL;

	if (header_get(m->headers, m->headers_len, "Auto-Submitted", &v) && v.len > 0 &&
	    !first_token_is(v.s, "no")) {
		strbuf_printf(ev, "Auto-Submitted: %.64s", v.s);
		yes = true;
	}
	strbuf_reset(&v);
	if (!yes && header_get(m->headers, m->headers_len, "Precedence", &v) &&
	    first_token_is(v.s, "auto_reply")) {
		strbuf_puts(ev, "Precedence: auto_reply");
		yes = true;
	}
	static const char *const flags[] = { "X-Autoreply", "X-Autorespond", "X-Autoresponder" };
	for (size_t i = 0; !yes && i < sizeof flags / sizeof flags[0]; i++) {
		strbuf_reset(&v);
		if (header_get(m->headers, m->headers_len, flags[i], &v) &&
		    !first_token_is(v.s, "no") && !first_token_is(v.s, "false")) {
			strbuf_printf(ev, "%s header", flags[i]);
			yes = true;
		}
	}
	/* A subject alone is weak evidence: mailing lists and newsletters ("Absence management
	 * webinar", "Take your dog on vacation") carry list headers, auto-replies never do. */
	static const char *const list_fields[] = { "List-Id", "List-Unsubscribe", "List-Post" };
	for (size_t i = 0; !yes && i < sizeof list_fields / sizeof list_fields[0]; i++) {
		strbuf_reset(&v);
		if (header_get(m->headers, m->headers_len, list_fields[i], &v))
			goto out;
	}
	strbuf_reset(&v);
	if (!yes && header_get(m->headers, m->headers_len, "Precedence", &v) &&
	    (first_token_is(v.s, "bulk") || first_token_is(v.s, "list") || first_token_is(v.s, "junk")))
		goto out;
	strbuf_reset(&v);
	if (!yes && header_get_decoded(m->headers, m->headers_len, "Subject", &v) && v.len > 0 &&
	    !first_token_is(v.s, "fwd:") && !first_token_is(v.s, "fw:") &&
	    contains_any(v.s, vacation_subjects, sizeof vacation_subjects / sizeof vacation_subjects[0], &hit)) {
		strbuf_printf(ev, "vacation subject '%s'", hit);
		yes = true;
	}
out:
	strbuf_free(&v);
	return yes;
}

bool
autoreply_parse(const struct mime_message *m, struct bounce_report *r)
{
	struct strbuf v = STRBUF_INIT, ev = STRBUF_INIT, a = STRBUF_INIT;
	bool ok = false;

	if (has_report_part(m))
		goto out;
	if (header_get_decoded(m->headers, m->headers_len, "From", &v) && from_daemon(v.s))
		goto out;
	strbuf_reset(&v);
	if (header_get_decoded(m->headers, m->headers_len, "Subject", &v) &&
	    contains_any(v.s, report_words, sizeof report_words / sizeof report_words[0], NULL))
		goto out;
	if (!autoreply_evidence(m, &ev))
		goto out;

	static const char *const senders[] = { "From", "Reply-To", "Sender", "Return-Path" };
	for (size_t i = 0; i < sizeof senders / sizeof senders[0] && a.len == 0; i++) {
		strbuf_reset(&v);
		strbuf_reset(&a);
		if (header_get(m->headers, m->headers_len, senders[i], &v) && v.len > 0 &&
		    !address_extract(v.s, v.len, &a))
			strbuf_reset(&a);
	}
	r->kind = KIND_AUTOREPLY;
	bounce_set(&r->evidence, ev.s);
	if (a.len > 0) {
		struct bounce_recipient *rc = bounce_report_add(r, a.s);
		if (rc != NULL) {
			rc->class_ = CLASS_AUTOREPLY;
			rc->reason = REASON_AUTO_REPLY;
			rc->blame = BLAME_NONE;
			bounce_set(&rc->action, "");
			bounce_set(&rc->evidence, ev.s);
		}
	}
	ok = true;
out:
	strbuf_free(&v);
	strbuf_free(&ev);
	strbuf_free(&a);
	return ok;
}

bool
mdn_parse(const struct mime_message *m, struct bounce_report *r)
{
	const struct mime_part *pt = NULL;
	for (size_t i = 0; i < m->nparts && pt == NULL; i++)
		if (!m->parts[i].in_returned &&
		    (strcmp(m->parts[i].content_type, "message/disposition-notification") == 0 ||
		     strcmp(m->parts[i].content_type, "message/global-disposition-notification") == 0))
			pt = &m->parts[i];
	if (pt == NULL)
		return false;

	r->kind = KIND_NONE;
	bounce_set(&r->evidence, "read receipt (message/disposition-notification)");
	struct strbuf v = STRBUF_INIT, a = STRBUF_INIT, disp = STRBUF_INIT;
	static const char *const fields[] = { "Final-Recipient", "Original-Recipient" };
	for (size_t i = 0; i < 2 && a.len == 0; i++) {
		strbuf_reset(&v);
		strbuf_reset(&a);
		if (fieldscan_first(pt->body, pt->body_len, fields[i], &v) && v.len > 0 &&
		    !address_extract(v.s, v.len, &a))
			strbuf_reset(&a);
	}
	if (a.len > 0) {
		struct bounce_recipient *rc = bounce_report_add(r, a.s);
		if (rc != NULL) {
			rc->class_ = CLASS_NONE;
			rc->reason = REASON_DELIVERED;
			rc->blame = BLAME_NONE;
			bounce_set(&rc->action, "");
			fieldscan_first(pt->body, pt->body_len, "Disposition", &disp);
			struct strbuf ev = STRBUF_INIT;
			strbuf_printf(&ev, "read receipt (Disposition: %.128s)", disp.s != NULL ? disp.s : "");
			free(rc->evidence);
			rc->evidence = strbuf_detach(&ev);
		}
	}
	strbuf_free(&v);
	strbuf_free(&a);
	strbuf_free(&disp);
	return true;
}
