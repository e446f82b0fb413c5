/* RFC 5965 abuse reports, and the common complaint forms that are not quite ARF. */
#include "arf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fieldscan.h"
#include "header.h"
#include "limits.h"
#include "strbuf.h"

/* Complaint recipients taken from one report: an abuse report lists one, a few aggregate. */
#define ARF_MAX_FIELDS 256
/* Longest Feedback-Type kept: the registered types (abuse, fraud, not-spam, ...) are under 20
 * characters; it is printed and stored per recipient, so a longer token is cut. */
#define ARF_FEEDBACK_TYPE_MAX 64

/* Adds every address of a comma-separated list (quoted commas respected). */
/* Feedback types in which the recipient asked not to get the mail: a spam or phishing
 * complaint, an opt-out through the feedback loop. The others report on the message, not on
 * the recipient's wish - a DMARC failure (auth-failure: the mail may not even be ours), a
 * virus found, "not-spam" (the user wants it), "other" - and suppress nobody: class none,
 * the type kept as the reason. */
static const char *const complaint_types[] = { "abuse", "fraud", "opt-out", "unsubscribe" };

void
arf_set_class(struct bounce_recipient *rc, const char *ftype)
{
	rc->class_ = CLASS_NONE;
	rc->blame = BLAME_NONE;
	for (size_t i = 0; i < sizeof complaint_types / sizeof complaint_types[0]; i++)
		if (strcmp(ftype, complaint_types[i]) == 0) {
			rc->class_ = CLASS_COMPLAINT;
			rc->blame = BLAME_RECIPIENT;
		}
	rc->reason = REASON_COMPLAINT;	/* printed as the type when it is not abuse */
}

static size_t
add_list(struct bounce_report *r, const char *v, const char *ftype, const char *from)
{
	size_t added = 0;
	const char *p = v;
	while (*p != '\0') {
		if (r->nrcpts >= LIMIT_RECIPIENTS) {	/* a full report takes no more */
			r->flags |= BOUNCE_F_TOO_MANY_RCPTS;
			break;
		}
		const char *s = p;
		bool quoted = false;
		int angle = 0;
		for (; *p != '\0'; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '<')
				angle++;
			else if (*p == '>' && angle > 0)
				angle--;
			else if (*p == ',' && !quoted && angle == 0)
				break;
		}
		struct strbuf a = STRBUF_INIT;
		if (p > s && address_extract(s, (size_t)(p - s), &a) &&
		    bounce_report_find(r, a.s) == NULL) {
			struct bounce_recipient *rc = bounce_report_add(r, a.s);
			if (rc != NULL) {
				arf_set_class(rc, ftype);
				bounce_set(&rc->feedback_type, ftype);
				struct strbuf ev = STRBUF_INIT;
				strbuf_printf(&ev, "ARF Feedback-Type %s%s; recipient from %s", ftype,
				    rc->class_ == CLASS_COMPLAINT ? "" : " (a report on the message, "
				    "not a complaint: suppresses nobody)", from);
				free(rc->evidence);
				rc->evidence = strbuf_detach(&ev);
				added++;
			}
		}
		strbuf_free(&a);
		if (*p == ',')
			p++;
	}
	return added;
}

/* The feedback type as a lowercased token ("abuse"), "abuse" when missing or empty. */
static char *
feedback_type(const char *v)
{
	struct strbuf t = STRBUF_INIT;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0' && *v != ' ' && *v != ';' && *v != '(' && t.len < ARF_FEEDBACK_TYPE_MAX;
	    v++)
		strbuf_putc(&t, (char)((*v >= 'A' && *v <= 'Z') ? *v + 32 : *v));
	if (t.len == 0)
		strbuf_puts(&t, "abuse");
	return strbuf_detach(&t);
}

static bool
has_line_field(const char *text, size_t len, const char *name)
{
	struct strbuf v = STRBUF_INIT;
	bool ok = fieldscan_first(text, len, name, &v);
	strbuf_free(&v);
	return ok;
}

/* The part holding the feedback fields, or NULL when m is not a complaint in report form. */
static const struct mime_part *
find_report_part(const struct mime_message *m)
{
	bool report = false;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mime_part *pt = &m->parts[i];
		if (pt->in_returned)
			continue;
		if (strcmp(pt->content_type, "message/feedback-report") == 0)
			return pt;
		if (strcmp(pt->content_type, "multipart/report") == 0 && pt->report_type != NULL &&
		    strcmp(pt->report_type, "feedback-report") == 0)
			report = true;
	}
	/* A feedback report sent as text/plain, inside multipart/report or any multipart. */
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mime_part *pt = &m->parts[i];
		if (pt->in_returned || strncmp(pt->content_type, "multipart/", 10) == 0)
			continue;
		if ((report || pt->depth > 0) && has_line_field(pt->body, pt->body_len, "Feedback-Type"))
			return pt;
	}
	return NULL;
}

