/* Auto-replies (RFC 3834 and the vacation forms seen in practice) and read receipts (RFC 8098). */
#include "autoreply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fieldscan.h"
#include "header.h"
#include "strbuf.h"

/* How a vacation phrase may stand at the start of a subject. */
enum phrase_form {
	/* Alone, or before a separator (":", "-", "]"...): "Out of Office: Re: report". Followed by
	 * more words it is a person's subject ("Out of office schedule for December"). */
	PHRASE_WHOLE,
	/* Followed by anything: "Away until May 5", "不在のお知らせ". */
	PHRASE_LEAD,
};

/* Subject phrases of vacation and auto-reply messages, as responders write them at the start of
 * the subject (alone, or as their own prefix before the original subject). ASCII letters are
 * compared case-insensitively; other letters are listed in the case responders write them. */
static const struct {
	const char *text;
	enum phrase_form form;
} vacation_subjects[] = {
	/* English (Outlook, Exchange, Apple Mail, Zimbra, vacation(1)) */
	{ "out of office autoreply", PHRASE_WHOLE }, { "out of office auto reply", PHRASE_WHOLE },
	{ "out of office reply", PHRASE_WHOLE }, { "out of office", PHRASE_WHOLE },
	{ "out of the office", PHRASE_WHOLE }, { "out of office until", PHRASE_LEAD },
	{ "out of the office until", PHRASE_LEAD }, { "automatic reply", PHRASE_WHOLE },
	{ "auto reply", PHRASE_WHOLE }, { "auto-reply", PHRASE_WHOLE }, { "autoreply", PHRASE_WHOLE },
	{ "automatic response", PHRASE_WHOLE }, { "auto response", PHRASE_WHOLE },
	{ "auto-response", PHRASE_WHOLE }, { "autoresponse", PHRASE_WHOLE },
	{ "vacation reply", PHRASE_WHOLE }, { "vacation notice", PHRASE_WHOLE },
	{ "on vacation", PHRASE_WHOLE }, { "on vacation until", PHRASE_LEAD },
	{ "away from the office", PHRASE_WHOLE }, { "away from my office", PHRASE_WHOLE },
	{ "away until", PHRASE_LEAD },
	/* German */
	{ "abwesenheitsnotiz", PHRASE_WHOLE }, { "automatische antwort", PHRASE_WHOLE },
	{ "abwesend", PHRASE_WHOLE },
	/* French */
	{ "réponse automatique", PHRASE_WHOLE },
	{ "reponse automatique", PHRASE_WHOLE }, { "absence", PHRASE_WHOLE },
	{ "absent du bureau", PHRASE_WHOLE }, { "absence du bureau", PHRASE_WHOLE },
	/* Spanish */
	{ "respuesta automática", PHRASE_WHOLE }, { "respuesta automatica", PHRASE_WHOLE },
	{ "fuera de la oficina", PHRASE_WHOLE },
	/* Portuguese */
	{ "resposta automática", PHRASE_WHOLE }, { "resposta automatica", PHRASE_WHOLE },
	{ "ausência", PHRASE_WHOLE }, { "ausencia", PHRASE_WHOLE },
	/* Italian */
	{ "risposta automatica", PHRASE_WHOLE }, { "fuori sede", PHRASE_WHOLE },
	{ "fuori ufficio", PHRASE_WHOLE },
	/* Dutch */
	{ "automatisch antwoord", PHRASE_WHOLE }, { "afwezig", PHRASE_WHOLE },
	/* Scandinavian, Finnish, Polish, Czech (Outlook's "Automatic reply" in those languages) */
	{ "automatiskt svar", PHRASE_WHOLE }, { "automatisk svar", PHRASE_WHOLE },
	{ "automaattinen vastaus", PHRASE_WHOLE }, { "automatyczna odpowiedź", PHRASE_WHOLE },
	{ "automatická odpověď", PHRASE_WHOLE },
	/* Japanese */
	{ "自動応答", PHRASE_LEAD }, { "自動返信", PHRASE_LEAD }, { "不在のお知らせ", PHRASE_LEAD },
	{ "不在", PHRASE_WHOLE },
	/* Chinese */
	{ "自动回复", PHRASE_LEAD }, { "自動回覆", PHRASE_LEAD }, { "自動回复", PHRASE_LEAD },
	{ "自动答复", PHRASE_LEAD },
	/* Russian */
	{ "автоответ", PHRASE_WHOLE }, { "Автоответ", PHRASE_WHOLE },
	{ "автоматический ответ", PHRASE_WHOLE }, { "Автоматический ответ", PHRASE_WHOLE },
};

/* Bracketed tags skipped before the phrase ("[EXTERNAL] Automatic reply: ..."): gateways add
 * one or two; responders themselves never put more than one ("[Auto-Reply] ..."). */
