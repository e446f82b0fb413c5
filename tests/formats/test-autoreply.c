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
	const char *evidence;	/* the report's and the recipient's evidence; NULL with address */
};

#define HDR(h) { h, NULL, { { NULL } } }

#define VAC(hit) "vacation subject '" hit "'"
#define SUBJ(subject, addr, hit) \
	{ "subject: " subject, HDR("From: " addr "\nSubject: " subject "\n"), addr, VAC(hit) }
#define NOT(why, subject) { why ": " subject, HDR("From: z@example.org\nSubject: " subject "\n"), NULL, NULL }

static const struct ar_case cases[] = {
	{ "RFC 3834 auto-replied", HDR("From: Joe Bloggs <Joe@Example.COM>\nSubject: Re: hello\nAuto-Submitted: auto-replied\n"),
	  "Joe@example.com", "Auto-Submitted: auto-replied" },
	{ "auto-replied with parameters", HDR("From: a@example.org\nSubject: Re: hi\nAuto-Submitted: Auto-Replied; owner-email=a@example.org\n"),
	  "a@example.org", "Auto-Submitted: Auto-Replied; owner-email=a@example.org" },
	/* RFC 3834 5.1: auto-generated is a notification, not a response (issue 2 audit A). */
	{ "auto-generated alone is not a reply", HDR("From: a@example.org\nSubject: hi\nAuto-Submitted: auto-generated (vacation)\n"), NULL, NULL },
	{ "auto-notified alone is not a reply", HDR("From: a@example.org\nSubject: hi\nAuto-Submitted: auto-notified\n"), NULL, NULL },
	{ "auto-generated with a vacation subject", HDR("From: a@example.org\nSubject: Out of Office: hi\nAuto-Submitted: auto-generated\n"),
	  "a@example.org", VAC("out of office") },
	{ "Auto-Submitted: no", HDR("From: a@example.org\nSubject: hi\nAuto-Submitted: no\n"), NULL, NULL },
	{ "Precedence: auto_reply", HDR("From: b@example.org\nSubject: hi\nPrecedence: auto_reply\n"), "b@example.org", "Precedence: auto_reply" },
	{ "Precedence: bulk alone", HDR("From: news@example.org\nSubject: Our news\nPrecedence: bulk\nList-Id: <news.example.org>\n"), NULL, NULL },
	{ "Precedence: junk alone", HDR("From: c@example.org\nSubject: hi\nPrecedence: junk\n"), NULL, NULL },
	{ "Precedence: list alone", HDR("From: c@example.org\nSubject: [list] hi\nPrecedence: list\n"), NULL, NULL },
	{ "X-Autoreply", HDR("From: d@example.org\nSubject: hi\nX-Autoreply: yes\n"), "d@example.org", "X-Autoreply header" },
	{ "X-Autorespond", HDR("From: e@example.org\nSubject: hi\nX-Autorespond: e@example.org\n"), "e@example.org", "X-Autorespond header" },
	{ "X-Autoreply: no", HDR("From: e@example.org\nSubject: hi\nX-Autoreply: no\n"), NULL, NULL },
	{ "X-Auto-Response-Suppress is not evidence", HDR("From: f@example.org\nSubject: hi\nX-Auto-Response-Suppress: All\n"), NULL, NULL },
	/* Vacation subjects: the phrase at the start, alone or as the responder's own prefix. */
	SUBJ("Out of Office: Re: report", "g@example.org", "out of office"),
	SUBJ("Out of office", "g@example.org", "out of office"),
	SUBJ("Out of Office AutoReply: report", "g@example.org", "out of office autoreply"),
	SUBJ("Out of office - back on Monday", "g@example.org", "out of office"),
	SUBJ("Out of office until 5 January", "g@example.org", "out of office until"),
	SUBJ("Automatic reply: meeting", "g@example.org", "automatic reply"),
	SUBJ("Auto reply: Nyaan", "g@example.org", "auto reply"),
	SUBJ("Away until May 5", "g@example.org", "away until"),
	SUBJ("[Auto-Reply] your message", "g@example.org", "auto-reply"),
	SUBJ("[EXTERNAL] Automatic reply: meeting", "g@example.org", "automatic reply"),
	SUBJ("[EXTERNAL] [SPAM?] Out of office", "g@example.org", "out of office"),
	SUBJ("\xe3\x80\x90\xe5\xa4\x96\xe9\x83\xa8\xe3\x80\x91 Automatic reply: meeting", "g@example.org", "automatic reply"),
	SUBJ("\xe3\x80\x90\xe8\x87\xaa\xe5\x8b\x95\xe8\xbf\x94\xe4\xbf\xa1\xe3\x80\x91\xe4\xbc\x9a\xe8\xad\xb0", "n@example.jp",
	    "\xe8\x87\xaa\xe5\x8b\x95\xe8\xbf\x94\xe4\xbf\xa1"),
	SUBJ("Abwesenheitsnotiz: Termin", "h@example.de", "abwesenheitsnotiz"),
	SUBJ("Automatische Antwort: Termin", "h@example.de", "automatische antwort"),
	SUBJ("R\xc3\xa9ponse automatique\xc2\xa0: Absence", "i@example.fr", "r\xc3\xa9ponse automatique"),
	SUBJ("Absence du bureau", "i@example.fr", "absence du bureau"),
	SUBJ("Respuesta autom\xc3\xa1tica: hola", "j@example.es", "respuesta autom\xc3\xa1tica"),
	SUBJ("Fuera de la oficina", "j@example.es", "fuera de la oficina"),
	SUBJ("Resposta autom\xc3\xa1tica", "k@example.pt", "resposta autom\xc3\xa1tica"),
	SUBJ("Aus\xc3\xaancia", "k@example.pt", "aus\xc3\xaancia"),
	SUBJ("Risposta automatica: ciao", "l@example.it", "risposta automatica"),
	SUBJ("Fuori sede", "l@example.it", "fuori sede"),
	SUBJ("Automatisch antwoord: vergadering", "m@example.nl", "automatisch antwoord"),
	SUBJ("Afwezig", "m@example.nl", "afwezig"),
	SUBJ("Automatiskt svar: m\xc3\xb6te", "m@example.se", "automatiskt svar"),
	SUBJ("\xe4\xb8\x8d\xe5\x9c\xa8\xe3\x81\xae\xe3\x81\x8a\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b", "n@example.jp",
	    "\xe4\xb8\x8d\xe5\x9c\xa8\xe3\x81\xae\xe3\x81\x8a\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b"),
	SUBJ("\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94\xef\xbc\x9a\xe4\xbc\x9a\xe8\xad\xb0", "n@example.jp",
	    "\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94"),
	{ "French RFC 2047", HDR("From: i@example.fr\nSubject: =?UTF-8?B?UsOpcG9uc2UgYXV0b21hdGlxdWUgOiBBYnNlbmNl?=\n"), "i@example.fr",
	  VAC("r\xc3\xa9ponse automatique") },
	{ "Japanese RFC 2047", HDR("From: n@example.jp\nSubject: =?UTF-8?B?6Ieq5YuV5b+c562UOiDkvJrorbDjgavjgaTjgYTjgaY=?=\n"), "n@example.jp",
	  VAC("\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94") },
	{ "Chinese RFC 2047", HDR("From: o@example.cn\nSubject: =?UTF-8?B?6Ieq5Yqo5Zue5aSNOiDkvaDlpb0=?=\n"), "o@example.cn",
	  VAC("\xe8\x87\xaa\xe5\x8a\xa8\xe5\x9b\x9e\xe5\xa4\x8d") },
	{ "Russian RFC 2047", HDR("From: p@example.ru\nSubject: =?UTF-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiBSZTog0L7RgtGH0ZHRgg==?=\n"), "p@example.ru",
	  VAC("\xd0\x90\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82") },
	/* A phrase after a person's reply or forward prefix, or followed by more words, is a
	 * person's subject (issue 2 audit A). */
	{ "a person's reply to an out-of-office",
	  HDR("From: Pat <pat@Example.COM>\nSubject: Re: Out of Office\nIn-Reply-To: <x@y>\n"), NULL, NULL },
	NOT("reply", "RE: Automatic reply: meeting"),
	NOT("German reply", "AW: Abwesenheitsnotiz: Termin"),
	NOT("German forward", "WG: Automatische Antwort: Termin"),
	NOT("French forward", "TR: R\xc3\xa9ponse automatique : Absence"),
	NOT("French reply", "R\xc3\xa9" "f : Absence"),
	NOT("Spanish forward", "RV: Respuesta autom\xc3\xa1tica: hola"),
	NOT("forward", "Fwd: Automatic reply: meeting"),
	NOT("tagged reply", "[EXTERNAL] Re: Out of office"),
	NOT("more words", "Out of office schedule for December"),
	NOT("more words", "Automatic replies are now enabled"),
	NOT("more words", "Absence management webinar"),
	NOT("more words", "Abwesenheitsnotizen richtig einrichten"),
	NOT("in the middle", "Team update: out of office"),
	NOT("a bracket that is the subject", "[Project notes for the week and the plans ahead] Out of office"),
	NOT("three tags", "[A] [B] [C] Out of office"),
	NOT("an unclosed bracket", "[EXTERNAL Out of office"),
	{ "Reply-To when no From", HDR("Reply-To: q@Example.org\nAuto-Submitted: auto-replied\n"), "q@example.org", "Auto-Submitted: auto-replied" },
	{ "Return-Path last", HDR("Return-Path: <r@example.org>\nAuto-Submitted: auto-replied\n"), "r@example.org", "Auto-Submitted: auto-replied" },
	{ "mailer-daemon is never an auto-reply",
	  HDR("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nSubject: Mail delivery failed\nAuto-Submitted: auto-replied\n"), NULL, NULL },
	{ "postmaster is never an auto-reply", HDR("From: postmaster@example.org\nSubject: Out of office\n"), NULL, NULL },
	{ "a delivery report display name", HDR("From: Mail Delivery Subsystem <daemon@example.jp>\nAuto-Submitted: auto-replied\n"), NULL, NULL },
	{ "a delivery-status part is never an auto-reply",
	  { "From: notify@example.org\nAuto-Submitted: auto-replied\n", NULL,
	    { { "multipart/report", "delivery-status", 0, false, "" }, { "text/plain", NULL, 1, false, "failed\n" },
	      { "message/delivery-status", NULL, 1, false, "Final-Recipient: rfc822; x@example.org\n" } } },
	  NULL, NULL },
	{ "out of office in the body only",
	  { "From: s@example.org\nSubject: Re: plans\n", NULL,
	    { { "text/plain", NULL, 0, false, "I will be out of office next week.\n" } } }, NULL, NULL },
	{ "newsletter with a vacation word", HDR("From: deals@travel.example\nSubject: On vacation?\nList-Unsubscribe: <mailto:u@travel.example>\n"), NULL, NULL },
	{ "bulk mail with a vacation subject", HDR("From: hr@corp.example\nSubject: Absence\nPrecedence: bulk\n"), NULL, NULL },
	{ "list headers do not hide RFC 3834", HDR("From: v@example.org\nSubject: hi\nList-Id: <x.example.org>\nAuto-Submitted: auto-replied\n"),
	  "v@example.org", "Auto-Submitted: auto-replied" },
	{ "human reply quoting a bounce", HDR("From: u@example.org\nSubject: Re: Undelivered Mail Returned to Sender\n"), NULL, NULL },
};

