/* bounce_parse end to end on small messages: which kind wins, the recipients and how they are
 * classified, the report's and the returned original's Message-ID, flags, and VERP. Each row is
 * also run with CRLF and with CR-only line endings, which must give the same report. */
#include "test.h"

#include <stdbool.h>
#include <stdlib.h>

#include "bounce.h"
#include "report.h"
#include "strbuf.h"
#include "verp.h"

#define MAX_RCPTS 3

struct want_rcpt {
	const char *address;
	const char *action;
	const char *status;
	const char *smtp_code;
	enum bounce_class class_;
	enum bounce_reason reason;
	enum bounce_blame blame;
	const char *original_recipient;	/* NULL: none */
};

struct bounce_case {
	const char *name;
	const char *msg;
	const char *envelope;		/* bounce_options.envelope_recipient, or NULL */
	enum bounce_kind kind;
	const char *message_id;
	const char *original_message_id;
	unsigned int flags;
	const char *verp_address;	/* NULL: no VERP found */
	const char *x_tags;
	size_t nrcpts;
	struct want_rcpt rcpts[MAX_RCPTS];
};

/* A Postfix-style report around one delivery-status part and a returned message/rfc822. */
#define DSN(from, status_fields, returned) \
	"From: " from "\n" \
	"To: news@sender.example.org\n" \
	"Subject: Undelivered Mail Returned to Sender\n" \
	"Message-ID: <report-1@mx.example.net>\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n" \
	"\n" \
	"--B\n" \
	"Content-Type: text/plain\n" \
	"\n" \
	"I'm sorry to have to inform you that your message could not be delivered.\n" \
	"--B\n" \
	"Content-Type: message/delivery-status\n" \
	"\n" \
	"Reporting-MTA: dns; mx.example.net\n" \
	"\n" \
	status_fields \
	"--B\n" \
	returned \
	"--B--\n"

#define DAEMON "MAILER-DAEMON@mx.example.net (Mail Delivery System)"

#define RETURNED_822 \
	"Content-Type: message/rfc822\n" \
	"\n" \
	"From: News <news@sender.example.org>\n" \
	"To: joe@example.com\n" \
	"Subject: Offers\n" \
	"Message-ID: <orig-1@sender.example.org>\n" \
	"X-Campaign: spring-26\n" \
	"\n" \
	"Hello\n"

#define USER_UNKNOWN(addr) \
	{ addr, "failed", "5.1.1", "550", CLASS_HARD, REASON_USER_UNKNOWN, BLAME_RECIPIENT, NULL }