#define SUBJECT_TAGS_MAX 2
/* Longest bracketed tag skipped: "[EXTERNAL]", "[SPAM?]"; a longer bracket is the subject. */
#define SUBJECT_TAG_BYTES 32

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

/* Skips blanks, including U+00A0 and U+202F (French typography puts one before the colon). */
static const char *
skip_blanks(const char *p)
{
	for (;;) {
		if (*p == ' ' || *p == '\t')
			p++;
		else if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0)
			p += 2;
		else if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
		    (unsigned char)p[2] == 0xaf)
			p += 3;
		else
			return p;
	}
}

/* True when p (after a phrase) ends the subject or is a separator a responder puts between its
 * phrase and the original subject or a date. */
static bool
phrase_ends(const char *p)
{
	static const char *const seps[] = {
		":", "-", "]", ")", ".", "!", ",", ";", "|", "/",
		"\xef\xbc\x9a",	/* U+FF1A fullwidth colon */
		"\xe2\x80\x93", "\xe2\x80\x94",	/* en and em dash */
		"\xe3\x80\x91",	/* U+3011 right black lenticular bracket */
	};
	p = skip_blanks(p);
	if (*p == '\0')
		return true;
	for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++)
		if (strncmp(p, seps[i], strlen(seps[i])) == 0)
			return true;
	return false;
}

/* The vacation phrase p starts with, in a form it may take there; NULL when none. */
static const char *
phrase_at(const char *p)
{
	for (size_t i = 0; i < sizeof vacation_subjects / sizeof vacation_subjects[0]; i++) {
		size_t n = strlen(vacation_subjects[i].text);
		if (strncasecmp(p, vacation_subjects[i].text, n) == 0 &&
		    (vacation_subjects[i].form == PHRASE_LEAD || phrase_ends(p + n)))
			return vacation_subjects[i].text;
	}
	return NULL;
}

/* The phrase a vacation subject starts with: at the start, inside a leading bracket
 * ("[Auto-Reply] ..."), or after a gateway's tags ("[EXTERNAL] Automatic reply: ..."). A phrase
 * anywhere else is a person's subject: "Re: Out of Office" or "AW: Abwesenheitsnotiz: ..."
 * answers an auto-reply, "Fwd: Automatic reply: ..." forwards one. NULL when none. */
static const char *
vacation_subject(const char *subject)
{
	static const struct {
		const char *open, *close;
	} brackets[] = { { "[", "]" }, { "\xe3\x80\x90", "\xe3\x80\x91" } };	/* U+3010, U+3011 */
	const char *p = skip_blanks(subject), *hit;
	for (int tags = 0; ; tags++) {
		if ((hit = phrase_at(p)) != NULL)
			return hit;
		size_t b = 0;
		while (b < sizeof brackets / sizeof brackets[0] &&
		    strncmp(p, brackets[b].open, strlen(brackets[b].open)) != 0)
			b++;
		if (b == sizeof brackets / sizeof brackets[0])
			return NULL;
		p += strlen(brackets[b].open);
		if ((hit = phrase_at(skip_blanks(p))) != NULL)
			return hit;	/* the responder's own bracket: "[Auto-Reply] ..." */
		if (tags == SUBJECT_TAGS_MAX)
			return NULL;
		const char *close = NULL;
		size_t clen = strlen(brackets[b].close);
		for (size_t i = 0; close == NULL && i < SUBJECT_TAG_BYTES && p[i] != '\0'; i++)
			if (strncmp(p + i, brackets[b].close, clen) == 0)
				close = p + i;
		if (close == NULL)
			return NULL;
		p = skip_blanks(close + clen);
	}
}

/* Why m is an auto-reply, into ev; false when nothing says so. */
static bool
autoreply_evidence(const struct mime_message *m, struct strbuf *ev)
{
	struct strbuf v = STRBUF_INIT;
	bool yes = false;
	const char *hit = NULL;

	/* RFC 3834 5: only "auto-replied" is a response. "auto-generated" (a notification, a
	 * report, a newsletter robot) and "auto-notified" (RFC 5436) are not replies: alone they
	 * make a message kind none; a vacation subject may still decide below. */
	if (header_get(m->headers, m->headers_len, "Auto-Submitted", &v) &&
	    first_token_is(v.s, "auto-replied")) {
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
	    (hit = vacation_subject(v.s)) != NULL) {
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
	/* RFC 8098 3.2.5: Original-Message-ID names the message this receipt is for. A returned
	 * original's own non-empty Message-ID, when it has one, is read later (bounce.c) and
	 * wins. */
	if (r->original_message_id == NULL &&
	    fieldscan_first(pt->body, pt->body_len, "Original-Message-ID", &v) && v.len > 0)
		r->original_message_id = strbuf_detach(&v);
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
