/* arf_parse: RFC 5965 feedback reports and the common complaint forms around them. */
#include "../core/test.h"
#include "arf.h"
#include "limits.h"
#include "msg.h"
#include "report.h"

#define REPORT_TOP { "multipart/report", "feedback-report", 0, false, "" }
#define HUMAN(text) { "text/plain", NULL, 1, false, text }
#define FEEDBACK(fields) { "message/feedback-report", NULL, 1, false, fields }
#define ORIGINAL { "message/rfc822", NULL, 1, true, "Hello\n" }

struct arf_case {
	const char *name;
	struct msg_spec msg;
	bool is_arf;
	size_t n;
	const char *address[3];
	const char *feedback_type;	/* of every recipient */
	bool not_complaint;		/* class none, blame none: a report on the message */
};

static const struct arf_case cases[] = {
	{ "abuse with Original-Rcpt-To",
	  { "From: fbl@isp.example\nTo: fbl@sender.example\nSubject: Abuse report\n",
	    "From: news@sender.example\nTo: someone-else@example.net\nMessage-ID: <m1@sender.example>\n",
	    { REPORT_TOP, HUMAN("This is an abuse report.\n"),
	      FEEDBACK("Feedback-Type: abuse\nUser-Agent: ExampleFBL/1.0\nVersion: 1\n"
		       "Original-Mail-From: <news@sender.example>\nOriginal-Rcpt-To: <Joe@Example.COM>\n"),
	      ORIGINAL } },
	  true, 1, { "Joe@example.com" }, "abuse", false },
	{ "no Original-Rcpt-To: the returned message's To (two addresses)",
	  { "From: fbl@isp.example\nTo: fbl@sender.example\n",
	    "From: news@sender.example\nTo: \"Smith, Ann\" <ann@Example.NET>, bob@example.net\n",
	    { REPORT_TOP, HUMAN("report\n"), FEEDBACK("Feedback-Type: abuse\nVersion: 1\n"), ORIGINAL } },
	  true, 2, { "ann@example.net", "bob@example.net" }, "abuse", false },
	{ "not-spam keeps its name, type lowercased, comment dropped",
	  { "From: fbl@isp.example\n", "To: carol@example.org\n",
	    { REPORT_TOP, HUMAN("report\n"), FEEDBACK("Feedback-Type: Not-Spam (user moved it)\nVersion: 1\n"), ORIGINAL } },
	  true, 1, { "carol@example.org" }, "not-spam", true },
	{ "auth-failure (a DMARC failure report) suppresses nobody",
	  { "From: dmarc@isp.example\n", "To: Victim@mail.example.net\n",
	    { REPORT_TOP, HUMAN("report\n"),
	      FEEDBACK("Feedback-Type: auth-failure\nAuth-Failure: dmarc\nVersion: 1\n"), ORIGINAL } },
	  true, 1, { "Victim@mail.example.net" }, "auth-failure", true },
	{ "virus: a report on the message",
	  { "From: av@isp.example\n", NULL,
	    { REPORT_TOP, HUMAN("report\n"),
	      FEEDBACK("Feedback-Type: virus\nOriginal-Rcpt-To: v@example.org\n") } },
	  true, 1, { "v@example.org" }, "virus", true },
	{ "other: not a complaint either",
	  { "From: fbl@isp.example\n", NULL,
	    { REPORT_TOP, HUMAN("report\n"),
	      FEEDBACK("Feedback-Type: other\nOriginal-Rcpt-To: o@example.org\n") } },
	  true, 1, { "o@example.org" }, "other", true },
	{ "fraud, several Original-Rcpt-To, duplicates once",
	  { "From: fbl@isp.example\n", "To: other@example.org\n",
	    { REPORT_TOP, HUMAN("report\n"),
	      FEEDBACK("Feedback-Type: fraud\nOriginal-Rcpt-To: a@example.org\nOriginal-Rcpt-To: b@example.org\n"
		       "Original-Rcpt-To: A@example.org\n"),
	      ORIGINAL } },
	  true, 2, { "a@example.org", "b@example.org" }, "fraud", false },
	{ "Removal-Recipient when nothing else names one",
	  { "From: fbl@isp.example\n", NULL,
	    { REPORT_TOP, HUMAN("report\n"), FEEDBACK("Feedback-Type: opt-out\nRemoval-Recipient: dave@example.org\n") } },
	  true, 1, { "dave@example.org" }, "opt-out", false },
	{ "no recipient anywhere: one row without an address",
	  { "From: fbl@isp.example\n", "To: <Undisclosed Recipients>\n",
	    { REPORT_TOP, HUMAN("report\n"), FEEDBACK("Feedback-Type: abuse\nVersion: 0.1\n"), ORIGINAL } },
	  true, 1, { "" }, "abuse", false },
	{ "feedback fields in a text/plain part of a feedback-report",
	  { "From: fbl@isp.example\n", "To: erin@example.org\n",
	    { REPORT_TOP, HUMAN("Feedback-Type: abuse\nUser-Agent: old/1\nOriginal-Rcpt-To: erin@example.org\n"), ORIGINAL } },
	  true, 1, { "erin@example.org" }, "abuse", false },
	{ "message/feedback-report inside multipart/mixed",
	  { "From: fbl@isp.example\n", "To: frank@example.org\n",
	    { { "multipart/mixed", NULL, 0, false, "" }, FEEDBACK("Feedback-Type: virus\n"), ORIGINAL } },
	  true, 1, { "frank@example.org" }, "virus", true },
	{ "Microsoft JMRP",
	  { "From: staff@hotmail.example\nSubject: complaint about message from 192.0.2.1\n",
	    "X-HmXmrOriginalRecipient: gina@example.com\nTo: gina@example.com\n",
	    { { "multipart/mixed", NULL, 0, false, "" }, ORIGINAL } },
	  true, 1, { "gina@example.com" }, "abuse", false },
	{ "Apple Mail unsubscribe",
	  { "From: hank@icloud.example\nSubject: unsubscribe\nX-Apple-Unsubscribe: true\nAuto-Submitted: auto-replied\n",
	    NULL, { { NULL } } },
	  true, 1, { "hank@icloud.example" }, "opt-out", false },
	{ "a DSN is not ARF",
	  { "From: MAILER-DAEMON@mx.example\n", "To: x@example.org\n",
	    { { "multipart/report", "delivery-status", 0, false, "" }, HUMAN("failed\n"),
	      { "message/delivery-status", NULL, 1, false, "Final-Recipient: rfc822; x@example.org\n" }, ORIGINAL } },
	  false, 0, { NULL }, NULL, false },
	{ "a feedback report inside the returned original is not ours",
	  { "From: joe@example.org\n", "To: x@example.org\n",
	    { { "multipart/mixed", NULL, 0, false, "" }, HUMAN("see attached\n"), ORIGINAL,
	      { "message/feedback-report", NULL, 2, true, "Feedback-Type: abuse\n" } } },
	  false, 0, { NULL }, NULL, false },
	{ "plain message", { "From: joe@example.org\nSubject: hi\n", NULL, { { NULL } } }, false, 0, { NULL }, NULL, false },
};