static const struct bounce_case cases[] = {
	{ "RFC 3464 failed, returned message/rfc822",
	  DSN(DAEMON,
	      "Final-Recipient: rfc822; joe@Example.COM\n"
	      "Action: failed\n"
	      "Status: 5.1.1\n"
	      "Remote-MTA: dns; mx.example.com\n"
	      "Diagnostic-Code: smtp; 550 5.1.1 <joe@example.com>: Recipient address rejected: User unknown\n",
	      RETURNED_822),
	  NULL, KIND_DSN, "<report-1@mx.example.net>", "<orig-1@sender.example.org>", 0, NULL,
	  "X-Campaign: spring-26\n", 1, { USER_UNKNOWN("joe@example.com") } },

	{ "two recipients: full mailbox and a delay",
	  DSN(DAEMON,
	      "Final-Recipient: rfc822; ann@example.com\n"
	      "Action: failed\n"
	      "Status: 5.2.2\n"
	      "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n"
	      "\n"
	      "Final-Recipient: rfc822; bob@example.net\n"
	      "Action: delayed\n"
	      "Status: 4.4.7\n",
	      RETURNED_822),
	  NULL, KIND_DSN, "<report-1@mx.example.net>", "<orig-1@sender.example.org>", 0, NULL,
	  "X-Campaign: spring-26\n", 2,
	  { { "ann@example.com", "failed", "5.2.2", "552", CLASS_SOFT, REASON_MAILBOX_FULL, BLAME_RECIPIENT, NULL },
	    { "bob@example.net", "delayed", "4.4.7", "", CLASS_SOFT, REASON_EXPIRED, BLAME_NETWORK, NULL } } },

	{ "delivered report",
	  DSN(DAEMON,
	      "Final-Recipient: rfc822; joe@example.com\n"
	      "Action: delivered\n"
	      "Status: 2.0.0\n",
	      RETURNED_822),
	  NULL, KIND_DSN, "<report-1@mx.example.net>", "<orig-1@sender.example.org>", 0, NULL,
	  "X-Campaign: spring-26\n", 1,
	  { { "joe@example.com", "delivered", "2.0.0", "", CLASS_NONE, REASON_DELIVERED, BLAME_NONE, NULL } } },

	{ "wording beats a generic code",
	  DSN(DAEMON,
	      "Final-Recipient: rfc822; joe@example.com\n"
	      "Action: failed\n"
	      "Status: 5.1.1\n"
	      "Diagnostic-Code: smtp; 550 5.1.1 <joe@example.com>: too many recipients this hour\n",
	      "Content-Type: text/rfc822-headers\n\nMessage-ID: <orig-2@sender.example.org>\n"),
	  NULL, KIND_DSN, "<report-1@mx.example.net>", "<orig-2@sender.example.org>", 0, NULL, NULL, 1,
	  { { "joe@example.com", "failed", "5.1.1", "550", CLASS_SOFT, REASON_RATE_LIMITED, BLAME_SENDER, NULL } } },

	{ "Original-Recipient (before alias expansion) is acted on, Final-Recipient kept beside it",
	  DSN(DAEMON,
	      "Original-Recipient: rfc822; Joe.Alias@example.com\n"
	      "Final-Recipient: rfc822; joe@mailhost.example.com\n"
	      "Action: failed\n"
	      "Status: 5.1.1\n",
	      RETURNED_822),
	  NULL, KIND_DSN, "<report-1@mx.example.net>", "<orig-1@sender.example.org>", 0, NULL,
	  "X-Campaign: spring-26\n", 1,
	  { { "Joe.Alias@example.com", "failed", "5.1.1", "", CLASS_HARD, REASON_USER_UNKNOWN, BLAME_RECIPIENT,
	      "joe@mailhost.example.com" } } },

	{ "the VERP address is acted on, the report's address kept",
	  DSN(DAEMON,
	      "Final-Recipient: rfc822; alias@example.com\n"
	      "Action: failed\n"
	      "Status: 5.1.1\n",
	      RETURNED_822),
	  "bounces+joe=example.com@sender.example.org", KIND_DSN, "<report-1@mx.example.net>",
	  "<orig-1@sender.example.org>", 0, "joe@example.com", "X-Campaign: spring-26\n", 1,
	  { { "joe@example.com", "failed", "5.1.1", "", CLASS_HARD, REASON_USER_UNKNOWN, BLAME_RECIPIENT,
	      "alias@example.com" } } },

	{ "Status only in the Diagnostic-Code, folded",
	  DSN(DAEMON,
	      "Final-Recipient: rfc822; joe@example.com\n"
	      "Action: failed\n"
	      "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach\n"
	      " does not exist\n",
	      RETURNED_822),
	  NULL, KIND_DSN, "<report-1@mx.example.net>", "<orig-1@sender.example.org>", 0, NULL,
	  "X-Campaign: spring-26\n", 1, { USER_UNKNOWN("joe@example.com") } },

	{ "RFC 6533 global delivery status, utf-8 address",
	  "From: MAILER-DAEMON@mx.example.net\n"
	  "Subject: Undelivered Mail Returned to Sender\n"
	  "Message-ID: <g-1@mx.example.net>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=global-delivery-status; boundary=\"G\"\n"
	  "\n"
	  "--G\n"
	  "Content-Type: message/global-delivery-status\n"
	  "\n"
	  "Reporting-MTA: dns; mx.example.net\n"
	  "\n"
	  "Final-Recipient: utf-8; j\xc3\xb6rg@B\xc3\xbc" "cher.example\n"
	  "Action: failed\n"
	  "Status: 5.2.2\n"
	  "--G\n"
	  "Content-Type: message/global-headers\n"
	  "\n"
	  "Message-ID: <orig-g@sender.example.org>\n"
	  "--G--\n",
	  NULL, KIND_DSN, "<g-1@mx.example.net>", "<orig-g@sender.example.org>", 0, NULL, NULL, 1,
	  { { "j\xc3\xb6rg@b\xc3\xbc" "cher.example", "failed", "5.2.2", "", CLASS_SOFT, REASON_MAILBOX_FULL,
	      BLAME_RECIPIENT, NULL } } },

	{ "a mail system's free-form bounce with Auto-Submitted is not an auto-reply",
	  "From: Mail Delivery System <Mailer-Daemon@relay.example.net>\n"
	  "Subject: Mail delivery failed: returning message to sender\n"
	  "Message-ID: <x-1@relay.example.net>\n"
	  "X-Failed-Recipients: jan@example.com\n"
	  "Auto-Submitted: auto-replied\n"
	  "\n"
	  "This message was created automatically by mail delivery software.\n"
	  "\n"
	  "A message that you sent could not be delivered to one or more of its\n"
	  "recipients. This is a permanent error. The following address(es) failed:\n"
	  "\n"
	  "  jan@example.com\n"
	  "    SMTP error from remote mail server after RCPT TO:<jan@example.com>:\n"
	  "    550 5.1.1 <jan@example.com>: Recipient address rejected: User unknown\n",
	  NULL, KIND_HEURISTIC, "<x-1@relay.example.net>", NULL, 0, NULL, NULL, 1,
	  { USER_UNKNOWN("jan@example.com") } },

	{ "VERP from Delivered-To names a bounce without a readable recipient",
	  "Delivered-To: bounces+kim=example.org@sender.example.org\n"
	  "From: MAILER-DAEMON@mx.example.net\n"
	  "Subject: Undeliverable\n"
	  "Message-ID: <u-3@mx.example.net>\n"
	  "\n"
	  "Your message could not be delivered.\n",
	  NULL, KIND_HEURISTIC, "<u-3@mx.example.net>", NULL, 0, "kim@example.org", NULL, 1,
	  { { "kim@example.org", "failed", "", "", CLASS_SOFT, REASON_UNKNOWN, BLAME_UNKNOWN, NULL } } },

	{ "a free-form bounce read by rules",
	  "From: MAILER-DAEMON@mx.example.net\n"
	  "To: news@sender.example.org\n"
	  "Subject: failure notice\n"
	  "Message-ID: <q-1@mx.example.net>\n"
	  "\n"
	  "Hi. This is the qmail-send program at mx.example.net.\n"
	  "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
	  "This is a permanent error; I've given up. Sorry it didn't work out.\n"
	  "\n"
	  "<joe@example.com>:\n"
	  "192.0.2.1 does not like recipient.\n"
	  "Remote host said: 550 5.1.1 <joe@example.com>... User unknown\n"
	  "Giving up on 192.0.2.1.\n",
	  NULL, KIND_HEURISTIC, "<q-1@mx.example.net>", NULL, 0, NULL, NULL, 1,
	  { USER_UNKNOWN("joe@example.com") } },

	{ "ARF abuse report",
	  "From: fbl@mailbox.example.net\n"
	  "To: fbl@sender.example.org\n"
	  "Subject: FW: Offers\n"
	  "Message-ID: <arf-1@mailbox.example.net>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n"
	  "\n"
	  "--F\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "A user marked this as spam.\n"
	  "--F\n"
	  "Content-Type: message/feedback-report\n"
	  "\n"
	  "Feedback-Type: abuse\n"
	  "User-Agent: FBL/1.0\n"
	  "Version: 1\n"
	  "Original-Rcpt-To: <Helen@Mailbox.Example.NET>\n"
	  "--F\n"
	  RETURNED_822
	  "--F--\n",
	  NULL, KIND_ARF, "<arf-1@mailbox.example.net>", "<orig-1@sender.example.org>", 0, NULL,
	  "X-Campaign: spring-26\n", 1,
	  { { "Helen@mailbox.example.net", "", "", "", CLASS_COMPLAINT, REASON_COMPLAINT, BLAME_RECIPIENT, NULL } } },

	{ "RFC 3834 auto-reply",
	  "From: Pat <pat@Example.COM>\n"
	  "To: news@sender.example.org\n"
	  "Subject: Re: Offers\n"
	  "Message-ID: <ar-1@example.com>\n"
	  "In-Reply-To: <orig-1@sender.example.org>\n"
	  "Auto-Submitted: auto-replied\n"
	  "\n"
	  "I am away until Monday.\n",
	  NULL, KIND_AUTOREPLY, "<ar-1@example.com>", NULL, 0, NULL, NULL, 1,
	  { { "pat@example.com", "", "", "", CLASS_AUTOREPLY, REASON_AUTO_REPLY, BLAME_NONE, NULL } } },

	{ "a person's reply to an out-of-office",
	  "From: Pat <pat@example.com>\n"
	  "To: news@sender.example.org\n"
	  "Subject: Re: Out of Office\n"
	  "Message-ID: <re-1@example.com>\n"
	  "In-Reply-To: <ooo@sender.example.org>\n"
	  "\n"
	  "I will cover for you.\n",
	  NULL, KIND_NONE, "<re-1@example.com>", NULL, 0, NULL, NULL, 0, { { NULL } } },

	{ "Auto-Submitted: auto-generated alone",
	  "From: tickets@example.com\n"
	  "Subject: Ticket 42 updated\n"
	  "Message-ID: <t-42@example.com>\n"
	  "Auto-Submitted: auto-generated\n"
	  "\n"
	  "Updated.\n",
	  NULL, KIND_NONE, "<t-42@example.com>", NULL, 0, NULL, NULL, 0, { { NULL } } },

	{ "read receipt without the original",
	  "From: Reader <reader@Example.COM>\n"
	  "Subject: Read: Invoice\n"
	  "Message-ID: <mdn-1@example.com>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\n"
	  "\n"
	  "--M\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "Your message was displayed.\n"
	  "--M\n"
	  "Content-Type: message/disposition-notification\n"
	  "\n"
	  "Reporting-UA: reader.example.com; Thunderbird\n"
	  "Final-Recipient: rfc822;reader@Example.COM\n"
	  "Original-Message-ID: <inv-1@example.org>\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n"
	  "--M--\n",
	  NULL, KIND_NONE, "<mdn-1@example.com>", "<inv-1@example.org>", 0, NULL, NULL, 1,
	  { { "reader@example.com", "", "", "", CLASS_NONE, REASON_DELIVERED, BLAME_NONE, NULL } } },

	{ "read receipt: the returned original's Message-ID wins",
	  "From: reader@example.com\n"
	  "Subject: Read: Invoice\n"
	  "Message-ID: <mdn-2@example.com>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\n"
	  "\n"
	  "--M\n"
	  "Content-Type: message/disposition-notification\n"
	  "\n"
	  "Final-Recipient: rfc822; reader@example.com\n"
	  "Original-Message-ID: <field@example.org>\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n"
	  "--M\n"
	  "Content-Type: text/rfc822-headers\n"
	  "\n"
	  "Message-ID: <returned@example.org>\n"
	  "--M--\n",
	  NULL, KIND_NONE, "<mdn-2@example.com>", "<returned@example.org>", 0, NULL, NULL, 1,
	  { { "reader@example.com", "", "", "", CLASS_NONE, REASON_DELIVERED, BLAME_NONE, NULL } } },

	{ "read receipt: an empty Message-ID in the returned original names nothing",
	  "From: reader@example.com\n"
	  "Subject: Read: Invoice\n"
	  "Message-ID: <mdn-3@example.com>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\n"
	  "\n"
	  "--M\n"
	  "Content-Type: message/disposition-notification\n"
	  "\n"
	  "Final-Recipient: rfc822; reader@example.com\n"
	  "Original-Message-ID: <field@example.org>\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n"
	  "--M\n"
	  "Content-Type: text/rfc822-headers\n"
	  "\n"
	  "Message-ID:\n"
	  "Subject: Invoice\n"
	  "--M--\n",
	  NULL, KIND_NONE, "<mdn-3@example.com>", "<field@example.org>", 0, NULL, NULL, 1,
	  { { "reader@example.com", "", "", "", CLASS_NONE, REASON_DELIVERED, BLAME_NONE, NULL } } },

	{ "a person's mail",
	  "From: Sam <sam@example.com>\n"
	  "To: team@sender.example.org\n"
	  "Subject: Lunch\n"
	  "Message-ID: <lunch@example.com>\n"
	  "\n"
	  "Noon? Write to joe@example.com too.\n",
	  NULL, KIND_NONE, "<lunch@example.com>", NULL, 0, NULL, NULL, 0, { { NULL } } },

	{ "a delivery-status part inside the returned original is not a report",
	  "From: Sam <sam@example.com>\n"
	  "Subject: Fwd: look at this\n"
	  "Message-ID: <fwd-1@example.com>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"X\"\n"
	  "\n"
	  "--X\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "Funny.\n"
	  "--X\n"
	  "Content-Type: message/rfc822\n"
	  "\n"
	  "From: Ann <ann@example.net>\n"
	  "Subject: notes\n"
	  "Message-ID: <notes@example.net>\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"Y\"\n"
	  "\n"
	  "--Y\n"
	  "Content-Type: message/delivery-status\n"
	  "\n"
	  "Final-Recipient: rfc822; joe@example.com\n"
	  "Action: failed\n"
	  "Status: 5.1.1\n"
	  "--Y--\n"
	  "--X--\n",
	  NULL, KIND_NONE, "<fwd-1@example.com>", "<notes@example.net>", 0, NULL, NULL, 0, { { NULL } } },

	{ "NUL bytes are replaced and flagged",
	  "From: Sam <sam@example.com>\n"
	  "Subject: hi\n"
	  "Message-ID: <nul@example.com>\n"
	  "\n"
	  "a\0b\n",
	  NULL, KIND_NONE, "<nul@example.com>", NULL, BOUNCE_F_NUL_BYTES, NULL, NULL, 0, { { NULL } } },

	{ "broken base64 is flagged",
	  "From: Sam <sam@example.com>\n"
	  "Subject: hi\n"
	  "Message-ID: <b64@example.com>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: base64\n"
	  "\n"
	  "aGVsbG8*\n",
	  NULL, KIND_NONE, "<b64@example.com>", NULL, BOUNCE_F_BAD_ENCODING, NULL, NULL, 0, { { NULL } } },

	{ "an unknown charset is flagged",
	  "From: Sam <sam@example.com>\n"
	  "Subject: hi\n"
	  "Message-ID: <cs@example.com>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=x-no-such-charset\n"
	  "\n"
	  "hello\n",
	  NULL, KIND_NONE, "<cs@example.com>", NULL, BOUNCE_F_BAD_ENCODING, NULL, NULL, 0, { { NULL } } },

	{ "a free-form bounce a list manager attached whole for its owner",
	  "From: announce-bounces@lists.example.org\n"
	  "To: announce-owner@lists.example.org\n"
	  "Subject: Uncaught bounce notification\n"
	  "Message-ID: <mm-1@lists.example.org>\n"
	  "List-Unsubscribe: <mailto:announce-leave@lists.example.org>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"M\"\n"
	  "\n"
	  "--M\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "The attached message was received as a bounce, but the bounce format was not recognized.\n"
	  "--M\n"
	  "Content-Type: message/rfc822\n"
	  "\n"
	  "From: MAILER-DAEMON@mx.example.net\n"
	  "Subject: failure notice\n"
	  "Message-ID: <inner-1@mx.example.net>\n"
	  "\n"
	  "Hi. This is the qmail-send program at mx.example.net.\n"
	  "<kay@example.com>:\n"
	  "Sorry, no mailbox here by that name. (#5.1.1)\n"
	  "--M--\n",
	  NULL, KIND_HEURISTIC, "<mm-1@lists.example.org>", NULL, 0, NULL, NULL, 1,
	  { { "kay@example.com", "failed", "5.1.1", "", CLASS_HARD, REASON_USER_UNKNOWN, BLAME_RECIPIENT, NULL } } },

	{ "a person's mail with another person's mail attached is no bounce",
	  "From: Tim <tim@example.org>\n"
	  "Subject: see below\n"
	  "Message-ID: <fw-1@example.org>\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"M\"\n"
	  "\n"
	  "--M\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "FYI\n"
	  "--M\n"
	  "Content-Type: message/rfc822\n"
	  "\n"
	  "From: Ann <ann@example.com>\n"
	  "Subject: Mail to <bo@example.com>\n"
	  "\n"
	  "<bo@example.com>:\n"
	  "Sorry, no mailbox here by that name. (#5.1.1)\n"
	  "--M--\n",
	  NULL, KIND_NONE, "<fw-1@example.org>", NULL, 0, NULL, NULL, 0, { { NULL } } },

	{ "empty input", "", NULL, KIND_NONE, NULL, NULL, 0, NULL, NULL, 0, { { NULL } } },
};

