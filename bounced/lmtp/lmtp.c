/* The LMTP session state machine (RFC 2033; RFC 1869/5321 commands, RFC 2920 PIPELINING,
 * RFC 2034 ENHANCEDSTATUSCODES, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 1870 SIZE).
 * Pure: bytes in, reply bytes out. The only place that changes state is set_state(). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lmtp.h"
#include "strbuf.h"

struct lmtp_session {
	struct lmtp_params p;
	char *hostname;
	enum lmtp_state state;
	bool closing;			/* shutdown asked during a transaction */
	unsigned int errors;

	struct strbuf out;
	struct strbuf line;		/* the current command or data line */
	bool line_overflow;		/* command line over LMTP_MAX_COMMAND_LINE: being skipped */
	bool data_midline;		/* part of this data line was already passed on */

	/* transaction */
	char *helo;
	char *mail_from;
	bool body_8bitmime;
	bool smtputf8;
	char **rcpts;
	size_t nrcpts;
	struct strbuf data;
	size_t data_size;
	size_t reserved;		/* bytes of p.reserve() held for data */
	bool over_budget;		/* reserve() refused: data dropped, 452 at the end */
	unsigned long long lines;	/* command lines completed */
};

static const char *const state_names[] = {
	[LMTP_S_INIT] = "init", [LMTP_S_READY] = "ready", [LMTP_S_MAIL] = "mail",
	[LMTP_S_RCPT] = "rcpt", [LMTP_S_DATA] = "data", [LMTP_S_WAIT] = "wait",
	[LMTP_S_CLOSED] = "closed",
};

const char *
lmtp_state_name(enum lmtp_state st)
{
	if ((size_t)st >= sizeof state_names / sizeof state_names[0])
		return "?";
	return state_names[st];
}

static void
set_state(struct lmtp_session *s, enum lmtp_state st)
{
	s->state = st;
}

static void
reply(struct lmtp_session *s, const char *text)
{
	strbuf_puts(&s->out, text);
	strbuf_append(&s->out, "\r\n", 2);
}

static void
reset_transaction(struct lmtp_session *s)
{
	free(s->mail_from);
	s->mail_from = NULL;
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	s->body_8bitmime = false;
	s->smtputf8 = false;
	strbuf_free(&s->data);
	s->data_size = 0;
	s->over_budget = false;
	if (s->reserved > 0 && s->p.release != NULL)
		s->p.release(s->p.ctx, s->reserved);
	s->reserved = 0;
}

/* A failed command: counts towards LMTP_MAX_ERRORS, after which the session closes. */
static void
reply_error(struct lmtp_session *s, const char *text)
{
	reply(s, text);
	if (++s->errors >= LMTP_MAX_ERRORS) {
		reply(s, "421 4.7.0 Too many errors, closing connection");
		reset_transaction(s);
		set_state(s, LMTP_S_CLOSED);
	}
}

/* ---- argument parsing ------------------------------------------------------------------- */

static const char *
skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parses "<path>" at p (after "FROM:" or "TO:"). The local part may be quoted with backslash
 * escapes, so '>' inside quotes does not end the path. Sets *addr_r (caller frees) and *end_r. */
static bool
parse_path(const char *p, char **addr_r, const char **end_r)
{
	p = skip_spaces(p);
	if (*p != '<')
		return false;
	const char *start = ++p;
	bool quoted = false;
	for (; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '>')
			break;
		else if (!quoted && (*p == ' ' || *p == '<'))
			return false;
	}
	if (*p != '>' || (size_t)(p - start) > LIMIT_ADDRESS_BYTES)
		return false;
	*addr_r = xstrndup(start, (size_t)(p - start));
	*end_r = p + 1;
	return true;
}

/* Next "KEY[=VALUE]" parameter at *pp: copies KEY into key, points *val_r at the value (or NULL)
 * with its length. Returns 0 at the end, 1 for a parameter, -1 for bad syntax. */
