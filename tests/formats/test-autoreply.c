/* autoreply_parse and mdn_parse: RFC 3834 auto-replies, vacation subjects, read receipts. */
#include "../core/test.h"
#include "autoreply.h"
#include "limits.h"
#include "msg.h"
#include "report.h"

struct ar_case {
	const char *name;
	struct msg_spec msg;
	const char *address;	/* NULL: not an auto-reply */
};

#define HDR(h) { h, NULL, { { NULL } } }

static const struct ar_case cases[] = {
	{ "RFC 3834 auto-replied", HDR("From: Joe Bloggs <Joe@Example.COM>\nSubject: Re: hello\nAuto-Submitted: auto-replied\n"),
	  "Joe@example.com" },
	{ "auto-generated with a comment", HDR("From: a@example.org\nSubject: hi\nAuto-Submitted: auto-generated (vacation)\n"),
	  "a@example.org" },
	{ "Auto-Submitted: no", HDR("From: a@example.org\nSubject: hi\nAuto-Submitted: no\n"), NULL },
	{ "Precedence: auto_reply", HDR("From: b@example.org\nSubject: hi\nPrecedence: auto_reply\n"), "b@example.org" },
	{ "Precedence: bulk alone", HDR("From: news@example.org\nSubject: Our news\nPrecedence: bulk\nList-Id: <news.example.org>\n"), NULL },
	{ "Precedence: junk alone", HDR("From: c@example.org\nSubject: hi\nPrecedence: junk\n"), NULL },
	{ "Precedence: list alone", HDR("From: c@example.org\nSubject: [list] hi\nPrecedence: list\n"), NULL },
	{ "X-Autoreply", HDR("From: d@example.org\nSubject: hi\nX-Autoreply: yes\n"), "d@example.org" },
	{ "X-Autorespond", HDR("From: e@example.org\nSubject: hi\nX-Autorespond: e@example.org\n"), "e@example.org" },
	{ "X-Auto-Response-Suppress is not evidence", HDR("From: f@example.org\nSubject: hi\nX-Auto-Response-Suppress: All\n"), NULL },
	{ "English subject", HDR("From: g@example.org\nSubject: Out of Office: Re: report\n"), "g@example.org" },
	{ "Automatic reply", HDR("From: g@example.org\nSubject: Automatic reply: meeting\n"), "g@example.org" },
	{ "German", HDR("From: h@example.de\nSubject: Abwesenheitsnotiz: Termin\n"), "h@example.de" },
	{ "German 2", HDR("From: h@example.de\nSubject: Automatische Antwort: Termin\n"), "h@example.de" },
	{ "French RFC 2047", HDR("From: i@example.fr\nSubject: =?UTF-8?B?UsOpcG9uc2UgYXV0b21hdGlxdWUgOiBBYnNlbmNl?=\n"), "i@example.fr" },
	{ "Spanish", HDR("From: j@example.es\nSubject: Respuesta autom\xc3\xa1tica: hola\n"), "j@example.es" },
	{ "Spanish 2", HDR("From: j@example.es\nSubject: Fuera de la oficina\n"), "j@example.es" },
	{ "Portuguese", HDR("From: k@example.pt\nSubject: Resposta autom\xc3\xa1tica\n"), "k@example.pt" },
	{ "Portuguese 2", HDR("From: k@example.pt\nSubject: Aus\xc3\xaancia\n"), "k@example.pt" },
	{ "Italian", HDR("From: l@example.it\nSubject: Risposta automatica: ciao\n"), "l@example.it" },
	{ "Italian 2", HDR("From: l@example.it\nSubject: Fuori sede\n"), "l@example.it" },
	{ "Dutch", HDR("From: m@example.nl\nSubject: Automatisch antwoord: vergadering\n"), "m@example.nl" },
	{ "Dutch 2", HDR("From: m@example.nl\nSubject: Afwezig\n"), "m@example.nl" },
	{ "Japanese RFC 2047", HDR("From: n@example.jp\nSubject: =?UTF-8?B?6Ieq5YuV5b+c562UOiDkvJrorbDjgavjgaTjgYTjgaY=?=\n"), "n@example.jp" },
	{ "Japanese 2", HDR("From: n@example.jp\nSubject: \xe4\xb8\x8d\xe5\x9c\xa8\xe3\x81\xae\xe3\x81\x8a\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b\n"), "n@example.jp" },
	{ "Chinese RFC 2047", HDR("From: o@example.cn\nSubject: =?UTF-8?B?6Ieq5Yqo5Zue5aSNOiDkvaDlpb0=?=\n"), "o@example.cn" },
	{ "Russian RFC 2047", HDR("From: p@example.ru\nSubject: =?UTF-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiBSZTog0L7RgtGH0ZHRgg==?=\n"), "p@example.ru" },
	{ "Reply-To when no From", HDR("Reply-To: q@Example.org\nAuto-Submitted: auto-replied\n"), "q@example.org" },
	{ "Return-Path last", HDR("Return-Path: <r@example.org>\nAuto-Submitted: auto-replied\n"), "r@example.org" },
	{ "mailer-daemon is never an auto-reply",
	  HDR("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nSubject: Mail delivery failed\nAuto-Submitted: auto-replied\n"), NULL },
	{ "postmaster is never an auto-reply", HDR("From: postmaster@example.org\nSubject: Out of office\n"), NULL },
	{ "a delivery report display name", HDR("From: Mail Delivery Subsystem <daemon@example.jp>\nAuto-Submitted: auto-generated\n"), NULL },
	{ "a delivery-status part is never an auto-reply",
	  { "From: notify@example.org\nAuto-Submitted: auto-replied\n", NULL,
	    { { "multipart/report", "delivery-status", 0, false, "" }, { "text/plain", NULL, 1, false, "failed\n" },
	      { "message/delivery-status", NULL, 1, false, "Final-Recipient: rfc822; x@example.org\n" } } },
	  NULL },
	{ "out of office in the body only",
	  { "From: s@example.org\nSubject: Re: plans\n", NULL,
	    { { "text/plain", NULL, 0, false, "I will be out of office next week.\n" } } }, NULL },
	{ "forwarded auto-reply", HDR("From: t@example.org\nSubject: Fwd: Automatic reply: meeting\n"), NULL },
	{ "newsletter with a vacation word", HDR("From: deals@travel.example\nSubject: Take your dog on vacation\nList-Unsubscribe: <mailto:u@travel.example>\n"), NULL },
	{ "bulk mail with a vacation word", HDR("From: hr@corp.example\nSubject: Absence management webinar\nPrecedence: bulk\n"), NULL },
	{ "list headers do not hide RFC 3834", HDR("From: v@example.org\nSubject: hi\nList-Id: <x.example.org>\nAuto-Submitted: auto-replied\n"), "v@example.org" },
	{ "human reply quoting a bounce", HDR("From: u@example.org\nSubject: Re: Undelivered Mail Returned to Sender\n"), NULL },
};

