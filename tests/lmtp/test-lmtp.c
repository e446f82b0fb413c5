/* The LMTP state machine fed bytes: every row is run whole and one byte at a time, and must give
 * exactly the same replies and the same received message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "lmtp.h"
#include "strbuf.h"

#define G "220 test LMTP bounced ready\r\n"
#define LHLO_REPLY "250-test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
	"250-SMTPUTF8\r\n250 SIZE\r\n"
#define HELLO "LHLO client.example\r\n"
#define ENV "MAIL FROM:<>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n"
#define ENV_OK "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"

struct row {
	const char *name;
	const char *in;
	const char *out;		/* every reply, in order */
	const char *data;		/* last message received, NULL when none */
	const char *rcpts;		/* "a,b" of the last message */
	const char *from;
	size_t max_message;		/* 0 = default */
	size_t size;			/* bytes of the last message as sent, 0 = strlen(data) */
	enum lmtp_state end;
	unsigned int flags;		/* of the last message: F_8BIT, F_UTF8 */
};

#define F_8BIT	1u	/* BODY=8BITMIME */
#define F_UTF8	2u	/* SMTPUTF8 */

static const struct row rows[] = {
	{ "greeting", "", G, NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 },
	{ "pipelined transaction, two recipients, null sender, dot-stuffing",
	  HELLO "MAIL FROM:<> BODY=8BITMIME SIZE=40\r\nRCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
	  "DATA\r\nSubject: t\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n",
	  G LHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
	  "Subject: t\r\n\r\n.leading dot\r\n", "a@x.example,b@x.example", "", 0, 0, LMTP_S_CLOSED,
	  F_8BIT },
	{ "SMTPUTF8 addresses", HELLO "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8 "
	  "BODY=8BITMIME\r\nRCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@x.example>\r\nDATA\r\n\xc3\xa9\r\n.\r\n",
	  G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n", "\xc3\xa9\r\n", "\xe7\x94\xa8\xe6\x88\xb7@x.example",
	  "j\xc3\xb6rg@b\xc3\xbc" "cher.example", 0, 0, LMTP_S_READY, F_8BIT | F_UTF8 },
	{ "a new transaction forgets the flags", HELLO "MAIL FROM:<> SMTPUTF8 BODY=8BITMIME\r\nRSET\r\n"
	  ENV "x\r\n.\r\n", G LHLO_REPLY "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n" ENV_OK "250 2.0.0 Ok\r\n",
	  "x\r\n", "b@x.example", "", 0, 0, LMTP_S_READY, 0 },
	{ "two messages in one session",
	  HELLO ENV "a\r\n.\r\n" ENV "b\r\n.\r\n",
	  G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n" ENV_OK "250 2.0.0 Ok\r\n",
	  "b\r\n", "b@x.example", "", 0, 0, LMTP_S_READY, 0 },
	{ "bare LF line ends", "LHLO c\nMAIL FROM:<s@y>\nRCPT TO:<b@x>\nDATA\nline\n..\n.\n",
	  G "250-test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
	  "250-SMTPUTF8\r\n250 SIZE\r\n" "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n",
	  "line\n.\n", "b@x", "s@y", 0, 0, LMTP_S_READY, 0 },
	{ "a dot inside a line or followed by text does not end the data",
	  HELLO ENV "a.\r\n.x\r\n. \r\n.\r\n",
	  G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n", "a.\r\nx\r\n \r\n", "b@x.example", "", 0, 0,
	  LMTP_S_READY, 0 },
	{ "empty message", HELLO ENV ".\r\n", G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n", "",
	  "b@x.example", "", 0, 0, LMTP_S_READY, 0 },
	{ "commands are case-insensitive", "lhlo c\r\nmail from:<s@y> smtputf8 body=7bit\r\n"
	  "rcpt to:<b@x>\r\nrset\r\nnoop\r\n",
	  G LHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_READY, 0 },
	{ "MAIL before LHLO", "MAIL FROM:<>\r\n", G "503 5.5.1 Error: send LHLO first\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 },
	{ "HELO and EHLO are not LMTP", "HELO c\r\nEHLO c\r\n",
	  G "500 5.5.1 Error: this is LMTP, send LHLO\r\n500 5.5.1 Error: this is LMTP, send LHLO\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 },
	{ "LHLO without argument", "LHLO\r\nLHLO  \r\n",
	  G "501 5.5.4 Syntax: LHLO hostname\r\n501 5.5.4 Syntax: LHLO hostname\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 },
	{ "RCPT and DATA out of order", HELLO "RCPT TO:<a@b>\r\nDATA\r\nMAIL FROM:<>\r\nDATA\r\n"
	  "MAIL FROM:<>\r\n",
	  G LHLO_REPLY "503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n"
	  "250 2.1.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n503 5.5.1 Error: nested MAIL command\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_MAIL, 0 },
	{ "MAIL syntax and parameters", HELLO "MAIL <a@b>\r\nMAIL FROM:a@b\r\nMAIL FROM:<a b>\r\n"
	  "MAIL FROM:<> BODY=BINARYMIME\r\nMAIL FROM:<> SIZE=12x\r\nMAIL FROM:<> SIZE=\r\n"
	  "MAIL FROM:<> X-FOO=1\r\nMAIL FROM:<>SIZE=1\r\nMAIL FROM:<\"q>uoted\"@b> SIZE=99999999999\r\n",
	  G LHLO_REPLY "501 5.5.4 Syntax: MAIL FROM:<address>\r\n501 5.1.7 Bad sender address syntax\r\n"
	  "501 5.1.7 Bad sender address syntax\r\n555 5.5.4 Unsupported MAIL parameter\r\n"
	  "501 5.5.4 Bad MAIL parameter syntax\r\n501 5.5.4 Bad MAIL parameter syntax\r\n"
	  "555 5.5.4 Unsupported MAIL parameter\r\n501 5.5.4 Bad MAIL parameter syntax\r\n"
	  "250 2.1.0 Ok\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_MAIL, 0 },
	{ "RCPT syntax and parameters", HELLO "MAIL FROM:<>\r\nRCPT TO:<>\r\nRCPT <a@b>\r\n"
	  "RCPT TO:<a@b> NOTIFY=NEVER\r\nRCPT TO:<a@b> =\r\nRCPT TO: <a@b>\r\nDATA x\r\n",
	  G LHLO_REPLY "250 2.1.0 Ok\r\n501 5.1.3 Bad recipient address syntax\r\n"
	  "501 5.5.4 Syntax: RCPT TO:<address>\r\n555 5.5.4 Unsupported RCPT parameter\r\n"
	  "501 5.5.4 Bad RCPT parameter syntax\r\n250 2.1.5 Ok\r\n501 5.5.4 Syntax: DATA\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_RCPT, 0 },
	{ "VRFY, HELP, NOOP, RSET, unknown", "VRFY joe\r\nHELP\r\nNOOP\r\nRSET\r\nBDAT 10\r\n",
	  G "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n"
	  "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n"
	  "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n500 5.5.2 Error: command not recognized\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 },
	{ "RSET ends the transaction", HELLO "MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nRSET\r\nDATA\r\n",
	  G LHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n503 5.5.1 Error: need MAIL command\r\n",
	  NULL, NULL, NULL, 0, 0, LMTP_S_READY, 0 },
	{ "NUL byte in a command", "NOOP\0x\r\nNOOP\r\n",
	  G "500 5.5.2 Error: NUL byte in command\r\n250 2.0.0 Ok\r\n", NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 },
	{ "message over the size kept is truncated and still answered 250",
	  HELLO ENV "0123456789\r\nabcdef\r\n.\r\n", G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n",
	  "0123456789\r\nab", "b@x.example", "", 14, 20, LMTP_S_READY, 0 },
	{ "QUIT stops reading", "QUIT\r\nNOOP\r\n", G "221 2.0.0 Bye\r\n", NULL, NULL, NULL, 0, 0,
	  LMTP_S_CLOSED, 0 },
};

/* Generated rows: limits. */
static char long_cmd[LMTP_MAX_COMMAND_LINE + 100];
static char errors_in[LMTP_MAX_ERRORS * 6 + 16];
static char errors_out[LMTP_MAX_ERRORS * 45 + 128];
static char long_data_in[3 * LMTP_MAX_DATA_CHUNK + 256];
static char long_data[3 * LMTP_MAX_DATA_CHUNK + 16];

struct got {
	struct strbuf data;
	struct strbuf rcpts;
	char *from;
	size_t size;
	bool truncated;
	unsigned int flags;
	int messages;
	bool async;		/* do not answer in the callback */
};

static void
on_message(void *ctx, struct lmtp_session *s, const struct lmtp_envelope *env)
{
	struct got *g = ctx;
	strbuf_reset(&g->data);
	strbuf_append(&g->data, env->data, env->len);
	strbuf_reset(&g->rcpts);
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (i > 0)
			strbuf_putc(&g->rcpts, ',');
		strbuf_puts(&g->rcpts, env->rcpts[i]);
	}
	free(g->from);
	g->from = xstrdup(env->mail_from);
	g->size = env->size;
	g->truncated = env->truncated;
	g->flags = (env->body_8bitmime ? F_8BIT : 0) | (env->smtputf8 ? F_UTF8 : 0);
	g->messages++;
	if (!g->async)
		lmtp_session_answer_all(s, "250 2.0.0 Ok");
}

static int failures;

static void
check_str(const char *name, const char *what, const char *got, const char *want)
{
	if (strcmp(got != NULL ? got : "(null)", want != NULL ? want : "(null)") != 0) {
		printf("FAIL %s: %s\n  got:  \"%s\"\n  want: \"%s\"\n", name, what,
		    got != NULL ? got : "(null)", want != NULL ? want : "(null)");
		failures++;
	}
}

static void
run(const struct row *r, size_t inlen, size_t step)
{
	struct got g = { STRBUF_INIT, STRBUF_INIT, NULL, 0, false, 0, 0, false };
	struct lmtp_params p = { .hostname = "test", .max_message = r->max_message,
	    .message = on_message, .ctx = &g };
	struct lmtp_session *s = lmtp_session_new(&p);
	struct strbuf out = STRBUF_INIT;
	for (size_t off = 0; off < inlen;) {
		size_t n = inlen - off < step ? inlen - off : step;
		size_t used = lmtp_session_feed(s, r->in + off, n);
		off += used;
		if (used < n)
			break;	/* closed */
	}
	size_t olen;
	const char *o = lmtp_session_output(s, &olen);
	strbuf_append(&out, o, olen);
	lmtp_session_output_consume(s, olen);

	char name[256];
	snprintf(name, sizeof name, "%s (step %zu)", r->name, step);
	check_str(name, "replies", out.s != NULL ? out.s : "", r->out);
	check_str(name, "state", lmtp_state_name(lmtp_session_state(s)), lmtp_state_name(r->end));
	if (r->data == NULL) {
		if (g.messages != 0)
			check_str(name, "message", "received", "none");
	} else {
		check_str(name, "data", g.data.s != NULL ? g.data.s : "", r->data);
		check_str(name, "rcpts", g.rcpts.s != NULL ? g.rcpts.s : "", r->rcpts);
		check_str(name, "from", g.from, r->from);
		size_t want = r->size != 0 ? r->size : strlen(r->data);
		if (g.flags != r->flags) {
			printf("FAIL %s: flags %u, want %u\n", name, g.flags, r->flags);
			failures++;
		}
		if (g.size != want || g.truncated != (want > strlen(r->data))) {
			printf("FAIL %s: size %zu truncated %d, want %zu\n", name, g.size, g.truncated, want);
			failures++;
		}
	}
	lmtp_session_free(s);
	strbuf_free(&out);
	strbuf_free(&g.data);
	strbuf_free(&g.rcpts);
	free(g.from);
}

static void
run_row(const struct row *r, size_t inlen)
{
	run(r, inlen, inlen == 0 ? 1 : inlen);
	run(r, inlen, 1);
	run(r, inlen, 7);
}

/* The lone "." line against LMTP_MAX_DATA_CHUNK, the size in which data is handed over and the
 * size of the reads the server feeds it (step LMTP_MAX_DATA_CHUNK below). Each row: the length
 * of the filler line before the dot ('x's, without its CRLF) and whether it is measured from the
 * start of the input (to put the dot at the end of a read) or of the data. */
static const struct chunk_row {
	const char *name;
	long fill;		/* filler length; negative: relative to LMTP_MAX_DATA_CHUNK */
	bool from_input;	/* the filler ends where a read of the input would */
	const char *tail;	/* what follows the filler */
	const char *want_tail;	/* the message ends with the filler and this */
} chunk_rows[] = {
	{ "a line of exactly one chunk (CRLF included), then the dot", -2, false, "\r\n.\r\n",
	  "\r\n" },
	{ "the CR of a line ends the chunk, then LF and the dot", -1, false, "\r\n.\r\n", "\r\n" },
	{ "a chunk of a long line ends just before \".\\r\\n\": it continues the line", 0, false,
	  ".\r\n.\r\n", ".\r\n" },
	{ "the dot line is the last 3 bytes of a read", -5, true, "\r\n.\r\n", "\r\n" },
	{ "the dot is the last byte of a read", -3, true, "\r\n.\r\n", "\r\n" },
	{ "the dot is the first byte of a read", -2, true, "\r\n.\r\n", "\r\n" },
	{ "the CRLF before the dot is split by a read", -1, true, "\r\n.\r\n", "\r\n" },
};

static void
test_chunk_boundary(void)
{
	static char in[2 * LMTP_MAX_DATA_CHUNK + 256];
	static char data[2 * LMTP_MAX_DATA_CHUNK + 16];
	const size_t head = strlen(HELLO ENV);
	for (size_t i = 0; i < sizeof chunk_rows / sizeof chunk_rows[0]; i++) {
		const struct chunk_row *c = &chunk_rows[i];
		long fill = (long)LMTP_MAX_DATA_CHUNK + c->fill - (c->from_input ? (long)head : 0);
		char x[LMTP_MAX_DATA_CHUNK + 1];
		memset(x, 'x', (size_t)fill);
		x[fill] = '\0';
		snprintf(in, sizeof in, HELLO ENV "%s%s", x, c->tail);
		snprintf(data, sizeof data, "%s%s", x, c->want_tail);
		struct row r = { c->name, in, G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n", data,
		    "b@x.example", "", 0, 0, LMTP_S_READY, 0 };
		run_row(&r, strlen(in));
		run(&r, strlen(in), LMTP_MAX_DATA_CHUNK);
	}
}

/* The answer arrives later: input after the final dot is not consumed until then. */
static void
test_async(void)
{
	const char *in = HELLO "MAIL FROM:<>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n";
	struct got g = { STRBUF_INIT, STRBUF_INIT, NULL, 0, false, 0, 0, true };
	struct lmtp_params p = { .hostname = "test", .message = on_message, .ctx = &g };
	struct lmtp_session *s = lmtp_session_new(&p);
	size_t len = strlen(in);
	size_t used = lmtp_session_feed(s, in, len);
	check_str("async", "rest", in + used, "NOOP\r\n");
	check_str("async", "state", lmtp_state_name(lmtp_session_state(s)), "wait");
	const char *replies[] = { "250 2.0.0 <a@x> Ok", "451 4.3.0 <b@x> try again" };
	if (lmtp_session_answer(s, replies, 2) != 0 || lmtp_session_answer(s, replies, 2) != -1) {
		printf("FAIL async: answer return values\n");
		failures++;
	}
	lmtp_session_feed(s, in + used, len - used);
	lmtp_session_timeout(s);
	size_t olen;
	const char *o = lmtp_session_output(s, &olen);
	check_str("async", "replies", o,
	    G LHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 <a@x> Ok\r\n451 4.3.0 <b@x> try again\r\n"
	    "250 2.0.0 Ok\r\n421 4.4.2 test Error: timeout exceeded\r\n");
	lmtp_session_free(s);

	/* Shutdown during DATA: the message is still answered, then 421. */
	g.async = true;
	s = lmtp_session_new(&p);
	lmtp_session_feed(s, HELLO ENV "x\r\n", strlen(HELLO ENV "x\r\n"));
	bool closed = lmtp_session_shutdown(s);
	lmtp_session_feed(s, ".\r\n", 3);
	lmtp_session_answer_all(s, "250 2.0.0 Ok");
	o = lmtp_session_output(s, &olen);
	check_str("shutdown in data", "replies", o, G LHLO_REPLY ENV_OK
	    "250 2.0.0 Ok\r\n421 4.3.2 Service shutting down, closing connection\r\n");
	check_str("shutdown in data", "state", lmtp_state_name(lmtp_session_state(s)), "closed");
	if (closed) {
		printf("FAIL shutdown in data: closed at once\n");
		failures++;
	}
	lmtp_session_free(s);
	strbuf_free(&g.data);
	strbuf_free(&g.rcpts);
	free(g.from);
}

static const struct qid_row {
	const char *msg;
	const char *want;	/* NULL: none */
} qid_rows[] = {
	{ "Received: from mx.example (mx.example [192.0.2.1])\r\n\tby bounce.example (Postfix) "
	  "with ESMTP id 4Hf1Xz2abcz9sWc\r\n\tfor <b@x>; Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n",
	  "4Hf1Xz2abcz9sWc" },
	{ "Return-Path: <>\nReceived: by h (Postfix, from userid 0)\n id 3F2A81C2; Mon\nReceived: "
	  "from a by b with SMTP id OTHER\n\n", "3F2A81C2" },
	{ "Subject: no received\r\n\r\nReceived: by x with SMTP id NOTHEADER\r\n", NULL },
	{ "Received: from a by b; Mon\r\nReceived: by c with SMTP id LATER\r\n\r\n", NULL },
	{ "Received: by x with ESMTP id\r\n\r\n", NULL },
	{ "Received: by x with ESMTP id 0123456789012345678901234567890123456789012345678901234567890"
	  "123456789\r\n\r\n", NULL },
	{ "", NULL },
};

static void
test_queue_id(void)
{
	for (size_t i = 0; i < sizeof qid_rows / sizeof qid_rows[0]; i++) {
		char buf[64];
		bool ok = lmtp_queue_id(qid_rows[i].msg, strlen(qid_rows[i].msg), buf, sizeof buf);
		char name[32];
		snprintf(name, sizeof name, "queue id row %zu", i);
		check_str(name, "id", ok ? buf : NULL, qid_rows[i].want);
	}
}

/* The message memory budget (budget.h) as a table: a session with a budget of limit bytes is
 * fed a transaction whose message has size bytes of body, then a second small message; the
 * replies, the messages received and the bytes still reserved afterwards (always 0) are checked,
 * whole and one byte at a time. */
static const struct budget_row {
	const char *name;
	size_t limit;
	size_t size;		/* body bytes of the first message (lines of 100); 0: DATA is refused,
				 * so the client sends nothing more (RFC 2920: it waits for 354) */
	const char *out;	/* replies after the greeting and LHLO */
	int messages;		/* messages handed to the owner */
} budget_rows[] = {
	{ "no budget left: DATA gets 452 4.3.1, the transaction stays", 0, 0,
	  "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n452 4.3.1 Error: insufficient system storage, try "
	  "again later\r\n250 2.0.0 Ok\r\n", 0 },
	{ "a message within the first reservation", LMTP_DATA_FIRST, 1000,
	  ENV_OK "250 2.0.0 Ok\r\n" ENV_OK "250 2.0.0 Ok\r\n", 2 },
	{ "a message over the budget: read to the end, 452 4.3.1 per recipient, the next one "
	  "passes", LMTP_DATA_FIRST, 100000,
	  ENV_OK "452 4.3.1 <b@x.example> Error: insufficient system storage, try again later\r\n"
	  ENV_OK "250 2.0.0 Ok\r\n", 1 },
	{ "a message the budget covers after growing", 300000, 200000,
	  ENV_OK "250 2.0.0 Ok\r\n" ENV_OK "250 2.0.0 Ok\r\n", 2 },
};

static bool
t_reserve(void *ctx, size_t n)
{
	struct got *g = ctx;
	return budget_reserve((struct budget *)g->from, n);
}

static void
t_release(void *ctx, size_t n)
{
	struct got *g = ctx;
	budget_release((struct budget *)g->from, n);
}

static void
t_budget_message(void *ctx, struct lmtp_session *s, const struct lmtp_envelope *env)
{
	struct got *g = ctx;
	g->messages++;
	lmtp_session_answer_all(s, "250 2.0.0 Ok");
}

static void
test_budget(void)
{
	for (size_t i = 0; i < sizeof budget_rows / sizeof budget_rows[0]; i++) {
		const struct budget_row *r = &budget_rows[i];
		struct strbuf in = STRBUF_INIT, want = STRBUF_INIT;
		strbuf_puts(&in, HELLO ENV);
		for (size_t k = 0; k < r->size; k += 100)
			strbuf_printf(&in, "%098zu\r\n", k);
		if (r->size > 0)
			strbuf_puts(&in, ".\r\n" ENV "small\r\n.\r\n");
		else
			strbuf_puts(&in, "RSET\r\n");
		strbuf_puts(&want, G LHLO_REPLY);
		strbuf_puts(&want, r->out);
		for (size_t step = 1; step <= in.len; step = step == 1 ? in.len : in.len + 1) {
			struct budget *b = budget_new(r->limit);
			/* The test's own context: g.from carries the budget. */
			struct got g = { STRBUF_INIT, STRBUF_INIT, (char *)b, 0, false, 0, 0, false };
			struct lmtp_params p = { .hostname = "test", .message = t_budget_message,
			    .reserve = t_reserve, .release = t_release, .ctx = &g };
			struct lmtp_session *s = lmtp_session_new(&p);
			for (size_t off = 0; off < in.len;) {
				size_t n = in.len - off < step ? in.len - off : step;
				size_t used = lmtp_session_feed(s, in.s + off, n);
				off += used;
				if (used < n)
					break;
			}
			size_t olen;
			const char *o = lmtp_session_output(s, &olen);
			char name[256];
			snprintf(name, sizeof name, "budget: %s (step %zu)", r->name, step);
			struct strbuf got = STRBUF_INIT;
			strbuf_append(&got, o, olen);
			check_str(name, "replies", got.s, want.s);
			strbuf_free(&got);
			if (g.messages != r->messages) {
				printf("FAIL %s: %d messages, want %d\n", name, g.messages, r->messages);
				failures++;
			}
			lmtp_session_free(s);
			struct budget_stats st;
			budget_stats(b, &st);
			if (st.used != 0 || st.peak > r->limit) {
				printf("FAIL %s: %zu bytes still reserved, peak %zu\n", name, st.used,
				    st.peak);
				failures++;
			}
			budget_free(b);
		}
		strbuf_free(&in);
		strbuf_free(&want);
	}
}

/* The progress counters the server's deadlines read: command lines answered, and bytes of the
 * message received so far (dot-unstuffed, a partial line included; 0 outside DATA). */
static const struct progress_row {
	const char *in;
	unsigned long long lines;
	size_t data;
} progress_rows[] = {
	{ "", 0, 0 },
	{ "NOO", 0, 0 },
	{ "NOOP\r\nNO", 1, 0 },
	{ "XYZ\r\nNOOP\r\n", 2, 0 },
	{ HELLO ENV, 4, 0 },
	{ HELLO ENV "abc", 4, 3 },
	{ HELLO ENV "abc\r\n..x\r\nde", 4, 11 },	/* dot-unstuffed */
	{ HELLO ENV "abc\r\n.\r\nNOOP\r\n", 5, 0 },
};

static void
test_progress(void)
{
	for (size_t i = 0; i < sizeof progress_rows / sizeof progress_rows[0]; i++) {
		const struct progress_row *r = &progress_rows[i];
		struct got g = { STRBUF_INIT, STRBUF_INIT, NULL, 0, false, 0, 0, false };
		struct lmtp_params p = { .hostname = "test", .message = on_message, .ctx = &g };
		struct lmtp_session *s = lmtp_session_new(&p);
		lmtp_session_feed(s, r->in, strlen(r->in));
		if (lmtp_session_lines(s) != r->lines || lmtp_session_data_received(s) != r->data) {
			printf("FAIL progress row %zu: lines %llu data %zu, want %llu %zu\n", i,
			    lmtp_session_lines(s), lmtp_session_data_received(s), r->lines, r->data);
			failures++;
		}
		lmtp_session_free(s);
		strbuf_free(&g.data);
		strbuf_free(&g.rcpts);
		free(g.from);
	}
}

int
main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(&rows[i], strlen(rows[i].in) + (strncmp(rows[i].name, "NUL", 3) == 0 ? 10 : 0));

	/* A command line over the limit gets 500 and the session carries on. */
	struct strbuf b = STRBUF_INIT;
	memset(long_cmd, 'A', sizeof long_cmd - 1);
	strbuf_printf(&b, "NOOP %s\r\nNOOP\r\n", long_cmd);
	struct row r = { "command line too long", b.s, G "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n",
	    NULL, NULL, NULL, 0, 0, LMTP_S_INIT, 0 };
	run_row(&r, b.len);

	/* LMTP_MAX_ERRORS failed commands close the session; the rest is not read. */
	strbuf_reset(&b);
	struct strbuf want = STRBUF_INIT;
	strbuf_puts(&want, G);
	for (int i = 0; i < LMTP_MAX_ERRORS; i++) {
		strbuf_puts(&b, "XYZ\r\n");
		strbuf_puts(&want, "500 5.5.2 Error: command not recognized\r\n");
	}
	strbuf_puts(&b, "NOOP\r\n");
	strbuf_puts(&want, "421 4.7.0 Too many errors, closing connection\r\n");
	snprintf(errors_in, sizeof errors_in, "%s", b.s);
	snprintf(errors_out, sizeof errors_out, "%s", want.s);
	struct row r2 = { "too many errors", errors_in, errors_out, NULL, NULL, NULL, 0, 0, LMTP_S_CLOSED, 0 };
	run_row(&r2, strlen(errors_in));

	/* A data line longer than LMTP_MAX_DATA_CHUNK starting with a dot: unstuffed once, kept whole,
	 * and a later ".." in the same line is not touched. */
	strbuf_reset(&b);
	memset(long_data, 'x', sizeof long_data - 1);
	long_data[0] = '.';
	long_data[LMTP_MAX_DATA_CHUNK] = '.';
	long_data[LMTP_MAX_DATA_CHUNK + 1] = '.';
	strbuf_printf(&b, HELLO ENV ".%s\r\n.\r\n", long_data);
	snprintf(long_data_in, sizeof long_data_in, "%s", b.s);
	strbuf_reset(&want);
	strbuf_printf(&want, "%s\r\n", long_data);
	struct row r3 = { "long data line", long_data_in, G LHLO_REPLY ENV_OK "250 2.0.0 Ok\r\n",
	    want.s, "b@x.example", "", 0, 0, LMTP_S_READY, 0 };
	run_row(&r3, strlen(long_data_in));

	test_chunk_boundary();
	test_async();
	test_queue_id();
	test_budget();
	test_progress();
	strbuf_free(&b);
	strbuf_free(&want);
	if (failures == 0)
		printf("lmtp: all rows pass\n");
	return failures == 0 ? 0 : 1;
}