/* VERP with a key and require_signature: a bounce that no valid signature ties to a recipient
 * is marked unverified (it must not suppress anyone); kind and recipients are still read. */
enum verp_env {
	ENV_NONE,	/* no envelope recipient, no VERP in the headers */
	ENV_UNSIGNED,	/* bounces+joe=example.com@... */
	ENV_SIGNED,	/* verp_encode with the key */
	ENV_TAMPERED,	/* the signed address with one MAC character changed */
};

struct verp_case {
	const char *name;
	const char *msg;
	enum verp_env env;
	enum bounce_kind kind;
	bool verp_present;
	bool verp_verified;
	const char *verp_address;
	const char *address;	/* the first recipient's, NULL: none */
};

#define VERP_KEY "0123456789abcdef0123456789abcdef"
#define ONE_DSN DSN(DAEMON, "Final-Recipient: rfc822; alias@example.com\nAction: failed\nStatus: 5.1.1\n", RETURNED_822)

static const struct verp_case verp_cases[] = {
	{ "no VERP at all", ONE_DSN, ENV_NONE, KIND_DSN, true, false, NULL, "alias@example.com" },
	{ "unsigned VERP", ONE_DSN, ENV_UNSIGNED, KIND_DSN, true, false, "joe@example.com", "joe@example.com" },
	{ "signed VERP", ONE_DSN, ENV_SIGNED, KIND_DSN, true, true, "joe@example.com", "joe@example.com" },
	{ "tampered signature", ONE_DSN, ENV_TAMPERED, KIND_DSN, true, false, "joe@example.com", "joe@example.com" },
	{ "an auto-reply is not marked",
	  "From: pat@example.com\nSubject: hi\nMessage-ID: <a@example.com>\nAuto-Submitted: auto-replied\n\nAway.\n",
	  ENV_NONE, KIND_AUTOREPLY, false, false, NULL, "pat@example.com" },
	{ "a person's mail is not marked",
	  "From: sam@example.com\nSubject: hi\nMessage-ID: <s@example.com>\n\nHello.\n",
	  ENV_NONE, KIND_NONE, false, false, NULL, NULL },
};

