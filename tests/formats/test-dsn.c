/* dsn_parse: RFC 3464 / RFC 6533 delivery-status bodies, as real MTAs bend them. */
#include <stdlib.h>
#include <string.h>

#include "../core/test.h"
#include "dsn.h"
#include "limits.h"
#include "report.h"
#include "strbuf.h"

struct want_rcpt {
	const char *address, *final, *action, *status, *smtp_code, *diagnostic, *remote_mta,
	    *last_attempt;
};

struct dsn_case {
	const char *name;
	const char *body;
	const char *reporting_mta;
	size_t n;
	struct want_rcpt r[4];
};

static const struct dsn_case cases[] = {
	{ "Action first, then Final- and Original-Recipient: one group (Amazon SES)",
	  "Reporting-MTA: dns; inbound-smtp.example.com\n"
	  "\n"
	  "Action: failed\n"
	  "Final-Recipient: rfc822; ann@example.jp\n"
	  "Original-Recipient: rfc822; ann@example.jp\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 Mailbox does not exist\n"
	  "Status: 5.1.1\n",
	  "inbound-smtp.example.com", 1,
	  { { "ann@example.jp", NULL, "failed", "5.1.1", "550",
	      "550 5.1.1 Mailbox does not exist", NULL, NULL } } },
	{ "no blank line between groups: Original-Recipient after the details starts the next",
	  "Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n"
	  "Original-Recipient: rfc822; b@example.com\nFinal-Recipient: rfc822; b@example.com\n"
	  "Action: failed\nStatus: 5.2.2\n",
	  NULL, 2,
	  { { "a@example.com", NULL, "failed", "5.1.1", "", NULL, NULL, NULL },
	    { "b@example.com", NULL, "failed", "5.2.2", "", NULL, NULL, NULL } } },
	{ "postfix hard",
	  "Reporting-MTA: dns; mail.example.org\n"
	  "X-Postfix-Queue-ID: 4F1B2C3D4E\n"
	  "X-Postfix-Sender: rfc822; sender@example.org\n"
	  "Arrival-Date: Mon, 2 Nov 2026 10:00:00 +0000 (UTC)\n"
	  "\n"
	  "Final-Recipient: rfc822; joe@Example.COM\n"
	  "Original-Recipient: rfc822;joe@Example.COM\n"
	  "Action: failed\n"
	  "Status: 5.1.1\n"
	  "Remote-MTA: dns; mx.example.com\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 <joe@example.com>: Recipient address rejected:\n"
	  "    User unknown in local recipient table\n",
	  "mail.example.org", 1,
	  { { "joe@example.com", NULL, "failed", "5.1.1", "550",
	      "550 5.1.1 <joe@example.com>: Recipient address rejected: User unknown in local recipient table",
	      "mx.example.com", NULL } } },
	{ "comments, upper-case types, Last-Attempt-Date",
	  "Reporting-MTA: DNS; relay.example.net (relay)\n"
	  "\n"
	  "Final-Recipient: RFC822; <ann@example.net> (Ann)\n"
	  "Action: Failed (permanent)\n"
	  "Status: 5.2.2 (mailbox full)\n"
	  "Remote-MTA: DNS; mx1.example.net (192.0.2.7)\n"
	  "Diagnostic-Code: SMTP; 552-5.2.2 The email account that you tried to reach is over quota\n"
	  "Last-Attempt-Date: Tue, 3 Nov 2026 08:00:00 +0100\n",
	  "relay.example.net", 1,
	  { { "ann@example.net", NULL, "failed", "5.2.2", "552",
	      "552-5.2.2 The email account that you tried to reach is over quota",
	      "mx1.example.net", "Tue, 3 Nov 2026 08:00:00 +0100" } } },
	{ "several recipients, one delivered",
	  "Reporting-MTA: dns; mx.example.org\n\n"
	  "Final-Recipient: RFC822; a@example.com\nAction: failed\nStatus: 5.1.1\n"
	  "Diagnostic-Code: SMTP; 550 5.1.1 <a@example.com>... User unknown\n\n"
	  "Final-Recipient: RFC822; b@example.com\nAction: delivered\nStatus: 2.0.0\n\n"
	  "Final-Recipient: RFC822; c@example.com\nAction: delayed\nStatus: 4.4.1\n"
	  "Diagnostic-Code: X-Postfix; connect to mx.example.com[192.0.2.1]:25: Connection timed out\n",
	  "mx.example.org", 3,
	  { { "a@example.com", NULL, "failed", "5.1.1", "550", "550 5.1.1 <a@example.com>... User unknown", NULL, NULL },
	    { "b@example.com", NULL, "delivered", "2.0.0", "", NULL, NULL, NULL },
	    { "c@example.com", NULL, "delayed", "4.4.1", "",
	      "connect to mx.example.com[192.0.2.1]:25: Connection timed out", NULL, NULL } } },
	{ "no blank line between groups, Original before Final: the alias is acted on, the final address kept",
	  "Reporting-MTA: dns; mx.example.org\n"
	  "Original-Recipient: rfc822; list@example.com\n"
	  "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 5.1.1\n"
	  "Original-Recipient: rfc822; y@example.com\n"
	  "Final-Recipient: rfc822; y@example.com\nAction: failed\nStatus: 5.2.1\n",
	  "mx.example.org", 2,
	  { { "list@example.com", "x@example.com", "failed", "5.1.1", "", NULL, NULL, NULL },
	    { "y@example.com", NULL, "failed", "5.2.1", "", NULL, NULL, NULL } } },
	{ "blank line in the middle of a group",
	  "Reporting-MTA: dns; mx.example.org\n\n"
	  "Final-Recipient: rfc822; z@example.com\nAction: failed\n\n"
	  "Status: 5.1.2\nRemote-MTA: dns; mx.example.com\n",
	  "mx.example.org", 1,
	  { { "z@example.com", NULL, "failed", "5.1.2", "", NULL, "mx.example.com", NULL } } },
	{ "every line indented, CRLF endings",
	  "  Reporting-MTA: dns; gw.example.org\r\n\r\n"
	  "  Final-Recipient: rfc822; q@example.com\r\n"
	  "  Action: failed\r\n"
	  "  Status: 5.1.1\r\n"
	  "  Diagnostic-Code: smtp; 550 no such user\r\n"
	  "     here\r\n",
	  "gw.example.org", 1,
	  { { "q@example.com", NULL, "failed", "5.1.1", "550", "550 no such user here", NULL, NULL } } },
	{ "Original-Recipient only",
	  "Reporting-MTA: dns; mx.example.org\n\n"
	  "Original-Recipient: rfc822; orig@example.com\nAction: failed\nStatus: 5.0.0\n",
	  "mx.example.org", 1,
	  { { "orig@example.com", NULL, "failed", "5.0.0", "", NULL, NULL, NULL } } },
	{ "Final-Recipient unreadable: Original wins",
	  "Final-Recipient: rfc822; <>\nOriginal-Recipient: rfc822; o2@example.com\nAction: failed\n",
	  NULL, 1,
	  { { "o2@example.com", NULL, "failed", "", "", NULL, NULL, NULL } } },
	{ "X-Actual-Recipient does not replace Final",
	  "Final-Recipient: RFC822; alias@example.jp\nX-Actual-Recipient: RFC822; real@example.jp\n"
	  "Action: failed\nStatus: 5.1.1\n",
	  NULL, 1,
	  { { "alias@example.jp", NULL, "failed", "5.1.1", "", NULL, NULL, NULL } } },
	{ "X-Actual-Recipient when nothing else",
	  "X-Actual-Recipient: rfc822; act@example.jp\nAction: failed\nStatus: 5.1.1\n",
	  NULL, 1,
	  { { "act@example.jp", NULL, "failed", "5.1.1", "", NULL, NULL, NULL } } },
	{ "RFC 6533 utf-8 address with escapes",
	  "Reporting-MTA: dns; mx.example.org\n\n"
	  "Original-Recipient: utf-8; j\\x{F6}rg@B\\x{FC}cher.example\n"
	  "Final-Recipient: utf-8; j\xc3\xb6rg@B\xc3\xbc" "cher.example\n"
	  "Action: failed\nStatus: 5.1.1\n",
	  "mx.example.org", 1,
	  { { "j\xc3\xb6rg@b\xc3\xbc" "cher.example", NULL, "failed", "5.1.1",
	      "", NULL, NULL, NULL } } },
	{ "the remote's paired code beats Status; a loose code in the text does not",
	  "Final-Recipient: rfc822; p1@example.com\nAction: failed\nStatus: 5.1.1\n"
	  "Diagnostic-Code: SMTP; 550 5.7.1 IP address blacklisted by recipient\n\n"
	  "Final-Recipient: rfc822; p2@example.com\nAction: failed\nStatus: 4.5.0\n"
	  "Diagnostic-Code: smtp; 550 5.5.0 Service refused, please try later\n\n"
	  "Final-Recipient: rfc822; p3@example.com\nAction: failed\nStatus: 5.2.2\n"
	  "Diagnostic-Code: smtp; 550 mailbox unavailable (see 5.1.1)\n\n"
	  "Final-Recipient: rfc822; p4@example.com\nAction: failed\nStatus: 5.0.0\n"
	  "Diagnostic-Code: smtp;\n 5.1.0 - Unknown address error 550-'5.2.2 <p4@example.com>... Mailbox\n Full'\n",
	  NULL, 4,
	  { { "p1@example.com", NULL, "failed", "5.7.1", "550", "550 5.7.1 IP address blacklisted by recipient", NULL, NULL },
	    { "p2@example.com", NULL, "failed", "5.5.0", "550", "550 5.5.0 Service refused, please try later", NULL, NULL },
	    { "p3@example.com", NULL, "failed", "5.2.2", "550", "550 mailbox unavailable (see 5.1.1)", NULL, NULL },
	    { "p4@example.com", NULL, "failed", "5.2.2", "550",
	      "5.1.0 - Unknown address error 550-'5.2.2 <p4@example.com>... Mailbox Full'", NULL, NULL } } },
	{ "Status x.0.0 gives way to a specific code in the text",
	  "Final-Recipient: rfc822; s1@example.com\nAction: failed\nStatus: 5.0.0\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n"
	  "Final-Recipient: rfc822; s2@example.com\nAction: failed\nStatus: 5.2.2\n"
	  "Diagnostic-Code: smtp; 550 user unknown 5.1.1\n\n"
	  "Final-Recipient: rfc822; s3@example.com\nAction: failed\nStatus: 5.0.0\n"
	  "Diagnostic-Code: smtp; 450 4.2.2 later\n",
	  NULL, 3,
	  { { "s1@example.com", NULL, "failed", "5.1.1", "550", "550 5.1.1 user unknown", NULL, NULL },
	    { "s2@example.com", NULL, "failed", "5.2.2", "550", "550 user unknown 5.1.1", NULL, NULL },
	    { "s3@example.com", NULL, "failed", "5.0.0", "450", "450 4.2.2 later", NULL, NULL } } },
	{ "Status missing: code from the text",
	  "Final-Recipient: rfc822; t@example.com\nAction: failed\n"
	  "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; client host blocked\n",
	  NULL, 1,
	  { { "t@example.com", NULL, "failed", "5.7.1", "554",
	      "554 5.7.1 Service unavailable; client host blocked", NULL, NULL } } },
	{ "Diagnostic-Code continued without indentation, no type",
	  "Final-Recipient: rfc822; u@example.com\nAction: failed\nStatus: 5.0.0\n"
	  "Diagnostic-Code: The email account that you tried to reach\n"
	  "does not exist\n",
	  NULL, 1,
	  { { "u@example.com", NULL, "failed", "5.0.0", "",
	      "The email account that you tried to reach does not exist", NULL, NULL } } },
	{ "unknown action, numbers that are not codes",
	  "Final-Recipient: rfc822; v@example.com\nAction: bogus\n"
	  "Diagnostic-Code: smtp; host 192.0.2.55 said 1550 and 5.1.1.4 (not codes)\n",
	  NULL, 1,
	  { { "v@example.com", NULL, "", "", "", "host 192.0.2.55 said 1550 and 5.1.1.4 (not codes)", NULL, NULL } } },
	{ "Status with a space before the colon",
	  "Final-Recipient: rfc822; w@example.com\nAction : failed\nStatus : 4.4.7\n",
	  NULL, 1,
	  { { "w@example.com", NULL, "failed", "4.4.7", "", NULL, NULL, NULL } } },
	{ "Exim order: Action before Final-Recipient",
	  "Reporting-MTA: dns; mail.example.org\n\n"
	  "Action: failed\nFinal-Recipient: rfc822;e1@example.com\nStatus: 5.0.0\n"
	  "Remote-MTA: dns; mx.example.com\nDiagnostic-Code: smtp; 550 5.1.1 <e1@example.com>: unknown user\n\n"
	  "Action: delayed\nFinal-Recipient: rfc822;e2@example.com\nStatus: 4.0.0\n",
	  "mail.example.org", 2,
	  { { "e1@example.com", NULL, "failed", "5.1.1", "550", "550 5.1.1 <e1@example.com>: unknown user",
	      "mx.example.com", NULL },
	    { "e2@example.com", NULL, "delayed", "4.0.0", "", NULL, NULL, NULL } } },
	{ "damaged Action with a permanent Status",
	  "Final-Recipient: RFC822; d@example.or.jp\nction: failed\nStatus: 5.3.0\nDiagnostic-Code: X-Unix; 77\n",
	  NULL, 1, { { "d@example.or.jp", NULL, "failed", "5.3.0", "", "77", NULL, NULL } } },
	{ "no recipient at all", "Reporting-MTA: dns; a.example\n\nAction: failed\nStatus: 5.1.1\n",
	  "a.example", 0, { { NULL } } },
	{ "empty", "", NULL, 0, { { NULL } } },
	{ "prose", "This is not a report.\nJust: text\n", NULL, 0, { { NULL } } },
};