static bool
finish(struct bounce_report *r, const char *what)
{
	r->kind = KIND_ARF;
	bounce_set(&r->evidence, what);
	return true;
}

/* Adds the recipients of a report whose fields are in [text, len). */
static void
add_report_recipients(const struct mime_message *m, const char *text, size_t len,
    const char *ftype, struct bounce_report *r)
{
	struct strbuf v = STRBUF_INIT;
	size_t added = 0;
	const char *cursor = NULL;
	for (size_t i = 0;; i++) {
		strbuf_reset(&v);
		if (!fieldscan_next(text, len, &cursor, "Original-Rcpt-To", &v))
			break;
		if (i == ARF_MAX_FIELDS) {
			r->flags |= BOUNCE_F_TOO_MANY_RCPTS;
			break;
		}
		added += add_list(r, v.s, ftype, "Original-Rcpt-To");
	}
	if (added == 0 && m->returned_headers != NULL) {
		strbuf_reset(&v);
		if (header_get(m->returned_headers, m->returned_headers_len, "To", &v))
			added += add_list(r, v.s, ftype, "the returned message's To");
	}
	if (added == 0) {
		strbuf_reset(&v);
		if (fieldscan_first(text, len, "Removal-Recipient", &v))
			added += add_list(r, v.s, ftype, "Removal-Recipient");
	}
	if (added == 0) {
		/* A complaint about someone the report does not name: keep the event. */
		struct bounce_recipient *rc = bounce_report_add(r, "");
		if (rc != NULL) {
			arf_set_class(rc, ftype);
			bounce_set(&rc->feedback_type, ftype);
			bounce_set(&rc->evidence, "ARF report naming no recipient");
		}
	}
	strbuf_free(&v);
}

bool
arf_parse(const struct mime_message *m, struct bounce_report *r)
{
	struct strbuf v = STRBUF_INIT;
	const struct mime_part *pt = find_report_part(m);
	if (pt != NULL) {
		char *ftype = NULL;
		if (fieldscan_first(pt->body, pt->body_len, "Feedback-Type", &v))
			ftype = feedback_type(v.s);
		else
			ftype = xstrdup("abuse");
		add_report_recipients(m, pt->body, pt->body_len, ftype, r);
		free(ftype);
		strbuf_free(&v);
		return finish(r, "ARF feedback report");
	}

	/* Microsoft's JMRP: a multipart/mixed carrying the original, which names the
	 * complaining recipient in X-HmXmrOriginalRecipient. */
	if (m->returned_headers != NULL &&
	    header_get(m->returned_headers, m->returned_headers_len, "X-HmXmrOriginalRecipient", &v)) {
		if (add_list(r, v.s, "abuse", "X-HmXmrOriginalRecipient") == 0) {
			strbuf_reset(&v);
			if (header_get(m->returned_headers, m->returned_headers_len, "To", &v))
				add_list(r, v.s, "abuse", "the returned message's To");
		}
		strbuf_free(&v);
		return finish(r, "Microsoft JMRP complaint (X-HmXmrOriginalRecipient)");
	}

	/* Feedback-Type in the top-level header (some providers' complaint forwards). */
	strbuf_reset(&v);
	if (header_get(m->headers, m->headers_len, "Feedback-Type", &v) && m->returned_headers != NULL) {
		char *ftype = feedback_type(v.s);
		add_report_recipients(m, m->headers, m->headers_len, ftype, r);
		free(ftype);
		strbuf_free(&v);
		return finish(r, "Feedback-Type header");
	}

	/* Apple Mail's unsubscribe request: the sender asks not to get more mail. */
	strbuf_reset(&v);
	if (header_get(m->headers, m->headers_len, "X-Apple-Unsubscribe", &v) &&
	    strncasecmp(v.s, "true", 4) == 0) {
		strbuf_reset(&v);
		if (header_get(m->headers, m->headers_len, "From", &v))
			add_list(r, v.s, "opt-out", "From (X-Apple-Unsubscribe)");
		strbuf_free(&v);
		return finish(r, "X-Apple-Unsubscribe: true");
	}
	strbuf_free(&v);
	return false;
}