static void
check_verp(const struct verp_case *c)
{
	struct verp_config cfg;
	verp_config_default(&cfg);
	cfg.key = (const unsigned char *)VERP_KEY;
	cfg.key_len = sizeof VERP_KEY - 1;
	cfg.require_signature = true;
	char *env = NULL;
	if (c->env == ENV_UNSIGNED) {
		env = xstrdup("bounces+joe=example.com@sender.example.org");
	} else if (c->env != ENV_NONE) {
		env = verp_encode(&cfg, "bounces@sender.example.org", "joe@example.com", NULL);
		CHECK_INT("verp_encode", env != NULL, 1);
		if (env != NULL && c->env == ENV_TAMPERED) {
			/* bounces+s1=MAC==joe=example.com@... (doc/verp.md): change the MAC's first
			 * character. */
			char *mac = strstr(env, "+s1=");
			CHECK_INT("signed form", mac != NULL, 1);
			if (mac != NULL)
				mac[4] = mac[4] == 'a' ? 'b' : 'a';
		}
	}
	struct bounce_options opt = { .envelope_recipient = env, .verp = &cfg };
	struct bounce_report *r = bounce_parse(c->msg, strlen(c->msg), &opt);
	printf("# verp: %s (%s)\n", c->name, env != NULL ? env : "no envelope recipient");
	CHECK_STR("kind", bounce_kind_name(r->kind), bounce_kind_name(c->kind));
	CHECK_INT("verp present", r->verp_present, c->verp_present);
	CHECK_INT("verp verified", r->verp_verified, c->verp_verified);
	CHECK_STR("verp address", r->verp_address, c->verp_address);
	CHECK_INT("nrcpts", r->nrcpts, c->address != NULL ? 1 : 0);
	if (r->nrcpts > 0)
		CHECK_STR("address", r->rcpts[0].address, c->address);
	bounce_report_free(r);
	free(env);
}