struct mdn_case {
	const char *name;
	struct msg_spec msg;
	bool is_mdn;
	const char *address;
	const char *evidence;
};

#define MDN_TOP { "multipart/report", "disposition-notification", 0, false, "" }

static const struct mdn_case mdn_cases[] = {
	{ "read receipt",
	  { "From: reader@example.org\nSubject: Read: report\n", "To: reader@example.org\n",
	    { MDN_TOP, { "text/plain", NULL, 1, false, "Your message was read.\n" },
	      { "message/disposition-notification", NULL, 1, false,
		"Reporting-UA: reader.example.org; ExampleMail 2.0\nOriginal-Recipient: rfc822;Reader@Example.ORG\n"
		"Final-Recipient: rfc822; reader@Example.ORG\nOriginal-Message-ID: <m2@sender.example>\n"
		"Disposition: manual-action/MDN-sent-manually;\n displayed\n" } } },
	  true, "reader@example.org", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)" },
	{ "Original-Recipient only",
	  { "From: reader@example.org\n", NULL,
	    { MDN_TOP, { "message/disposition-notification", NULL, 1, false,
		"Original-Recipient: rfc822; v@example.org\nDisposition: automatic-action/MDN-sent-automatically; deleted\n" } } },
	  true, "v@example.org", "read receipt (Disposition: automatic-action/MDN-sent-automatically; deleted)" },
	{ "not a read receipt", HDR("From: w@example.org\nSubject: Read: report\n"), false, NULL, NULL },
};