static void
check_case(const struct dsn_case *c)
{
	struct bounce_report *r = bounce_report_new();
	size_t n = dsn_parse(c->body, strlen(c->body), r);
	printf("# %s\n", c->name);
	CHECK_INT("count", n, c->n);
	CHECK_INT("nrcpts", r->nrcpts, c->n);
	CHECK_STR("reporting_mta", r->reporting_mta, c->reporting_mta);
	for (size_t i = 0; i < c->n && i < r->nrcpts; i++) {
		const struct want_rcpt *w = &c->r[i];
		const struct bounce_recipient *g = &r->rcpts[i];
		CHECK_STR("address", g->address, w->address);
		CHECK_STR("final recipient", g->original_recipient, w->final);
		CHECK_STR("action", g->action, w->action);
		CHECK_STR("status", g->status, w->status);
		CHECK_STR("smtp_code", g->smtp_code, w->smtp_code);
		CHECK_STR("diagnostic", g->diagnostic, w->diagnostic);
		CHECK_STR("remote_mta", g->remote_mta, w->remote_mta);
		CHECK_STR("last_attempt", g->last_attempt, w->last_attempt);
	}
	bounce_report_free(r);
}

/* Where the status came from, for --explain: the Status field, or the Diagnostic-Code (and
 * then what the Status field said). */