/* A report listing thousands of recipients stops at ARF_MAX_FIELDS fields (256), in one pass. */
static void
check_many(void)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_puts(&b, "Feedback-Type: abuse\n");
	for (int i = 0; i < 5000; i++)
		strbuf_printf(&b, "Original-Rcpt-To: u%d@example.org\n", i);
	struct msg_spec spec = { "From: fbl@isp.example\n", NULL,
		{ REPORT_TOP, { "message/feedback-report", NULL, 1, false, b.s } } };
	struct mime_message *m = msg_build(&spec);
	struct bounce_report *r = bounce_report_new();
	printf("# many Original-Rcpt-To\n");
	CHECK_INT("is_arf", arf_parse(m, r), 1);
	CHECK_INT("nrcpts capped", r->nrcpts, 256);
	bounce_report_free(r);
	msg_free(m);
	strbuf_free(&b);
}

/* A field value is cut at LIMIT_FIELD_BYTES from its first line on, as a header field is: an
 * Original-Rcpt-To whose address comes after 16 KiB of blanks names nobody, and the returned
 * message's To is used. */
static void
check_long_first_line(void)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_puts(&b, "Feedback-Type: abuse\nOriginal-Rcpt-To: ");
	for (size_t i = 0; i < LIMIT_FIELD_BYTES; i++)
		strbuf_putc(&b, ' ');
	strbuf_puts(&b, "far@example.org\nVersion: 1\n");
	struct msg_spec spec = { "From: fbl@isp.example\n", "To: near@example.org\n",
		{ REPORT_TOP, { "message/feedback-report", NULL, 1, false, b.s }, ORIGINAL } };
	struct mime_message *m = msg_build(&spec);
	struct bounce_report *r = bounce_report_new();
	printf("# Original-Rcpt-To over LIMIT_FIELD_BYTES on its first line\n");
	CHECK_INT("is_arf", arf_parse(m, r), 1);
	CHECK_INT("nrcpts", r->nrcpts, 1);
	if (r->nrcpts == 1)
		CHECK_STR("address", r->rcpts[0].address, "near@example.org");
	bounce_report_free(r);
	msg_free(m);
	strbuf_free(&b);
}