static int
next_param(const char **pp, char *key, size_t keysize, const char **val_r, size_t *vlen_r)
{
	const char *p = *pp;
	if (*p != '\0' && *p != ' ')
		return -1;
	p = skip_spaces(p);
	if (*p == '\0')
		return 0;
	size_t k = 0;
	while (isalnum((unsigned char)*p) || *p == '-') {
		if (k + 1 >= keysize)
			return -1;
		key[k++] = *p++;
	}
	key[k] = '\0';
	if (k == 0)
		return -1;
	*val_r = NULL;
	*vlen_r = 0;
	if (*p == '=') {
		const char *v = ++p;
		while (*p > ' ' && *p < 127 && *p != '=')
			p++;
		if (p == v)
			return -1;
		*val_r = v;
		*vlen_r = (size_t)(p - v);
	}
	*pp = p;
	return 1;
}

static bool
value_is(const char *v, size_t vlen, const char *want)
{
	return v != NULL && strlen(want) == vlen && strncasecmp(v, want, vlen) == 0;
}

/* RFC 1870 size-value: 1 to 20 digits. The value is only checked for syntax: the message is
 * kept (truncated if need be) whatever its size, and SIZE is advertised without a maximum. */
static bool
valid_size(const char *v, size_t vlen)
{
	if (v == NULL || vlen == 0 || vlen > LMTP_MAX_SIZE_DIGITS)
		return false;
	for (size_t i = 0; i < vlen; i++)
		if (!isdigit((unsigned char)v[i]))
			return false;
	return true;
}

/* ---- commands --------------------------------------------------------------------------- */

/* A check returns the error reply when the command is not allowed now, NULL when it is. */
static const char *
check_any(struct lmtp_session *s)
{
	return NULL;
}

static const char *
check_mail(struct lmtp_session *s)
{
	if (s->state == LMTP_S_INIT)
		return "503 5.5.1 Error: send LHLO first";
	if (s->state != LMTP_S_READY)
		return "503 5.5.1 Error: nested MAIL command";
	return NULL;
}

static const char *
check_rcpt(struct lmtp_session *s)
{
	if (s->state != LMTP_S_MAIL && s->state != LMTP_S_RCPT)
		return "503 5.5.1 Error: need MAIL command";
	return NULL;
}

static const char *
check_data(struct lmtp_session *s)
{
	if (s->state == LMTP_S_MAIL)
		return "503 5.5.1 Error: need RCPT command";
	if (s->state != LMTP_S_RCPT)
		return "503 5.5.1 Error: need MAIL command";
	return NULL;
}

static void
cmd_lhlo(struct lmtp_session *s, const char *arg)
{
	arg = skip_spaces(arg);
	if (*arg == '\0') {
		reply_error(s, "501 5.5.4 Syntax: LHLO hostname");
		return;
	}
	reset_transaction(s);
	free(s->helo);
	s->helo = xstrdup(arg);
	struct strbuf b = STRBUF_INIT;
	/* SIZE without a number (RFC 1870 4): no fixed maximum. An over-long message is kept
	 * truncated and acknowledged, so the sender's MTA never bounces it back. */
	strbuf_printf(&b, "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
	    "250-SMTPUTF8\r\n250 SIZE", s->hostname);
	reply(s, b.s);
	strbuf_free(&b);
	set_state(s, LMTP_S_READY);
}

/* RFC 2033 4.1: an LMTP server must not accept HELO or EHLO. */
static void
cmd_helo(struct lmtp_session *s, const char *arg)
{
	reply_error(s, "500 5.5.1 Error: this is LMTP, send LHLO");
}