static const struct {
	const char *fields, *status;
	bool from_diag;
	const char *reported;
} origin_cases[] = {
	{ "Status: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n", "5.1.1", true, "5.0.0" },
	{ "Status: 5.1.1\nDiagnostic-Code: smtp; 554 5.7.1 client host blocked\n", "5.7.1", true,
	  "5.1.1" },
	{ "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n", "5.1.1", false, "" },
	{ "Diagnostic-Code: smtp; 554 5.7.1 client host blocked\n", "5.7.1", true, "" },
	{ "Status: 5.2.2\nDiagnostic-Code: smtp; 550 user unknown 5.1.1\n", "5.2.2", false, "" },
	{ "Status: 4.4.1\n", "4.4.1", false, "" },
	/* the multi-line form of the same reply reads as the one-line form (issue 13) */
	{ "Status: 5.1.1\nDiagnostic-Code: smtp; 550-5.7.1 [TS01] Messages from 192.0.2.1 blocked\n",
	  "5.7.1", true, "5.1.1" },
	{ "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.7.1 [TS01] Messages from 192.0.2.1 blocked\n",
	  "5.7.1", true, "5.1.1" },
	{ "Status: 5.1.1\nDiagnostic-Code: smtp; #550 5.1.1 RESOLVER.ADR.RecipNotFound\n", "5.1.1",
	  false, "" },
	{ "Status: 5.0.0\nDiagnostic-Code: X-Unix; 67\n", "5.0.0", false, "" },
};