/* msg with every LF replaced by eol. */
static char *
with_eol(const char *msg, size_t len, const char *eol, size_t *len_r)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_append(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n')
			strbuf_puts(&b, eol);
		else
			strbuf_putc(&b, msg[i]);
	}
	*len_r = b.len;
	return strbuf_detach(&b);
}

/* The length of a row's message: up to its closing NUL, past NUL bytes inside it. */
static size_t
msg_len(const struct bounce_case *c)
{
	if (c->flags & BOUNCE_F_NUL_BYTES)
		return strlen(c->msg) + 1 + strlen(c->msg + strlen(c->msg) + 1);
	return strlen(c->msg);
}

static void
check(const struct bounce_case *c, const char *eol)
{
	size_t len;
	char *msg = with_eol(c->msg, msg_len(c), eol, &len);
	struct bounce_options opt = { .envelope_recipient = c->envelope };
	struct bounce_report *r = bounce_parse(msg, len, &opt);
	printf("# %s (%s)\n", c->name, eol[0] == '\n' ? "LF" : eol[1] == '\n' ? "CRLF" : "CR");
	CHECK_STR("kind", bounce_kind_name(r->kind), bounce_kind_name(c->kind));
	CHECK_STR("message_id", r->message_id, c->message_id);
	CHECK_STR("original_message_id", r->original_message_id, c->original_message_id);
	CHECK_INT("flags", r->flags, c->flags);
	CHECK_STR("verp address", r->verp_address, c->verp_address);
	if (c->verp_address != NULL)
		CHECK_INT("verp verified", r->verp_verified, true);
	CHECK_STR("x_tags", r->x_tags, c->x_tags);
	CHECK_INT("nrcpts", r->nrcpts, c->nrcpts);
	for (size_t i = 0; i < r->nrcpts && i < c->nrcpts; i++) {
		const struct bounce_recipient *g = &r->rcpts[i];
		const struct want_rcpt *w = &c->rcpts[i];
		CHECK_STR("address", g->address, w->address);
		CHECK_STR("action", g->action, w->action);
		CHECK_STR("status", g->status, w->status);
		CHECK_STR("smtp_code", g->smtp_code, w->smtp_code);
		CHECK_STR("class", bounce_class_name(g->class_), bounce_class_name(w->class_));
		CHECK_STR("reason", bounce_reason_name(g->reason), bounce_reason_name(w->reason));
		CHECK_STR("blame", bounce_blame_name(g->blame), bounce_blame_name(w->blame));
		CHECK_STR("original_recipient", g->original_recipient, w->original_recipient);
	}
	bounce_report_free(r);
	free(msg);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		check(&cases[i], "\n");
		check(&cases[i], "\r\n");
		check(&cases[i], "\r");
	}
	for (size_t i = 0; i < sizeof verp_cases / sizeof verp_cases[0]; i++)
		check_verp(&verp_cases[i]);
	return TEST_DONE();
}