/* A field value is cut at LIMIT_FIELD_BYTES from its first line on, as a header field is: a
 * Final-Recipient whose address comes after 16 KiB of blanks names nobody, and
 * Original-Recipient is used. */
static void
check_long_first_line(void)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_puts(&b, "Final-Recipient: rfc822;");
	for (size_t i = 0; i < LIMIT_FIELD_BYTES; i++)
		strbuf_putc(&b, ' ');
	strbuf_puts(&b, "far@example.org\nOriginal-Recipient: rfc822; near@example.org\n"
	    "Disposition: manual-action/MDN-sent-manually; displayed\n");
	struct msg_spec spec = { "From: reader@example.org\n", NULL,
		{ MDN_TOP, { "message/disposition-notification", NULL, 1, false, b.s } } };
	struct mime_message *m = msg_build(&spec);
	struct bounce_report *r = bounce_report_new();
	printf("# Final-Recipient over LIMIT_FIELD_BYTES on its first line\n");
	CHECK_INT("is_mdn", mdn_parse(m, r), 1);
	CHECK_INT("nrcpts", r->nrcpts, 1);
	if (r->nrcpts == 1)
		CHECK_STR("address", r->rcpts[0].address, "near@example.org");
	bounce_report_free(r);
	msg_free(m);
	strbuf_free(&b);
}

int
main(void)
{
	check_long_first_line();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ar_case *c = &cases[i];
		struct mime_message *m = msg_build(&c->msg);
		struct bounce_report *r = bounce_report_new();
		printf("# %s\n", c->name);
		CHECK_INT("is_autoreply", autoreply_parse(m, r), c->address != NULL);
		CHECK_INT("kind", r->kind, c->address != NULL ? KIND_AUTOREPLY : KIND_NONE);
		CHECK_INT("nrcpts", r->nrcpts, c->address != NULL ? 1 : 0);
		if (c->address != NULL && r->nrcpts == 1) {
			const struct bounce_recipient *g = &r->rcpts[0];
			CHECK_STR("address", g->address, c->address);
			CHECK_STR("action", g->action, "");
			CHECK_STR("status", g->status, "");
			CHECK_INT("class", g->class_, CLASS_AUTOREPLY);
			CHECK_INT("reason", g->reason, REASON_AUTO_REPLY);
			CHECK_INT("blame", g->blame, BLAME_NONE);
			CHECK_INT("evidence", g->evidence != NULL && g->evidence[0] != '\0', 1);
		}
		bounce_report_free(r);
		msg_free(m);
	}
	for (size_t i = 0; i < sizeof mdn_cases / sizeof mdn_cases[0]; i++) {
		const struct mdn_case *c = &mdn_cases[i];
		struct mime_message *m = msg_build(&c->msg);
		struct bounce_report *r = bounce_report_new();
		printf("# %s\n", c->name);
		CHECK_INT("is_mdn", mdn_parse(m, r), c->is_mdn);
		CHECK_INT("kind", r->kind, KIND_NONE);
		CHECK_INT("nrcpts", r->nrcpts, c->address != NULL ? 1 : 0);
		if (c->address != NULL && r->nrcpts == 1) {
			const struct bounce_recipient *g = &r->rcpts[0];
			CHECK_STR("address", g->address, c->address);
			CHECK_STR("action", g->action, "");
			CHECK_INT("class", g->class_, CLASS_NONE);
			CHECK_INT("reason", g->reason, REASON_DELIVERED);
			CHECK_INT("blame", g->blame, BLAME_NONE);
			CHECK_STR("evidence", g->evidence, c->evidence);
		}
		bounce_report_free(r);
		msg_free(m);
	}
	return TEST_DONE();
}