static void
check_origin(void)
{
	for (size_t i = 0; i < sizeof origin_cases / sizeof origin_cases[0]; i++) {
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "Final-Recipient: rfc822; o@example.com\nAction: failed\n%s",
		    origin_cases[i].fields);
		struct bounce_report *r = bounce_report_new();
		dsn_parse(b.s, b.len, r);
		printf("# status origin, row %zu\n", i);
		CHECK_INT("nrcpts", r->nrcpts, 1);
		if (r->nrcpts == 1) {
			CHECK_STR("status", r->rcpts[0].status, origin_cases[i].status);
			CHECK_INT("status_from_diag", r->rcpts[0].status_from_diag,
			    origin_cases[i].from_diag);
			CHECK_STR("reported_status", r->rcpts[0].reported_status,
			    origin_cases[i].reported);
		}
		bounce_report_free(r);
		strbuf_free(&b);
	}
}

/* Limits: a long diagnostic is cut at LIMIT_DIAGNOSTIC_BYTES on a character boundary; a report
 * listing more than LIMIT_RECIPIENTS stops there; every prefix of every case parses. */
static void
check_limits(void)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_puts(&b, "Final-Recipient: rfc822; long@example.com\nAction: failed\nDiagnostic-Code: smtp; 550 ");
	for (size_t i = 0; i < LIMIT_DIAGNOSTIC_BYTES; i++)
		strbuf_puts(&b, "\xc3\xa9");	/* two bytes each: the cut falls inside one */
	struct bounce_report *r = bounce_report_new();
	CHECK_INT("long diag count", dsn_parse(b.s, b.len, r), 1);
	CHECK_INT("long diag cut", r->nrcpts == 1 && strlen(r->rcpts[0].diagnostic) <= LIMIT_DIAGNOSTIC_BYTES &&
	    strlen(r->rcpts[0].diagnostic) >= LIMIT_DIAGNOSTIC_BYTES - 1, 1);
	CHECK_INT("long diag boundary", r->nrcpts == 1 &&
	    ((unsigned char)r->rcpts[0].diagnostic[strlen(r->rcpts[0].diagnostic) - 1]) == 0xa9, 1);
	bounce_report_free(r);

	strbuf_reset(&b);
	for (size_t i = 0; i < LIMIT_RECIPIENTS + 5; i++)
		strbuf_printf(&b, "Final-Recipient: rfc822; r%zu@example.com\nAction: failed\n\n", i);
	r = bounce_report_new();
	CHECK_INT("recipient limit", dsn_parse(b.s, b.len, r), LIMIT_RECIPIENTS);
	CHECK_INT("recipient limit nrcpts", r->nrcpts, LIMIT_RECIPIENTS);
	bounce_report_free(r);
	strbuf_free(&b);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].body);
		for (size_t k = 0; k <= len; k++) {
			char *copy = xmalloc(k);	/* exact size, no NUL: the sanitizer sees overreads */
			memcpy(copy, cases[i].body, k);
			r = bounce_report_new();
			dsn_parse(copy, k, r);
			bounce_report_free(r);
			free(copy);
		}
	}
}

