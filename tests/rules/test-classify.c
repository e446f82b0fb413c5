/* classify_recipient: status code, reply code and wording → reason,
 * class and blame (DESIGN.md reason table), with the built-in wording rules. */
#include <stdlib.h>
#include <string.h>

#include "../core/test.h"
#include "classify.h"
#include "report.h"
#include "strbuf.h"

struct classify_case {
	const char *name;
	const char *action, *status, *smtp_code, *diagnostic, *context;
	/* expected */
	const char *class_, *reason, *blame, *want_status, *want_code, *rule;
};

static const struct classify_case cases[] = {
	/* one row per reason of the table */
	{ "user_unknown by code", "failed", "5.1.1", "550", "550 5.1.1 <a@example.com>... Bad mailbox", NULL,
	  "hard", "user_unknown", "recipient", "5.1.1", "550", "en-user-unknown" },
	{ "user_unknown by wording", "failed", "", "", "550 sorry, no mailbox here by that name", NULL,
	  "hard", "user_unknown", "recipient", "", "550", "en-user-unknown" },
	{ "host_unknown by code", "failed", "5.1.2", "", "Host or domain name not found", NULL,
	  "hard", "host_unknown", "recipient", "5.1.2", "", "en-host-unknown" },
	{ "host_unknown NXDOMAIN under 5.4.4", "failed", "5.4.4", "", "unrouteable: NXDOMAIN for example.invalid", NULL,
	  "hard", "host_unknown", "recipient", "5.4.4", "", "en-host-unknown" },
	{ "has_moved", "failed", "5.1.6", "551", "551 5.1.6 Mailbox moved", NULL,
	  "hard", "has_moved", "recipient", "5.1.6", "551", "en-moved" },
	{ "not_accept null MX", "failed", "5.1.10", "556", "556 5.1.10 Recipient address has null MX", NULL,
	  "hard", "not_accept", "recipient", "5.1.10", "556", "en-not-accept" },
	{ "mailbox_full", "failed", "5.2.2", "552", "552 5.2.2 Mailbox quota exceeded", NULL,
	  "soft", "mailbox_full", "recipient", "5.2.2", "552", "en-mailbox-full" },
	{ "mailbox_disabled", "failed", "5.2.1", "550", "550 5.2.1 The email account that you tried to reach is disabled", NULL,
	  "soft", "mailbox_disabled", "recipient", "5.2.1", "550", "en-disabled" },
	{ "message_too_large", "failed", "5.3.4", "552", "552 5.3.4 Message size exceeds fixed maximum message size", NULL,
	  "soft", "message_too_large", "sender", "5.3.4", "552", "en-too-large" },
	{ "filtered 5.2.0", "failed", "5.2.0", "550", "550 5.2.0 Message refused by local filters", NULL,
	  "soft", "filtered", "recipient", "5.2.0", "550", "en-filtered" },
	{ "rejected sender 5.1.8", "failed", "5.1.8", "501", "501 5.1.8 Sender address rejected: Domain not found", NULL,
	  "soft", "rejected", "sender", "5.1.8", "501", "en-sender" },
	{ "blocked list", "failed", "5.7.1", "554", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", NULL,
	  "soft", "blocked", "sender", "5.7.1", "554", "en-blocked-list" },
	/* German sender-side wording is the sender's, not an unknown recipient (review). */
	{ "de: the sender's domain does not exist", "failed", "5.0.0", "550",
	  "550 Die Domain des Absenders existiert nicht (in reply to MAIL FROM command)", NULL,
	  "soft", "rejected", "sender", "5.0.0", "550", "i18n-sender" },
	{ "de: Absender-Domain", "failed", "5.0.0", "550", "550 Die Absender-Domain existiert nicht", NULL,
	  "soft", "rejected", "sender", "5.0.0", "550", "i18n-sender" },
	{ "de: the mailbox does not exist", "failed", "5.0.0", "550",
	  "550 Das Postfach kunde@example.de existiert nicht", NULL,
	  "hard", "user_unknown", "recipient", "5.0.0", "550", "de-user-unknown" },
	{ "client host blocked, no address between", "failed", "5.7.1", "554",
	  "554 5.7.1 Service unavailable; client host blocked", NULL,
	  "soft", "blocked", "sender", "5.7.1", "554", "en-blocked-list" },
	{ "blocked no PTR", "failed", "5.7.25", "550", "550 5.7.25 The IP address sending this message does not have a PTR record", NULL,
	  "soft", "blocked", "sender", "5.7.25", "550", "en-blocked-ptr" },
	{ "spam_detected", "failed", "5.7.1", "550", "550 5.7.1 Message rejected as spam by Content Filtering", NULL,
	  "soft", "spam_detected", "sender", "5.7.1", "550", "en-spam" },
	{ "virus", "failed", "5.7.0", "554", "554 5.7.0 Virus found: Eicar-Test-Signature", NULL,
	  "soft", "spam_detected", "sender", "5.7.0", "554", "en-virus" },
	{ "policy DMARC", "failed", "5.7.26", "550", "550 5.7.26 Unauthenticated email is not accepted due to domain's DMARC policy", NULL,
	  "soft", "policy", "sender", "5.7.26", "550", "en-auth" },
	{ "policy relaying", "failed", "5.7.1", "554", "554 5.7.1 <x@example.net>: Relay access denied", NULL,
	  "soft", "policy", "sender", "5.7.1", "554", "en-relay" },
	{ "rate_limited", "failed", "4.7.0", "421", "421 4.7.0 Try again later, closing connection. (throttled)", NULL,
	  "soft", "rate_limited", "sender", "4.7.0", "421", "en-rate-limited" },
	{ "expired by code", "failed", "4.4.7", "", "", NULL,
	  "soft", "expired", "network", "4.4.7", "", NULL },
	{ "network_error", "failed", "4.4.1", "", "connect to mx.example.com[192.0.2.2]:25: Connection timed out", NULL,
	  "soft", "network_error", "network", "4.4.1", "", "en-network" },
	{ "system_error", "failed", "5.3.0", "554", "554 5.3.0 Internal system error", NULL,
	  "soft", "system_error", "network", "5.3.0", "554", "en-system" },
	{ "syntax_error", "failed", "5.5.2", "500", "500 5.5.2 Syntax error, command unrecognized", NULL,
	  "soft", "syntax_error", "sender", "5.5.2", "500", "en-syntax" },
	{ "unknown", "failed", "", "", "", NULL,
	  "soft", "unknown", "unknown", "", "", NULL },
	{ "delivered", "delivered", "2.0.0", "250", "250 2.0.0 OK", NULL,
	  "none", "delivered", "", "2.0.0", "250", NULL },
	{ "relayed", "relayed", "2.0.0", "", "", NULL,
	  "none", "delivered", "", "2.0.0", "", NULL },
	{ "expanded", "expanded", "2.0.0", "", "", NULL,
	  "none", "delivered", "", "2.0.0", "", NULL },

	/* wording beats a generic or even a specific code */
	{ "5.1.1 too many recipients this hour", "failed", "5.1.1", "550",
	  "550 5.1.1 <a@example.com>: too many recipients this hour", NULL,
	  "soft", "rate_limited", "sender", "5.1.1", "550", "en-rate-limited" },
	{ "5.2.2 quota", "failed", "5.2.2", "552", "552 5.2.2 <a@example.com>: quota exceeded", NULL,
	  "soft", "mailbox_full", "recipient", "5.2.2", "552", "en-mailbox-full" },
	{ "5.7.1 spamhaus", "failed", "5.7.1", "550", "550 5.7.1 Rejected: 192.0.2.1 listed at zen.spamhaus.org", NULL,
	  "soft", "blocked", "sender", "5.7.1", "550", "en-blocked-list" },
	{ "5.7.1 SPF", "failed", "5.7.1", "550", "550 5.7.1 SPF check failed for example.org", NULL,
	  "soft", "policy", "sender", "5.7.1", "550", "en-auth" },
	{ "5.1.1 but sender refused at MAIL FROM", "failed", "5.1.0", "553",
	  "SMTP error from remote mail server after MAIL FROM:<s@example.org>: 553 5.1.0 s@example.org does not exist", NULL,
	  "soft", "rejected", "sender", "5.1.0", "553", "en-mail-from" },
	{ "user unknown after end of DATA is a filter", "failed", "", "",
	  "host mx.example.net said: 550 Unknown user a@example.net (in reply to end of DATA command)", NULL,
	  "soft", "filtered", "recipient", "", "550", "en-user-unknown" },
	{ "but 5.1.1 at DATA still names the address", "failed", "5.1.1", "550",
	  ">>> DATA <<< 550 5.1.1 <a@example.net>... User unknown", NULL,
	  "hard", "user_unknown", "recipient", "5.1.1", "550", "en-user-unknown" },
	{ "filter wording beats 5.1.1", "failed", "5.1.1", "550",
	  "550 5.1.1 RCP-P2 Refused due to recipient preferences", NULL,
	  "soft", "filtered", "recipient", "5.1.1", "550", "en-filtered" },
	{ "user unknown after DATA per the report text", "failed", "5.0.0", "550", "550 Unknown user a@example.com",
	  "<a@example.com>: host mx.example.com said: 550 Unknown user a@example.com (in reply to end of DATA\n    command)\n",
	  "soft", "filtered", "recipient", "5.0.0", "550", "en-user-unknown" },
	{ "user unknown under 5.2.0 is a filter", "failed", "5.2.0", "550", "550 Unknown user a@example.jp", NULL,
	  "soft", "filtered", "recipient", "5.2.0", "550", "en-user-unknown" },
	/* user-unknown wording beats a bare x.7.x (issue 13) */
	{ "user unknown under 5.7.1 names the mailbox", "failed", "5.7.1", "550",
	  "550 5.7.1 <a@example.fr>: Recipient address rejected: User unknown", NULL,
	  "hard", "user_unknown", "recipient", "5.7.1", "550", "en-user-unknown" },
	{ "No such user under 5.7.1", "failed", "5.7.1", "550", "550 5.7.1 No such user c18si2365148hub", NULL,
	  "hard", "user_unknown", "recipient", "5.7.1", "550", "en-user-unknown" },
	{ "badrcptto under qmail's (#5.7.1)", "failed", "5.7.1", "553",
	  "553 sorry, badrcptto(user mail-box not found) (#5.7.1)", NULL,
	  "hard", "user_unknown", "recipient", "5.7.1", "553", "en-user-unknown" },
	{ "No mail box available", "failed", "5.0.0", "550", "550 ** No mail box available for this user **", NULL,
	  "hard", "user_unknown", "recipient", "5.0.0", "550", "en-user-unknown" },
	{ "not an active address", "failed", "5.0.0", "550",
	  "550-a@example.net is not an active address at this host (invalid 550 username)", NULL,
	  "hard", "user_unknown", "recipient", "5.0.0", "550", "en-user-unknown" },
	{ "Rcpt <addr> does not exist", "failed", "", "550", "550 Rcpt <a@example.net> does not exist", NULL,
	  "hard", "user_unknown", "recipient", "", "550", "en-user-unknown" },
	{ "BAD_RECIPIENT", "failed", "5.0.0", "550", "550 BAD_RECIPIENT", NULL,
	  "hard", "user_unknown", "recipient", "5.0.0", "550", "en-user-unknown" },
	{ "5.2.1 with the generic 'Mailbox not available' is disabled", "failed", "5.2.1", "550",
	  "550 5.2.1 Mailbox not available / Konto niedostepne", NULL,
	  "soft", "mailbox_disabled", "recipient", "5.2.1", "550", "en-disabled" },
	{ "'mailbox unavailable' under Outlook's 5.5.0 is an unknown user", "failed", "5.5.0", "550",
	  "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).", NULL,
	  "hard", "user_unknown", "recipient", "5.5.0", "550", "en-user-unknown" },
	/* the most specific statement wins (issue 13) */
	{ "HELO refusal is the sender's, not host_unknown", "failed", "", "",
	  "Connected to 192.0.2.8 but my name was rejected. Sorry, host mx.example.net not found", NULL,
	  "soft", "blocked", "sender", "", "", "en-blocked-ptr" },
	{ "refused after HELO", "failed", "", "550",
	  "SMTP error from remote mail server after HELO relay.example.org: 550 Host relay.example.org not found",
	  NULL, "soft", "blocked", "sender", "", "550", "en-blocked-ptr" },
	{ "host X not found", "failed", "", "", "Sorry, host mx.nowhere.example not found", NULL,
	  "hard", "host_unknown", "recipient", "", "", "en-host-unknown" },
	{ "host X not found, try again is temporary DNS", "failed", "", "",
	  "Host mx.example.net not found, try again", NULL,
	  "soft", "network_error", "network", "", "", "en-specific-net" },
	{ "521 does not accept mail", "failed", "", "521", "521 mx.example.net", NULL,
	  "hard", "not_accept", "recipient", "", "521", NULL },
	{ "5.3.2 not accepting messages", "failed", "5.3.2", "", "system not accepting messages", NULL,
	  "hard", "not_accept", "recipient", "5.3.2", "", NULL },
	{ "null MX", "failed", "5.1.10", "", "Domain example.org has a null MX", NULL,
	  "hard", "not_accept", "recipient", "5.1.10", "", "en-not-accept" },
	{ "malformed name server reply is DNS trouble", "failed", "", "",
	  "Malformed name server reply (#5.4.3)", NULL,
	  "soft", "network_error", "network", "5.4.3", "", "en-specific-net" },
	{ "mail loops back to myself", "failed", "", "554", "554 mail for example.org loops back to myself",
	  NULL, "soft", "network_error", "network", "", "554", "en-specific-net" },
	{ "550 at RCPT with nothing conclusive blames the recipient", "failed", "", "550",
	  "host mx.example.net[192.0.2.1] said: 550 Sorry (in reply to RCPT TO command)", NULL,
	  "soft", "unknown", "recipient", "", "550", NULL },
	{ "au/KDDI: '550 : User unknown' after DATA is its domain filter", "failed", "", "550",
	  "SMTP error from remote mail server after end of data: host lsean.ezweb.ne.jp [192.0.2.3]: 550 : User unknown",
	  NULL, "soft", "filtered", "recipient", "", "550", "en-user-unknown" },
	{ "Postfix's continuation joined: the address line says the user does not exist", "failed", "5.7.1", "554",
	  "host mx.example.net[192.0.2.4] said: 554 5.7.1 <a@example.net>: Recipient address rejected: user a does not exist (in reply to RCPT TO command)",
	  NULL, "hard", "user_unknown", "recipient", "5.7.1", "554", "en-user-unknown" },
	/* after DATA: generic wording is a filter, a reply saying the mailbox does not exist is not */
	{ "mailbox not found after DATA (Yahoo)", "failed", "", "552",
	  "host mta7.example.net[192.0.2.7] said: 552 1 Requested mail action aborted, mailbox not found (in reply to end of DATA command)",
	  NULL, "hard", "user_unknown", "recipient", "", "552", "en-user-unknown" },
	{ "Unknown user after DATA is a filter", "failed", "", "550",
	  "SMTP error from remote mail server after end of data: 550 Unknown user a@example.jp", NULL,
	  "soft", "filtered", "recipient", "", "550", "en-user-unknown" },
	/* a report's own code and words wrapping the remote's reply: the reply decides */
	{ "SES wrapper 5.1.0 around the remote's 5.7.1 Access denied", "failed", "5.7.1", "550",
	  "5.1.0 - Unknown address error 550-'5.7.1 <x@bounces.example.com>... Access denied' (delivery attempts: 0)",
	  NULL, "soft", "policy", "sender", "5.7.1", "550", NULL },
	{ "SES wrapper 5.1.0 around the remote's 5.1.1 does not exist", "failed", "5.1.1", "550",
	  "5.1.0 - Unknown address error 550-'5.1.1 <a@example.org>: Recipient address rejected: User does not exist' (delivery attempts: 0)",
	  NULL, "hard", "user_unknown", "recipient", "5.1.1", "550", "en-user-unknown" },
	{ "an x.7.x only the reporting MTA added: the remote's words win", "failed", "5.7.1", "553",
	  "553 Invalid recipient a@example.org (Mode: normal)", NULL,
	  "hard", "user_unknown", "recipient", "5.7.1", "553", "en-user-unknown" },
	{ "a report's 5.0.0 gives way to the remote's 5.7.25", "failed", "5.0.0", "",
	  "550 5.7.25 <a@example.net>: Recipient address rejected: Reverse DNS validation failed", NULL,
	  "soft", "blocked", "sender", "5.7.25", "550", "en-blocked-ptr" },
	{ "a report's 5.0.0 keeps a 4.x.x of another class", "failed", "5.0.0", "",
	  "451 4.7.1 <a@example.net>: Reverse DNS validation failed", NULL,
	  "soft", "blocked", "sender", "5.0.0", "451", "en-blocked-ptr" },
	{ "5.2.1 disabled", "failed", "5.2.1", "550", "550 5.2.1 <a@example.com>: account disabled", NULL,
	  "soft", "mailbox_disabled", "recipient", "5.2.1", "550", "en-disabled" },

	{ "a local mailer's output is a system error, not the user", "failed", "5.1.1", "",
	  "Command output: procmail: Couldn't create \"/var/mail/x\": No such user", NULL,
	  "soft", "system_error", "network", "5.1.1", "", "en-mailer" },
	{ "Google Groups in another language", "failed", "", "",
	  "Il se peut que le groupe n'existe pas. Google Groups", NULL,
	  "soft", "rejected", "sender", "", "", "en-google-groups" },
	{ "code only", "failed", "5.1.1", "", "", NULL,
	  "hard", "user_unknown", "recipient", "5.1.1", "", NULL },

	/* never hard while temporary; an MTA that gave up on "user unknown" reports a dead address */
	{ "4.1.1 user unknown while delayed is soft", "delayed", "4.1.1", "450", "450 4.1.1 <a@example.org>: Recipient address rejected: User unknown", NULL,
	  "soft", "user_unknown", "recipient", "4.1.1", "450", "en-user-unknown" },
	{ "4.1.1 user unknown, failed for good, is hard", "failed", "4.1.1", "450", "450 4.1.1 <a@example.org>: Recipient address rejected: User unknown", NULL,
	  "hard", "user_unknown", "recipient", "4.1.1", "450", "en-user-unknown" },
	{ "4.1.1 'unverified address', failed, stays soft (no wording about the user)", "failed", "4.1.1", "450",
	  "450 4.1.1 <a@example.com>: Recipient address rejected: unverified address: host mx.example.com[192.0.2.1] said: 421 try later", NULL,
	  "soft", "user_unknown", "recipient", "4.1.1", "450", NULL },
	{ "450 reply without status or action is soft", "", "", "", "450 User unknown", NULL,
	  "soft", "user_unknown", "recipient", "", "450", "en-user-unknown" },
	{ "450 user unknown, failed for good, is hard", "failed", "", "", "450 User unknown", NULL,
	  "hard", "user_unknown", "recipient", "", "450", "en-user-unknown" },
	{ "host unknown under 4.x, failed, stays soft", "failed", "4.0.0", "", "DNS type 'mx' lookup of example.invalid responded with code NXDOMAIN", NULL,
	  "soft", "host_unknown", "recipient", "4.0.0", "", "en-host-unknown" },
	{ "delayed is expired", "delayed", "4.4.7", "", "", NULL,
	  "soft", "expired", "network", "4.4.7", "", NULL },
	{ "delayed but the wording says why", "delayed", "4.2.2", "452", "452 4.2.2 Mailbox full", NULL,
	  "soft", "mailbox_full", "recipient", "4.2.2", "452", "en-mailbox-full" },
	{ "delayed host unknown stays soft", "delayed", "4.4.4", "", "Host not found", NULL,
	  "soft", "host_unknown", "recipient", "4.4.4", "", "en-host-unknown" },

	/* codes from the diagnostic; the report text only when nothing else speaks */
	{ "codes read from the diagnostic", "failed", "", "", "said: 550-5.7.26 DMARC policy", NULL,
	  "soft", "policy", "sender", "5.7.26", "550", "en-auth" },
	{ "context when no diagnostic", "failed", "", "", NULL, "The recipient's mailbox is full.",
	  "soft", "mailbox_full", "recipient", "", "", "en-mailbox-full" },
	{ "context ignored when a diagnostic speaks", "failed", "5.1.1", "550", "550 5.1.1 unknown user", "mailbox is full",
	  "hard", "user_unknown", "recipient", "5.1.1", "550", "en-user-unknown" },
	{ "a diagnostic with no code that no rule reads: the report's text", "failed", "", "",
	  "Message delivery to 'ali@example.com' failed.", "Reason: Server response: 552 Mailbox quota exceeded",
	  "soft", "mailbox_full", "recipient", "", "", "en-mailbox-full" },
	{ "a diagnostic with a code: the report's text stays unread", "failed", "", "",
	  "550 Message delivery to 'ali@example.com' failed.", "Reason: Mailbox quota exceeded",
	  "soft", "unknown", "unknown", "", "550", NULL },
	{ "the report's text, not the returned message after it", "failed", "", "",
	  "Delivery to the following recipient failed permanently: ann@example.com",
	  "Delivery to the following recipient failed permanently:\n\n  ann@example.com\n\n"
	  "----- Original message -----\n\nReceived-SPF: neutral (example.com: 192.0.2.1 is neither permitted nor denied)\n",
	  "soft", "unknown", "unknown", "", "", NULL },
	{ "an empty diagnostic: the report's text up to the returned message", "failed", "", "", NULL,
	  "Your message could not be delivered: mailbox full.\n--- Below this line is a copy of the message.\n"
	  "X-Virus-Scan: virus-free\n",
	  "soft", "mailbox_full", "recipient", "", "", "en-mailbox-full" },
	{ "Exim gave up on hosts failing for a long time", "failed", "", "",
	  "all hosts have been failing for a long time and were last tried after this message arrived", NULL,
	  "soft", "expired", "network", "", "", "en-expired" },
	{ "after DATA, the mailbox said missing further on: hard", "failed", "", "",
	  "SMTP error from remote mail server after end of data: 550 Message was not accepted -- invalid "
	  "mailbox.  Local mailbox ann@example.ru is unavailable: user not found", NULL,
	  "hard", "user_unknown", "recipient", "", "550", "en-user-unknown" },
	{ "after DATA, generic wording: filtered", "failed", "", "",
	  "SMTP error from remote mail server after end of data: 550 invalid mailbox", NULL,
	  "soft", "filtered", "recipient", "", "550", "en-user-unknown" },
	{ "does not exist misspelt", "failed", "", "", "554 RCPT (bo@example.net) dosn't exist (in reply to RCPT TO command)", NULL,
	  "hard", "user_unknown", "recipient", "", "554", "en-user-unknown" },
	{ "delivery expired under a wrapper's code", "failed", "5.4.7", "", "5.4.7 - Delivery expired (message too old) 'timeout'", NULL,
	  "soft", "expired", "network", "5.4.7", "", "en-expired" },
	{ "other languages: german, address not found", "failed", "", "", "Die eingegebene E-Mail-Adresse wurde nicht gefunden.", NULL,
	  "hard", "user_unknown", "recipient", "", "", "de-user-unknown" },
	{ "other languages: german", "failed", "", "", "Benutzer unbekannt", NULL,
	  "hard", "user_unknown", "recipient", "", "", "de-user-unknown" },
	{ "other languages: japanese", "failed", "", "", "メールボックスがいっぱいです", NULL,
	  "soft", "mailbox_full", "recipient", "", "", "ja-mailbox-full" },
	{ "other languages: russian", "failed", "", "", "Пользователь не найден", NULL,
	  "hard", "user_unknown", "recipient", "", "", "ru-user-unknown" },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct classify_case *c = &cases[i];
		struct bounce_recipient rc;
		memset(&rc, 0, sizeof rc);
		rc.address = xstrdup("a@example.com");
		rc.action = xstrdup(c->action);
		strcpy(rc.status, c->status);
		strcpy(rc.smtp_code, c->smtp_code);
		rc.diagnostic = c->diagnostic != NULL ? xstrdup(c->diagnostic) : NULL;
		classify_recipient(&rc, c->context, c->context != NULL ? strlen(c->context) : 0, NULL, NULL);
		printf("# %s: %s\n", c->name, rc.evidence);
		CHECK_STR(c->name, bounce_class_name(rc.class_), c->class_);
		CHECK_STR(c->name, bounce_reason_name(rc.reason), c->reason);
		CHECK_STR(c->name, bounce_blame_name(rc.blame), c->blame);
		CHECK_STR(c->name, rc.status, c->want_status);
		CHECK_STR(c->name, rc.smtp_code, c->want_code);
		CHECK_STR(c->name, rc.rule, c->rule);
		/* where the deciding rule is written: a shipped file's line */
		CHECK_INT(c->name, rc.rule_at != NULL && strncmp(rc.rule_at, "reasons.rules:", 14) == 0,
		    c->rule != NULL);
		CHECK_INT(c->name, rc.evidence != NULL && rc.evidence[0] != '\0', 1);
		free(rc.address);
		free(rc.action);
		free(rc.diagnostic);
		free(rc.evidence);
		free(rc.rule);
		free(rc.rule_at);
	}

	/* --explain names the code, the wording and the rule */
	struct bounce_recipient er;
	memset(&er, 0, sizeof er);
	er.action = xstrdup("failed");
	strcpy(er.status, "5.1.1");
	er.diagnostic = xstrdup("550 5.1.1 <a@example.com>: too many recipients this hour");
	classify_recipient(&er, NULL, 0, NULL, NULL);
	CHECK_STR("evidence", er.evidence,
	    "status 5.1.1 (as reported); smtp 550; wording 'too many recipients' (rule en-rate-limited) → rate_limited");
	free(er.action);
	free(er.diagnostic);
	free(er.evidence);
	free(er.rule);
	free(er.rule_at);

	/* complaints and auto-replies are not touched */
	struct bounce_recipient cr;
	memset(&cr, 0, sizeof cr);
	cr.class_ = CLASS_COMPLAINT;
	cr.reason = REASON_COMPLAINT;
	classify_recipient(&cr, NULL, 0, NULL, NULL);
	CHECK_STR("complaint kept", bounce_class_name(cr.class_), "complaint");
	CHECK_STR("complaint reason kept", bounce_reason_name(cr.reason), "complaint");
	CHECK_INT("complaint no evidence added", cr.evidence == NULL, 1);

	return TEST_DONE();
}
