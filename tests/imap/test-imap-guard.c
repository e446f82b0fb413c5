/* imap_guard_scan: what a server may send before libetpan parses it. Each row is fed whole and
 * then one byte per read (the state must carry across reads). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/test.h"
#include "imap_guard.h"

#define MAX	1000u	/* literal cap of every row */
#define BUDGET	4096u	/* byte budget of every row */

struct row {
	const char *name;
	const char *in;
	bool ok;
	unsigned long long left;	/* literal bytes still expected after the input */
	const char *error;		/* part of the error when refused */
};

static const struct row rows[] = {
	{ "plain line", "* 1 EXISTS\r\n", true, 0, NULL },
	{ "literal announced", "* 1 FETCH (BODY[] {5}\r\n", true, 5, NULL },
	{ "literal read", "* 1 FETCH (BODY[] {5}\r\nhello)\r\n", true, 0, NULL },
	{ "literal at the cap", "* 1 FETCH (BODY[] {1000}\r\n", true, 1000, NULL },
	{ "literal over the cap", "* 1 FETCH (BODY[] {1001}\r\n", false, 0, "larger than 1000" },
	{ "ten digits, leading zeros", "* 1 FETCH (BODY[] {0000000005}\r\n", true, 5, NULL },
	{ "ten digits over the cap", "* X {4294967301}\r\n", false, 0, "larger than" },
	/* libetpan allocates from "{N}" before it checks the CRLF after it. */
	{ "over the cap, then CR and text", "* X {4000000000}\rENT\n", false, 0, "larger than" },
	{ "over the cap, inside a line", "* OK {4000000000} x\r\n", false, 0, "larger than" },
	{ "at the cap, inside a line", "* OK {1000} x\r\n", true, 0, NULL },
	{ "2^32 (libetpan reads 0)", "* X {4294967296}\r\n", false, 0, "larger than" },
	{ "zero-length literal", "* X {0}\r\n)\r\n", true, 0, NULL },
	/* Forms libetpan 1.9.4 takes as a literal: never let one through unseen. */
	{ "31 digits (libetpan reads 5)", "* X {0000000000000000000000000000005}\r\n", false, 0,
	  "more than 10 digits" },
	{ "40 digits after 100 bytes of line",
	  "* 1 FETCH (UID 1 FLAGS (\\Seen \\Answered \\Flagged \\Draft) INTERNALDATE \"x\" "
	  "RFC822.SIZE 5 BODY[] {0000000000000000000000000000000000000005}\r\n", false, 0,
	  "more than 10 digits" },
	{ "bare LF", "* X {5}\nhello)\r\n", false, 0, "bare LF" },
	{ "bare LF, text inside the literal",
	  "* X {30}\n{99999999}\r\n", false, 0, "bare LF" },
	{ "blank after {", "* X { 5}\r\n", false, 0, "blanks" },
	{ "tab after {", "* X {\t5}\r\n", false, 0, "blanks" },
	{ "blank before }", "* X {5 }\r\n", false, 0, "blanks" },
	{ "blank after }", "* X {5} \r\n", false, 0, "blanks" },
	{ "blanks and bare LF", "* X { 5 } \n", false, 0, "blanks" },
	{ "100 blanks after {",
	  "* X {                                                  "
	  "                                                  5}\r\n", false, 0, "blanks" },
	/* libetpan reads "{N}" at the end of a status response as text (and inside "[...]" as a
	 * literal): skipping N bytes there could hide the next line's announcement. */
	{ "untagged OK", "* OK {5}\r\n", false, 0, "status response" },
	{ "in a response code", "* OK [BADCHARSET ({5}\r\n", false, 0, "status response" },
	{ "tagged OK", "A1 OK done {5}\r\n", false, 0, "status response" },
	{ "tagged NO", "A1 NO {5}\r\n", false, 0, "status response" },
	{ "lowercase, several blanks", "*   bad {5}\r\n", false, 0, "status response" },
	{ "BYE", "* BYE {5}\r\n", false, 0, "status response" },
	{ "PREAUTH", "* PREAUTH[x] {5}\r\n", false, 0, "status response" },
	{ "continuation request", "+ go {5}\r\n", false, 0, "status response" },
	{ "status line after a response with a literal",
	  "* 1 FETCH (BODY[] {2}\r\nab FLAGS ())\r\n* OK {3}\r\n", false, 0, "status response" },
	{ "not a status word", "* OKAY {3}\r\n", true, 3, NULL },
	{ "a literal's next line goes on with the response",
	  "* 1 FETCH (X {2}\r\nab OK {3}\r\n", true, 3, NULL },
	{ "a very long tag", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA OK {3}\r\n", false, 0,
	  "status response" },
	/* Not announcements: text that merely looks like one. */
	{ "braces inside a line", "* OK {5} more\r\n", true, 0, NULL },
	{ "empty braces", "* OK {}\r\n", true, 0, NULL },
	{ "letters in braces", "* OK {abc}\r\n", true, 0, NULL },
	{ "CR CR LF", "* OK {5}\r\r\n", true, 0, NULL },
	{ "quoted", "* OK \"{5}\"\r\n", true, 0, NULL },
	{ "a literal's bytes are not a line", "* X {8}\r\n{999999}\r\n", true, 0, NULL },
	/* Response codes libetpan 1.9.4 crashes on (found by fuzz/fuzz-imap.c): a PERMANENTFLAGS
	 * list whose first item is not a flag, and any list in the greeting's code. */
	{ "PERMANENTFLAGS", "* OK [PERMANENTFLAGS (\\Seen \\Deleted $Bounced \\*)] x\r\n", true, 0, NULL },
	{ "PERMANENTFLAGS empty", "* OK [PERMANENTFLAGS ()] x\r\n", true, 0, NULL },
	{ "PERMANENTFLAGS in a tagged NO", "A1 NO [PERMANENTFLAGS (\\Seen)] x\r\n", true, 0, NULL },
	{ "PERMANENTFLAGS (\\()", "* OK [PERMANENTFLAGS (\\()] x\r\n", false, 0, "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS (%)", "A1 OK [PERMANENTFLAGS (%)] x\r\n", false, 0, "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS (\")", "* OK [permanentflags (\")] x\r\n", false, 0, "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS (\\\\)", "* NO  [PERMANENTFLAGS (\\\\)] x\r\n", false, 0, "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS ((", "* OK [PERMANENTFLAGS ((] x\r\n", false, 0, "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS with a lone \\", "* OK [PERMANENTFLAGS (\\ \\Seen)] x\r\n", false, 0,
	  "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS, bad second item", "* OK [PERMANENTFLAGS (\\Seen %)] x\r\n", false, 0,
	  "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS without a list", "* OK [PERMANENTFLAGS \\Seen] x\r\n", false, 0,
	  "PERMANENTFLAGS" },
	{ "PERMANENTFLAGS cut by the line end", "* OK [PERMANENTFLAGS (\\Seen\r\n", false, 0,
	  "PERMANENTFLAGS" },
	{ "continuation with PERMANENTFLAGS (%)", "+ [PERMANENTFLAGS (%)] x\r\n", false, 0,
	  "PERMANENTFLAGS" },
	{ "a list in the text, not the code", "* OK done [PERMANENTFLAGS (%)]\r\n", true, 0, NULL },
	{ "a list in another response", "* 1 FETCH (FLAGS (%))\r\n", true, 0, NULL },
	/* libetpan 1.9.4 dereferences NULL after "* CAPABILITY" without a capability. */
	{ "CAPABILITY", "* CAPABILITY IMAP4rev1 MOVE\r\n", true, 0, NULL },
	{ "CAPABILITY without one", "* CAPABILITY\r\n", false, 0, "without a capability" },
	{ "CAPABILITY, blanks only", "* capability  \r\n", false, 0, "without a capability" },
	{ "CAPABILITY (", "* CAPABILITY (\r\n", false, 0, "without a capability" },
	{ "tagged CAPABILITY is not one", "A1 CAPABILITY\r\n", true, 0, NULL },
	/* Budget. */
	{ "over the budget", NULL, false, 0, "more than 4096 bytes" },
};