struct text_case {
	const char *name;
	const char *text;
	size_t n;
	const char *address, *status;
};

static const struct text_case text_cases[] = {
	{ "report fields inline after prose, returned headers after them",
	  "The original message was received at Thu, 29 Apr 1999 23:34:45 -0500\n"
	  "   ----- The following addresses had permanent fatal errors -----\n"
	  "Status: see below\n\n"
	  "Reporting-MTA: dns; mx.example.edu\n\n"
	  "Final-Recipient: RFC822; k@mx.example.edu\nAction: failed\nStatus: 5.5.0\n\n"
	  "Return-Path: <s@example.com>\nFrom: s@example.com\nTo: k@example.edu\nSubject: hi\n\nbody\n",
	  1, "k@mx.example.edu", "5.5.0" },
	{ "a quoted report is not a report",
	  "> Final-Recipient: rfc822; q@example.com\n> Action: failed\n> Status: 5.1.1\n", 0, NULL, NULL },
	{ "a recipient field without Action or Status after it",
	  "Final-Recipient: rfc822; q@example.com\nThanks!\n", 0, NULL, NULL },
	{ "Action before the start does not count",
	  "Action: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; q@example.com\n", 0, NULL, NULL },
	{ "plain prose", "Hello,\nsee you tomorrow.\n", 0, NULL, NULL },
};

static void
check_text(void)
{
	for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
		const struct text_case *c = &text_cases[i];
		struct bounce_report *r = bounce_report_new();
		printf("# text: %s\n", c->name);
		CHECK_INT("count", dsn_parse_text(c->text, strlen(c->text), r), c->n);
		if (c->n > 0 && r->nrcpts > 0) {
			CHECK_STR("address", r->rcpts[0].address, c->address);
			CHECK_STR("status", r->rcpts[0].status, c->status);
		}
		bounce_report_free(r);
	}
}

/* ISO-2022-JP written raw into a DSN field is decoded (issue 13). */
static void
check_jis(void)
{
	const char *body = "Final-Recipient: rfc822; ken@example.jp\nAction: failed\nStatus: 5.1.1\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 \x1b$B08@hITL@$G$9\x1b(B\n";
	struct bounce_report *r = bounce_report_new();
	dsn_parse(body, strlen(body), r);
	CHECK_INT("jis: nrcpts", r->nrcpts, 1);
	if (r->nrcpts == 1)
		CHECK_STR("jis: diagnostic", r->rcpts[0].diagnostic,
		    "550 5.1.1 \xe5\xae\x9b\xe5\x85\x88\xe4\xb8\x8d\xe6\x98\x8e\xe3\x81\xa7\xe3\x81\x99");
	bounce_report_free(r);
}

int
main(void)
{
	check_text();
	check_jis();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
	check_limits();
	check_origin();
	return TEST_DONE();
}