struct mdn_case {
	const char *name;
	struct msg_spec msg;
	bool is_mdn;
	const char *address;
	const char *evidence;
	const char *original_message_id;	/* as mdn_parse leaves it */
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
	  true, "reader@example.org", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)",
	  "<m2@sender.example>" },
	{ "Original-Recipient only",
	  { "From: reader@example.org\n", NULL,
	    { MDN_TOP, { "message/disposition-notification", NULL, 1, false,
		"Original-Recipient: rfc822; v@example.org\nDisposition: automatic-action/MDN-sent-automatically; deleted\n" } } },
	  true, "v@example.org", "read receipt (Disposition: automatic-action/MDN-sent-automatically; deleted)", NULL },
	/* Issue 2 audit B: no returned original, the receipt's own field names the message. */
	{ "Original-Message-ID without a returned original",
	  { "From: reader@example.com\n", NULL,
	    { MDN_TOP, { "text/plain", NULL, 1, false, "Your message was displayed.\n" },
	      { "message/disposition-notification", NULL, 1, false,
		"Reporting-UA: reader.example.com; Thunderbird\nFinal-Recipient: rfc822;reader@Example.COM\n"
		"original-message-id:   <inv-1@example.org>  \nDisposition: manual-action/MDN-sent-manually; displayed\n" } } },
	  true, "reader@example.com", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)",
	  "<inv-1@example.org>" },
	{ "RFC 6533 global disposition notification",
	  { "From: reader@example.com\n", NULL,
	    { MDN_TOP, { "message/global-disposition-notification", NULL, 1, false,
		"Final-Recipient: utf-8; reader@example.com\nOriginal-Message-ID: <g-1@example.org>\n"
		"Disposition: manual-action/MDN-sent-manually; displayed\n" } } },
	  true, "reader@example.com", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)",
	  "<g-1@example.org>" },
	{ "the receipt's field is read; a returned original's Message-ID, read later by bounce.c, wins",
	  { "From: reader@example.com\n", "Message-ID: <orig@example.org>\nSubject: x\n",
	    { MDN_TOP, { "message/disposition-notification", NULL, 1, false,
		"Final-Recipient: rfc822; reader@example.com\nOriginal-Message-ID: <other@example.org>\n"
		"Disposition: manual-action/MDN-sent-manually; displayed\n" } } },
	  true, "reader@example.com", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)", "<other@example.org>" },
	{ "an empty Original-Message-ID names nothing",
	  { "From: reader@example.com\n", NULL,
	    { MDN_TOP, { "message/disposition-notification", NULL, 1, false,
		"Final-Recipient: rfc822; reader@example.com\nOriginal-Message-ID:\n"
		"Disposition: manual-action/MDN-sent-manually; displayed\n" } } },
	  true, "reader@example.com", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)", NULL },
	{ "Original-Message-ID in the returned original's part is not the receipt's",
	  { "From: reader@example.com\n", NULL,
	    { MDN_TOP, { "message/disposition-notification", NULL, 1, false,
		"Final-Recipient: rfc822; reader@example.com\nDisposition: manual-action/MDN-sent-manually; displayed\n" },
	      { "text/rfc822-headers", NULL, 1, true, "Original-Message-ID: <quoted@example.org>\n" } } },
	  true, "reader@example.com", "read receipt (Disposition: manual-action/MDN-sent-manually; displayed)", NULL },
	{ "not a read receipt", HDR("From: w@example.org\nSubject: Read: report\n"), false, NULL, NULL, NULL },
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
			CHECK_STR("evidence", g->evidence, c->evidence);
		}
		CHECK_STR("report evidence", r->evidence, c->evidence);
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
		CHECK_STR("original_message_id", r->original_message_id, c->original_message_id);
		bounce_report_free(r);
		msg_free(m);
	}
	return TEST_DONE();
}