static void
cmd_mail(struct lmtp_session *s, const char *arg)
{
	if (strncasecmp(skip_spaces(arg), "FROM:", 5) != 0) {
		reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	char *addr;
	const char *p;
	if (!parse_path(skip_spaces(arg) + 5, &addr, &p)) {
		reply_error(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	bool body8 = false, utf8 = false;
	char key[LMTP_MAX_PARAM_KEY];
	const char *v;
	size_t vlen;
	int r;
	while ((r = next_param(&p, key, sizeof key, &v, &vlen)) == 1) {
		if (strcasecmp(key, "BODY") == 0 && value_is(v, vlen, "8BITMIME"))
			body8 = true;
		else if (strcasecmp(key, "BODY") == 0 && value_is(v, vlen, "7BIT"))
			body8 = false;
		else if (strcasecmp(key, "SMTPUTF8") == 0 && v == NULL)
			utf8 = true;
		else if (strcasecmp(key, "SIZE") == 0) {
			if (!valid_size(v, vlen)) {
				r = -1;
				break;
			}
		} else {
			free(addr);
			reply_error(s, "555 5.5.4 Unsupported MAIL parameter");
			return;
		}
	}
	if (r < 0) {
		free(addr);
		reply_error(s, "501 5.5.4 Bad MAIL parameter syntax");
		return;
	}
	s->mail_from = addr;
	s->body_8bitmime = body8;
	s->smtputf8 = utf8;
	reply(s, "250 2.1.0 Ok");
	set_state(s, LMTP_S_MAIL);
}

static void
cmd_rcpt(struct lmtp_session *s, const char *arg)
{
	if (strncasecmp(skip_spaces(arg), "TO:", 3) != 0) {
		reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	char *addr = NULL;
	const char *p;
	if (!parse_path(skip_spaces(arg) + 3, &addr, &p) || addr[0] == '\0') {
		free(addr);
		reply_error(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	char key[LMTP_MAX_PARAM_KEY];
	const char *v;
	size_t vlen;
	int r = next_param(&p, key, sizeof key, &v, &vlen);
	if (r != 0) {
		free(addr);
		reply_error(s, r < 0 ? "501 5.5.4 Bad RCPT parameter syntax"
		    : "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	if (s->nrcpts >= LMTP_MAX_RCPTS) {
		free(addr);
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	s->rcpts = xrealloc(s->rcpts, (s->nrcpts + 1) * sizeof *s->rcpts);
	s->rcpts[s->nrcpts++] = addr;
	reply(s, "250 2.1.5 Ok");
	set_state(s, LMTP_S_RCPT);
}

static void
cmd_data(struct lmtp_session *s, const char *arg)
{
	if (*skip_spaces(arg) != '\0') {
		reply_error(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	strbuf_reset(&s->data);
	s->data_size = 0;
	s->data_midline = false;
	s->over_budget = false;
	if (s->p.reserve != NULL && s->reserved < LMTP_DATA_FIRST) {
		if (!s->p.reserve(s->p.ctx, LMTP_DATA_FIRST - s->reserved)) {
			reply(s, "452 4.3.1 Error: insufficient system storage, try again later");
			return;
		}
		s->reserved = LMTP_DATA_FIRST;
		s->data.s = xrealloc(s->data.s, LMTP_DATA_FIRST);
		s->data.cap = LMTP_DATA_FIRST;
		s->data.s[0] = '\0';
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	set_state(s, LMTP_S_DATA);
}

static void
cmd_rset(struct lmtp_session *s, const char *arg)
{
	reset_transaction(s);
	reply(s, "250 2.0.0 Ok");
	if (s->state != LMTP_S_INIT)
		set_state(s, LMTP_S_READY);
}

static void
cmd_noop(struct lmtp_session *s, const char *arg)
{
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct lmtp_session *s, const char *arg)
{
	reply(s, "221 2.0.0 Bye");
	reset_transaction(s);
	set_state(s, LMTP_S_CLOSED);
}

static void
cmd_vrfy(struct lmtp_session *s, const char *arg)
{
	reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static void
cmd_help(struct lmtp_session *s, const char *arg)
{
	reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
}

static const struct lmtp_command {
	const char *name;
	const char *(*check)(struct lmtp_session *s);
	void (*run)(struct lmtp_session *s, const char *arg);
} commands[] = {
	{ "LHLO", check_any, cmd_lhlo },
	{ "MAIL", check_mail, cmd_mail },
	{ "RCPT", check_rcpt, cmd_rcpt },
	{ "DATA", check_data, cmd_data },
	{ "RSET", check_any, cmd_rset },
	{ "NOOP", check_any, cmd_noop },
	{ "QUIT", check_any, cmd_quit },
	{ "VRFY", check_any, cmd_vrfy },
	{ "HELP", check_any, cmd_help },
	{ "HELO", check_any, cmd_helo },
	{ "EHLO", check_any, cmd_helo },
};

static void
dispatch(struct lmtp_session *s, const char *line, size_t len)
{
	if (memchr(line, '\0', len) != NULL) {
		reply_error(s, "500 5.5.2 Error: NUL byte in command");
		return;
	}
	size_t n = 0;
	while (n < len && line[n] != ' ')
		n++;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct lmtp_command *c = &commands[i];
		if (strlen(c->name) != n || strncasecmp(line, c->name, n) != 0)
			continue;
		const char *err = c->check(s);
		if (err != NULL)
			reply_error(s, err);
		else
			c->run(s, line + n);
		return;
	}
	reply_error(s, "500 5.5.2 Error: command not recognized");
}

/* ---- input ------------------------------------------------------------------------------ */

static void
command_bytes(struct lmtp_session *s, const char *p, size_t n, bool eol)
{
	if (!s->line_overflow && s->line.len + n > LMTP_MAX_COMMAND_LINE)
		s->line_overflow = true;
	if (!s->line_overflow)
		strbuf_append(&s->line, p, n);
	if (!eol)
		return;
	s->lines++;
	if (s->line_overflow)
		reply_error(s, "500 5.5.2 Error: line too long");
	else {
		size_t len = s->line.len;
		while (len > 0 && (s->line.s[len - 1] == '\n' || s->line.s[len - 1] == '\r'))
			len--;
		s->line.s[len] = '\0';
		dispatch(s, s->line.s, len);
	}
	strbuf_reset(&s->line);
	s->line_overflow = false;
}

/* Makes room for need bytes (and the NUL) in the data buffer under the owner's budget: the
 * buffer doubles, or grows by a quarter when the budget cannot cover the double, or by just
 * what is needed (always growing geometrically while it can, so a buffer near the budget is not
 * copied line by line). On refusal the message is dropped and its reservation given back. */
static bool
data_room(struct lmtp_session *s, size_t need, size_t max)
{
	need++;
	if (need <= s->data.cap)
		return true;
	size_t tries[3] = { s->data.cap * 2, s->data.cap + s->data.cap / 4, need };
	size_t want = 0;
	for (size_t i = 0; i < 3 && want == 0; i++) {
		size_t w = tries[i] < need ? need : tries[i] > max + 1 ? max + 1 : tries[i];
		if (s->p.reserve(s->p.ctx, w - s->reserved))
			want = w;
	}
	if (want == 0) {
		strbuf_free(&s->data);
		s->p.release(s->p.ctx, s->reserved);
		s->reserved = 0;
		s->over_budget = true;
		return false;
	}
	s->reserved = want;
	s->data.s = xrealloc(s->data.s, want);
	s->data.cap = want;
	return true;
}

static void
data_append(struct lmtp_session *s, const char *p, size_t n)
{
	size_t max = s->p.max_message != 0 ? s->p.max_message : LMTP_MAX_MESSAGE;
	s->data_size += n;
	if (s->over_budget || s->data.len >= max)
		return;
	size_t k = n < max - s->data.len ? n : max - s->data.len;
	if (s->p.reserve != NULL && !data_room(s, s->data.len + k, max))
		return;
	strbuf_append(&s->data, p, k);
}

static void
message_done(struct lmtp_session *s)
{
	set_state(s, LMTP_S_WAIT);
	if (s->over_budget) {
		/* Nothing was kept: every recipient is told to try again (RFC 2033 4.2). */
		struct strbuf b = STRBUF_INIT;
		for (size_t i = 0; i < s->nrcpts; i++) {
			strbuf_reset(&b);
			strbuf_printf(&b, "452 4.3.1 <%s> Error: insufficient system storage, try "
			    "again later", s->rcpts[i]);
			reply(s, b.s);
		}
		strbuf_free(&b);
		reset_transaction(s);
		set_state(s, s->closing ? LMTP_S_CLOSED : LMTP_S_READY);
		if (s->closing)
			reply(s, "421 4.3.2 Service shutting down, closing connection");
		return;
	}
	struct lmtp_envelope env = {
		.helo = s->helo != NULL ? s->helo : "",
		.mail_from = s->mail_from != NULL ? s->mail_from : "",
		.rcpts = (const char *const *)s->rcpts,
		.nrcpts = s->nrcpts,
		.body_8bitmime = s->body_8bitmime,
		.smtputf8 = s->smtputf8,
		.data = s->data.s != NULL ? s->data.s : "",
		.len = s->data.len,
		.size = s->data_size,
		.truncated = s->data_size > s->data.len,
	};
	if (s->p.message != NULL)
		s->p.message(s->p.ctx, s, &env);
	else
		lmtp_session_answer_all(s, "451 4.3.0 Error: no storage configured");
}

/* One data line (or a piece of a long one). RFC 5321 4.5.2: a line that is exactly "." ends the
 * data; a leading dot of any other line is removed. */
static void
data_bytes(struct lmtp_session *s, const char *p, size_t n, bool eol)
{
	strbuf_append(&s->line, p, n);
	if (!eol && s->line.len < LMTP_MAX_DATA_CHUNK)
		return;
	const char *l = s->line.s;
	size_t len = s->line.len;
	if (!s->data_midline && eol && ((len == 3 && memcmp(l, ".\r\n", 3) == 0) ||
	    (len == 2 && memcmp(l, ".\n", 2) == 0))) {
		strbuf_reset(&s->line);
		message_done(s);
		return;
	}
	if (!s->data_midline && len > 0 && l[0] == '.') {
		l++;
		len--;
	}
	data_append(s, l, len);
	s->data_midline = !eol;
	strbuf_reset(&s->line);
}

size_t
lmtp_session_feed(struct lmtp_session *s, const char *p, size_t len)
{
	size_t off = 0;
	while (off < len && s->state != LMTP_S_WAIT && s->state != LMTP_S_CLOSED) {
		const char *nl = memchr(p + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (p + off)) + 1 : len - off;
		if (s->state == LMTP_S_DATA) {
			/* Hand over at most one chunk at a time, so a long line is never held whole. */
			size_t room = LMTP_MAX_DATA_CHUNK - s->line.len;
			if (n > room) {
				n = room;
				nl = NULL;
			}
			data_bytes(s, p + off, n, nl != NULL);
		} else
			command_bytes(s, p + off, n, nl != NULL);
		off += n;
	}
	return off;
}

int
lmtp_session_answer(struct lmtp_session *s, const char *const *replies, size_t n)
{
	if (s->state != LMTP_S_WAIT)
		return -1;
	for (size_t i = 0; i < s->nrcpts; i++)
		reply(s, i < n ? replies[i] : "451 4.3.0 Error: no answer for this recipient");
	reset_transaction(s);
	if (s->closing) {
		reply(s, "421 4.3.2 Service shutting down, closing connection");
		set_state(s, LMTP_S_CLOSED);
	} else
		set_state(s, LMTP_S_READY);
	return 0;
}

int
lmtp_session_answer_all(struct lmtp_session *s, const char *text)
{
	if (s->state != LMTP_S_WAIT)
		return -1;
	const char **r = xcalloc(s->nrcpts + 1, sizeof *r);
	for (size_t i = 0; i < s->nrcpts; i++)
		r[i] = text;
	int ret = lmtp_session_answer(s, r, s->nrcpts);
	free(r);
	return ret;
}

void
lmtp_session_timeout(struct lmtp_session *s)
{
	if (s->state == LMTP_S_CLOSED)
		return;
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "421 4.4.2 %s Error: timeout exceeded", s->hostname);
	reply(s, b.s);
	strbuf_free(&b);
	reset_transaction(s);
	set_state(s, LMTP_S_CLOSED);
}

bool
lmtp_session_shutdown(struct lmtp_session *s)
{
	if (s->state == LMTP_S_CLOSED)
		return true;
	if (s->state == LMTP_S_DATA || s->state == LMTP_S_WAIT) {
		s->closing = true;
		return false;
	}
	reply(s, "421 4.3.2 Service shutting down, closing connection");
	reset_transaction(s);
	set_state(s, LMTP_S_CLOSED);
	return true;
}

struct lmtp_session *
lmtp_session_new(const struct lmtp_params *p)
{
	struct lmtp_session *s = xcalloc(1, sizeof *s);
	s->p = *p;
	s->hostname = xstrdup(p->hostname != NULL ? p->hostname : "localhost");
	s->p.hostname = s->hostname;
	set_state(s, LMTP_S_INIT);
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "220 %s LMTP bounced ready", s->hostname);
	reply(s, b.s);
	strbuf_free(&b);
	return s;
}

void
lmtp_session_free(struct lmtp_session *s)
{
	if (s == NULL)
		return;
	reset_transaction(s);
	free(s->helo);
	free(s->hostname);
	strbuf_free(&s->out);
	strbuf_free(&s->line);
	free(s);
}

const char *
lmtp_session_output(const struct lmtp_session *s, size_t *len_r)
{
	*len_r = s->out.len;
	return s->out.s != NULL ? s->out.s : "";
}

void
lmtp_session_output_consume(struct lmtp_session *s, size_t n)
{
	if (n >= s->out.len) {
		strbuf_reset(&s->out);
		return;
	}
	memmove(s->out.s, s->out.s + n, s->out.len - n);
	s->out.len -= n;
	s->out.s[s->out.len] = '\0';
}

enum lmtp_state
lmtp_session_state(const struct lmtp_session *s)
{
	return s->state;
}

unsigned long long
lmtp_session_lines(const struct lmtp_session *s)
{
	return s->lines;
}

size_t
lmtp_session_data_received(const struct lmtp_session *s)
{
	return s->state == LMTP_S_DATA ? s->data_size + s->line.len : 0;
}

/* ---- queue ID --------------------------------------------------------------------------- */

/* Headers looked at for the first Received field: Postfix puts its own on top. */
#define LMTP_QID_SCAN_BYTES	(64u * 1024)

bool
lmtp_queue_id(const char *msg, size_t len, char *buf, size_t bufsize)
{
	if (len > LMTP_QID_SCAN_BYTES)
		len = LMTP_QID_SCAN_BYTES;
	size_t i = 0;
	/* Find the start of a "Received:" field at a line start within the header block. */
	while (i < len) {
		if (msg[i] == '\r' || msg[i] == '\n')
			return false;	/* blank line: end of the header block */
		if (len - i >= 9 && strncasecmp(msg + i, "Received:", 9) == 0)
			break;
		const char *nl = memchr(msg + i, '\n', len - i);
		if (nl == NULL)
			return false;
		i = (size_t)(nl - msg) + 1;
	}
	if (i >= len)
		return false;
	/* The field runs to a line end not followed by folding white space. */
	size_t end = i;
	while (end < len) {
		if (msg[end] == '\n' && (end + 1 >= len || (msg[end + 1] != ' ' && msg[end + 1] != '\t')))
			break;
		end++;
	}
	for (size_t j = i + 9; j + 4 <= end; j++) {
		if (!isspace((unsigned char)msg[j - 1]) || strncasecmp(msg + j, "id", 2) != 0 ||
		    !isspace((unsigned char)msg[j + 2]))
			continue;
		size_t k = j + 3;
		while (k < end && isspace((unsigned char)msg[k]))
			k++;
		size_t start = k;
		while (k < end && isalnum((unsigned char)msg[k]))
			k++;
		size_t n = k - start;
		if (n == 0 || n >= bufsize)
			return false;
		memcpy(buf, msg + start, n);
		buf[n] = '\0';
		return true;
	}
	return false;
}