/* Hostile report bodies (random bytes drawn from field-ish characters) never crash or hang. */
static void
check_random(void)
{
	static const char alphabet[] = "Feedback-Type:Original-Rcpt-To: <>@,\"\n\t ab;()\xc3\xa9\x00";
	unsigned int seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char body[512];
		size_t n = (size_t)(round % (int)sizeof body);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			body[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		struct strbuf b = STRBUF_INIT;
		strbuf_append(&b, body, n);
		struct msg_spec spec = { "From: fbl@isp.example\n", b.s != NULL ? b.s : "",
			{ REPORT_TOP, { "message/feedback-report", NULL, 1, false, b.s != NULL ? b.s : "" } } };
		struct mime_message *m = msg_build(&spec);
		struct bounce_report *r = bounce_report_new();
		arf_parse(m, r);
		bounce_report_free(r);
		msg_free(m);
		strbuf_free(&b);
	}
	CHECK_INT("random bodies survived", 1, 1);
}

int
main(void)
{
	check_random();
	check_many();
	check_long_first_line();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct arf_case *c = &cases[i];
		struct mime_message *m = msg_build(&c->msg);
		struct bounce_report *r = bounce_report_new();
		printf("# %s\n", c->name);
		CHECK_INT("is_arf", arf_parse(m, r), c->is_arf);
		CHECK_INT("kind", r->kind, c->is_arf ? KIND_ARF : KIND_NONE);
		CHECK_INT("nrcpts", r->nrcpts, c->n);
		for (size_t k = 0; k < c->n && k < r->nrcpts; k++) {
			const struct bounce_recipient *g = &r->rcpts[k];
			CHECK_STR("address", g->address, c->address[k]);
			CHECK_STR("action", g->action, "");
			CHECK_STR("status", g->status, "");
			CHECK_INT("class", g->class_, c->not_complaint ? CLASS_NONE : CLASS_COMPLAINT);
			CHECK_INT("reason", g->reason, REASON_COMPLAINT);
			CHECK_INT("blame", g->blame, c->not_complaint ? BLAME_NONE : BLAME_RECIPIENT);
			CHECK_STR("feedback_type", g->feedback_type, c->feedback_type);
			CHECK_INT("evidence", g->evidence != NULL && g->evidence[0] != '\0', 1);
		}
		bounce_report_free(r);
		msg_free(m);
	}
	return TEST_DONE();
}
