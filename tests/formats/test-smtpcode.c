/* smtpcode: reply codes and enhanced status codes in diagnostics, and the numbers that only look
 * like them. */
#include <string.h>

#include "../core/test.h"
#include "smtpcode.h"

static const struct {
	const char *name;
	const char *text;
	const char *reply, *status;
	int paired;
} rows[] = {
	{ "reply and its code", "550 5.1.1 <a@x>: Recipient address rejected", "550", "5.1.1", 1 },
	{ "multi-line reply reads as one", "550-5.7.1 [TS01] Messages from 192.0.2.1 blocked",
	  "550", "5.7.1", 1 },
	{ "multi-line, quoted code", "550-'5.2.2 The email account is over quota", "550", "5.2.2", 1 },
	{ "Exchange #550", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", "550", "5.1.1", 1 },
	{ "Yahoo 554 #5.7.1", "554 #5.7.1 Message rejected", "554", "5.7.1", 1 },
	{ "qmail (#5.7.17)", "Sorry, no mailbox here by that name. (#5.7.17)", "", "5.7.17", 0 },
	{ "bare enhanced code", "Status: 5.4.6 loop", "", "5.4.6", 0 },
	/* RFC 3463 has subjects 0 to 7: "5.8.1" is no code, and "Postfix 2.8.5" a version */
	{ "subject 8 is no code", "Status: 5.8.1 loop", "", "", 0 },
	{ "a version that looks like a code", "Postfix 2.8.5 at host", "", "", 0 },
	{ "x-unix exit status is no code", "X-Unix; 67", "", "", 0 },
	{ "x-unix three digits after '-'", "x-unix-550 failed", "", "", 0 },
	{ "address in <> is no code", "<550@example.com>: mailbox full", "", "", 0 },
	{ "code inside <>", "rejected (<550 5.7.1 denied>)", "550", "5.7.1", 1 },
	{ "local part with a dotted number", "<user.5.1.1@example.com> unknown", "", "", 0 },
	{ "IP address", "host 10.5.1.1 said: 451 try later", "451", "", 0 },
	{ "IP address with 550 in it", "from 192.0.550.2 refused", "", "", 0 },
	{ "version number", "Postfix v2.5.1.3 ready, 5.1.10a", "", "", 0 },
	{ "colour in a style sheet", "color: #555 !important;", "", "", 0 },
	{ "URL fragment", "see https://example.com/DOC-1369#554 for help", "", "", 0 },
	{ "longer number", "queue id 45501 and 12550", "", "", 0 },
	{ "different classes do not pair", "550 4.2.2 odd", "550", "4.2.2", 0 },
	{ "first pair wins over a lone code before it", "421 then 550 5.1.1 unknown", "550", "5.1.1", 1 },
	{ "end of sentence", "The server answered 550.", "550", "", 0 },
	{ "code then colon", "said: 550: no such user", "550", "", 0 },
	{ "Postfix reply and address", "said: 550 <a@x>: User unknown", "550", "", 0 },
	{ "enhanced code then ip", "5.7.1 192.0.2.1 blocked", "", "5.7.1", 0 },
	{ "class 9 is no code", "9.1.1 4.2.2", "", "4.2.2", 0 },
	{ "detail of four digits", "5.1.1234 no", "", "", 0 },
	{ "code at the very end", "status 4.4.7", "", "4.4.7", 0 },
	{ "reply at the very end", "failed with 552", "552", "", 0 },
	{ "'-' not after a reply", "code-5.1.1 and x", "", "", 0 },
	{ "2xx reply", "250 2.0.0 Ok: queued", "250", "2.0.0", 1 },
	{ "Exim's reply with an address", "host mx.example.jp [192.0.2.20]: 550 5.7.0 <a@example.jp>... Please use",
	  "550", "5.7.0", 1 },
	{ "qmail (#5.4.4)", "Sorry, I couldn't find a mail exchanger. (#5.4.4)", "", "5.4.4", 0 },
	{ "times and versions", "from 192.0.2.45 at 12:00 (Exim 4.72) version 8.14.4/8.14.4", "", "", 0 },
	{ "codes after ':'", "ERROR_CODE :550, ERROR_CODE :5.1.1 <a@example.co.jp>", "550", "5.1.1", 0 },
	{ "subject of two digits", "timeout after 2013 seconds, 5.10.2 is no code", "", "", 0 },
	{ "empty", "", "", "", 0 },
};

static void
check_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct smtpcode c;
		smtpcode_scan(rows[i].text, strlen(rows[i].text), &c);
		CHECK_STR(rows[i].name, c.reply, rows[i].reply);
		CHECK_STR(rows[i].name, c.status, rows[i].status);
		CHECK_INT(rows[i].name, c.paired, rows[i].paired);
	}
}

/* Length-counted: a code cut by the end of the buffer is read as far as the buffer goes, and
 * nothing past len is read. */
static void
check_bounds(void)
{
	const char *t = "550 5.1.1xx";
	struct smtpcode c;
	smtpcode_scan(t, 9, &c);
	CHECK_STR("status cut at len", c.status, "5.1.1");
	smtpcode_scan(t, 2, &c);
	CHECK_STR("reply cut short", c.reply, "");
	CHECK_INT("reply_at past len", smtpcode_reply_at(t, 3, 3), 0);
	CHECK_INT("status_at past len", smtpcode_status_at(t, 9, 9), 0);
	size_t at = 99;
	CHECK_INT("paired", smtpcode_paired(t, 9, 0, &at), 5);
	CHECK_INT("paired at", at, 4);
}

/* smtpcode_quoted_reply: a remote reply after the report's own code. */
static const struct {
	const char *text;
	long at;	/* -1: none */
} quoted[] = {
	{ "5.1.0 - Unknown address error 550-'5.7.1 <a@x>... Access denied'", 30 },
	{ "550 5.1.1 <a@x>: Recipient address rejected", -1 },	/* the reply alone */
	{ "Status 5.0.0, then 451 4.4.1 and 550 5.1.1", 19 },	/* the first reply */
	{ "5.4.7 delivery expired (550 no code here)", -1 },
	{ "", -1 },
};

static void
check_quoted(void)
{
	for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
		size_t at = 0;
		bool got = smtpcode_quoted_reply(quoted[i].text, strlen(quoted[i].text), &at);
		CHECK_INT(quoted[i].text, got ? (long)at : -1, quoted[i].at);
	}
}

/* smtpcode_fill keeps what a report gave elsewhere. */
static void
check_fill(void)
{
	char status[SMTPCODE_STATUS_SIZE] = "5.1.1", reply[4] = "";
	smtpcode_fill("452 4.2.2 full", 14, status, reply);
	CHECK_STR("kept status", status, "5.1.1");
	CHECK_STR("filled code", reply, "452");
	char s2[SMTPCODE_STATUS_SIZE] = "", r2[4] = "421";
	smtpcode_fill("host said: 550-5.7.1 blocked", 28, s2, r2);
	CHECK_STR("filled status", s2, "5.7.1");
	CHECK_STR("kept code", r2, "421");
}

int
main(void)
{
	check_rows();
	check_fill();
	check_quoted();
	check_bounds();
	return TEST_DONE();
}