/* Fed as the connection's first response (imap_guard.greeting set). */
static const struct row greeting_rows[] = {
	{ "greeting", "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready (v2)\r\n", true, 0, NULL },
	{ "greeting, BADCHARSET (UTF-8)", "* OK [BADCHARSET (UTF-8)] x\r\n", false, 0, "greeting" },
	{ "greeting, PERMANENTFLAGS ()", "* OK [PERMANENTFLAGS ()] x\r\n", false, 0, "greeting" },
	{ "greeting, PREAUTH", "* PREAUTH [X (a)] x\r\n", false, 0, "greeting" },
	{ "after the greeting", "* OK hi\r\n* OK [BADCHARSET (UTF-8)] x\r\n", true, 0, NULL },
	/* libetpan 1.9.4 leaks the greeting of a BYE: cut, its text kept for the operator. */
	{ "greeting BYE", "* BYE Too many connections\r\n", false, 0,
	  "refused the connection: BYE Too many connections" },
	{ "BYE after the greeting", "* OK hi\r\n* BYE idle\r\n", true, 0, NULL },
};

static void
run(const struct row *r, bool greeting, bool bytewise)
{
	char big[BUDGET + 2];
	const char *in = r->in;
	if (in == NULL) {
		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		in = big;
	}
	struct imap_guard g = { 0 };
	imap_guard_set(&g, MAX, BUDGET);
	g.greeting = greeting;
	size_t n = strlen(in);
	bool ok = true;
	if (bytewise) {
		for (size_t k = 0; k < n && ok; k++)
			ok = imap_guard_scan(&g, in + k, 1);
	} else {
		ok = imap_guard_scan(&g, in, n);
	}
	char what[200];
	snprintf(what, sizeof what, "%s%s", r->name, bytewise ? " (bytewise)" : "");
	CHECK_INT(what, ok, r->ok);
	if (ok)
		CHECK_INT(what, g.literal_left, r->left);
	CHECK_INT(what, g.error != NULL, !r->ok);
	if (r->error != NULL)
		CHECK_INT(what, g.error != NULL && strstr(g.error, r->error) != NULL, 1);
	if (!ok)	/* refused once, refused for good */
		CHECK_INT(what, imap_guard_scan(&g, "\r\n", 2), 0);
	imap_guard_clear(&g);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		run(&rows[i], false, false);
		run(&rows[i], false, true);
	}
	for (size_t i = 0; i < sizeof greeting_rows / sizeof greeting_rows[0]; i++) {
		run(&greeting_rows[i], true, false);
		run(&greeting_rows[i], true, true);
	}
	/* A new command gets a new budget (13 + 10 bytes > 20); a literal being read carries over. */
	struct imap_guard g = { 0 };
	imap_guard_set(&g, MAX, 20);
	CHECK_INT("first command", imap_guard_scan(&g, "* X {10}\r\nabc", 13), 1);
	imap_guard_set(&g, MAX, 20);
	CHECK_INT("next command", imap_guard_scan(&g, "defghij)\r\n", 10), 1);
	CHECK_INT("literal done", g.literal_left, 0);
	CHECK_INT("line after it", imap_guard_scan(&g, "* X {7}\r\n", 9), 1);
	CHECK_INT("next literal", g.literal_left, 7);
	imap_guard_clear(&g);
	return TEST_DONE();
}
