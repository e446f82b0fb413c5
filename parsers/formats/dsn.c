/* RFC 3464 delivery-status fields, and RFC 6533 message/global-delivery-status.
 *
 * Real reports bend the grammar: groups without the blank line between them, a blank line in
 * the middle of a group, every line indented, Diagnostic-Code continued without indentation.
 * So the parser reads a flat stream of fields and starts a new recipient when a recipient
 * address field arrives that the current group already has, or after the group's details. */
#include "dsn.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "header.h"
#include "limits.h"
#include "smtpcode.h"
#include "strbuf.h"

/* Fields an indented line may start with and still be a new field rather than a fold: some
 * MTAs indent the whole report. Only names that are never the start of folded text. */
static const char *const dsn_field_names[] = {
	"Reporting-MTA", "Received-From-MTA", "Arrival-Date", "Original-Envelope-Id", "DSN-Gateway",
	"Final-Recipient", "Original-Recipient", "X-Actual-Recipient", "Action", "Status",
	"Remote-MTA", "Diagnostic-Code", "Last-Attempt-Date", "Will-Retry-Until", "Final-Log-ID",
	"X-Postfix-Queue-ID", "X-Postfix-Sender",
};

/* One per-recipient group being collected. */
struct dsn_group {
	struct strbuf final, original, actual;
	struct strbuf action, status, remote, diag, last;
	bool has_final, has_original, has_actual, has_detail;
	bool has_detail_named;	/* a detail field came after a recipient address field */
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_token(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
}

/* Trims WSP (and stray CR) from both ends of [*p, *p + *len). */
static void
trim(const char **p, size_t *len)
{
	while (*len > 0 && (is_wsp(**p) || **p == '\r')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && (is_wsp((*p)[*len - 1]) || (*p)[*len - 1] == '\r'))
		(*len)--;
}

/* Length of "Name:" at the start of p (the name), or 0 when the line is not a field. */
static size_t
field_name_len(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len && is_token(p[i]))
		i++;
	if (i == 0 || i == len)
		return 0;
	size_t n = i;
	while (i < len && is_wsp(p[i]))	/* "Status :" is seen in the wild */
		i++;
	return i < len && p[i] == ':' ? n : 0;
}

static bool
known_field(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof dsn_field_names / sizeof dsn_field_names[0]; i++)
		if (strlen(dsn_field_names[i]) == n && strncasecmp(dsn_field_names[i], p, n) == 0)
			return true;
	return false;
}

static bool
name_is(const char *name, const char *want)
{
	return strcasecmp(name, want) == 0;
}

/* Skips a leading "type;" (rfc822;, dns;, smtp;, utf-8;, x-unix;): returns the rest and copies
 * the lowercased type into type (sizeof 16) when there is one. */
static const char *
skip_type(const char *v, char type[16])
{
	type[0] = '\0';
	const char *p = v;
	while (is_wsp(*p))
		p++;
	const char *t = p;
	while (is_token(*p))
		p++;
	size_t tl = (size_t)(p - t);
	while (is_wsp(*p))
		p++;
	if (tl == 0 || *p != ';')
		return v;
	if (tl < 16) {
		for (size_t i = 0; i < tl; i++)
			type[i] = (char)((t[i] >= 'A' && t[i] <= 'Z') ? t[i] + 32 : t[i]);
		type[tl] = '\0';
	}
	p++;
	while (is_wsp(*p))
		p++;
	return p;
}

/* Removes "(comments)" (nesting counted, quoted strings respected) and trims. */
static void
strip_comments(const char *v, struct strbuf *out)
{
	int depth = 0;
	bool quoted = false;
	for (const char *p = v; *p != '\0'; p++) {
		if (quoted) {
			if (*p == '\\' && p[1] != '\0')
				strbuf_putc(out, *p++);
			else if (*p == '"')
				quoted = false;
			strbuf_putc(out, *p);
		} else if (depth > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth = 1;
		} else {
			if (*p == '"')
				quoted = true;
			strbuf_putc(out, *p);
		}
	}
	const char *s = out->s != NULL ? out->s : "";
	size_t n = out->len;
	trim(&s, &n);
	char *c = xstrndup(s, n);
	strbuf_reset(out);
	strbuf_puts(out, c);
	free(c);
}

static void
put_utf8(struct strbuf *b, uint32_t cp)
{
	char u[4];
	strbuf_append(b, u, codec_utf8_put(cp, u));
}

static int
hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 6533 utf-8-addr: raw UTF-8 plus "\x{HEX}" escapes (1 to 6 hex digits, a scalar value).
 * Anything that is not a well-formed escape is copied as is. */
static void
decode_utf8_addr(const char *v, struct strbuf *out)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] == 'x' && p[2] == '{') {
			uint32_t cp = 0;
			size_t i = 3;
			while (i < 9 && hexval(p[i]) >= 0)
				cp = cp * 16 + (uint32_t)hexval(p[i++]);
			if (i > 3 && p[i] == '}' && cp > 0 && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)) {
				put_utf8(out, cp);
				p += i;
				continue;
			}
		}
		strbuf_putc(out, *p);
	}
}

/* Extracts the address of a recipient field ("rfc822; joe@example.com", "utf-8; ..."). */
static bool
recipient_address(const char *value, struct strbuf *out)
{
	char type[16];
	const char *rest = skip_type(value, type);
	struct strbuf dec = STRBUF_INIT;
	if (strcmp(type, "utf-8") == 0 || strstr(rest, "\\x{") != NULL)
		decode_utf8_addr(rest, &dec);
	else
		strbuf_puts(&dec, rest);
	bool ok = dec.len > 0 && address_extract(dec.s, dec.len, out);
	strbuf_free(&dec);
	return ok;
}

/* The enhanced code of a Status field ("5.1.1", "5.1.1 (unknown user)"), copied into status. */
static void
field_status(const char *v, size_t len, char status[SMTPCODE_STATUS_SIZE])
{
	struct smtpcode c;
	smtpcode_scan(v, len, &c);
	memcpy(status, c.status, SMTPCODE_STATUS_SIZE);
}

static bool
is_x00(const char *status)
{
	return status[0] != '\0' && strcmp(status + 1, ".0.0") == 0;
}

/* Copies at most LIMIT_DIAGNOSTIC_BYTES of s, cut on a UTF-8 character boundary. */
static char *
diag_copy(const char *s)
{
	size_t n = strlen(s);
	if (n > LIMIT_DIAGNOSTIC_BYTES) {
		n = LIMIT_DIAGNOSTIC_BYTES;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

static const char *
action_name(const char *v)
{
	static const struct {
		const char *prefix;
		const char *name;
	} actions[] = {
		{ "fail", "failed" }, { "delay", "delayed" }, { "deliver", "delivered" },
		{ "relay", "relayed" }, { "expand", "expanded" },
	};
	while (is_wsp(*v))
		v++;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strncasecmp(v, actions[i].prefix, strlen(actions[i].prefix)) == 0)
			return actions[i].name;
	return "";
}

static void
group_reset(struct dsn_group *g)
{
	struct strbuf *bufs[] = { &g->final, &g->original, &g->actual, &g->action, &g->status,
		&g->remote, &g->diag, &g->last };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		strbuf_reset(bufs[i]);
	g->has_final = g->has_original = g->has_actual = g->has_detail = false;
	g->has_detail_named = false;
}

static void
group_free(struct dsn_group *g)
{
	struct strbuf *bufs[] = { &g->final, &g->original, &g->actual, &g->action, &g->status,
		&g->remote, &g->diag, &g->last };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		strbuf_free(bufs[i]);
}

/* Turns a collected group into a recipient of r. Returns false when r is full. */
static bool
group_emit(struct dsn_group *g, struct bounce_report *r, size_t *added)
{
	struct strbuf addr = STRBUF_INIT, orig = STRBUF_INIT;
	bool have_orig = g->has_original && recipient_address(g->original.s, &orig);
	bool ok = true;

	if (g->has_final && recipient_address(g->final.s, &addr))
		;
	else {
		strbuf_reset(&addr);
		if (!have_orig && (!g->has_actual || !recipient_address(g->actual.s, &addr)))
			goto out;
	}

	/* Original-Recipient is the address the application sent to, before an alias or a
	 * forward expanded it: the one acted on. The final recipient is kept beside it. */
	bool expanded = have_orig && addr.len > 0 && strcasecmp(addr.s, orig.s) != 0;
	struct bounce_recipient *rc = bounce_report_add(r, have_orig ? orig.s : addr.s);
	if (rc == NULL) {
		ok = false;
		goto out;
	}
	(*added)++;
	if (expanded)
		bounce_set(&rc->original_recipient, addr.s);
	if (g->action.len > 0)
		bounce_set(&rc->action, action_name(g->action.s));

	char status[SMTPCODE_STATUS_SIZE] = "";
	if (g->status.len > 0)
		field_status(g->status.s, g->status.len, status);

	if (g->diag.len > 0) {
		char type[16];
		const char *text = skip_type(g->diag.s, type);
		while (is_wsp(*text))
			text++;
		if (*text != '\0') {
			free(rc->diagnostic);
			rc->diagnostic = diag_copy(text);
			struct smtpcode c;
			smtpcode_scan(rc->diagnostic, strlen(rc->diagnostic), &c);
			memcpy(rc->smtp_code, c.reply, sizeof rc->smtp_code);
			/* The remote server's own "550 5.7.1" (or "550-5.7.1") beats the reporting
			 * MTA's translation in Status (Sendmail writes 5.1.1 for any 550). Otherwise
			 * the Status field wins, unless it is missing or only says x.0.0 while the
			 * text names a more specific code of the same class. */
			const char *took = NULL;
			if (c.paired && !is_x00(c.status) && (status[0] == '\0' ||
			    status[0] == c.status[0] || (strcmp(rc->action, "failed") == 0 &&
			    c.status[0] == '5')))
				took = c.status;
			else if (c.status[0] != '\0' && !is_x00(c.status) &&
			    (status[0] == '\0' || (is_x00(status) && c.status[0] == status[0])))
				took = c.status;
			else if (status[0] == '\0' && c.status[0] != '\0')
				took = c.status;
			if (took != NULL && strcmp(took, status) != 0) {
				memcpy(rc->reported_status, status, sizeof rc->reported_status);
				memcpy(status, took, sizeof status);
				rc->status_from_diag = true;
			}
		}
	}
	memcpy(rc->status, status, sizeof rc->status);
	/* A damaged or missing Action with a permanent status is still a failure. */
	if (rc->action[0] == '\0' && status[0] == '5')
		bounce_set(&rc->action, "failed");

	if (g->remote.len > 0) {
		char type[16];
		struct strbuf v = STRBUF_INIT;
		strip_comments(skip_type(g->remote.s, type), &v);
		if (v.len > 0)
			bounce_set(&rc->remote_mta, v.s);
		strbuf_free(&v);
	}
	if (g->last.len > 0)
		bounce_set(&rc->last_attempt, g->last.s);
out:
	strbuf_free(&addr);
	strbuf_free(&orig);
	return ok;
}

/* Stores value in b unless the group already has that field (the first one counts). */
static void
keep_first(struct strbuf *b, const char *value)
{
	if (b->len == 0)
		strbuf_puts(b, value);
}

/* Handles one complete field. Returns false when r is full. */
static bool
dsn_field(const char *name, const char *value, struct dsn_group *g, struct bounce_report *r,
    size_t *added)
{
	bool is_final = name_is(name, "Final-Recipient");
	bool is_orig = name_is(name, "Original-Recipient");

	if (name_is(name, "Reporting-MTA")) {
		if (r->reporting_mta == NULL) {
			char type[16];
			struct strbuf v = STRBUF_INIT;
			strip_comments(skip_type(value, type), &v);
			if (v.len > 0)
				bounce_set(&r->reporting_mta, v.s);
			strbuf_free(&v);
		}
		return true;
	}
	if (is_final || is_orig) {
		/* Exim writes Action before Final-Recipient: details without an address yet stay. */
		/* Amazon SES writes Action, Final-Recipient, Original-Recipient: an address field
		 * after details that came before any address still belongs to the same group. */
		bool fresh = is_final ? (g->has_final || g->has_detail_named) :
		    (g->has_original || g->has_detail_named);
		if (fresh) {
			if (!group_emit(g, r, added))
				return false;
			group_reset(g);
		}
		if (is_final) {
			strbuf_puts(&g->final, value);
			g->has_final = true;
		} else {
			strbuf_puts(&g->original, value);
			g->has_original = true;
		}
		return true;
	}
	if (name_is(name, "X-Actual-Recipient")) {
		if (!g->has_actual) {
			strbuf_puts(&g->actual, value);
			g->has_actual = true;
		}
		return true;
	}

	struct strbuf *dst = NULL;
	if (name_is(name, "Action"))
		dst = &g->action;
	else if (name_is(name, "Status"))
		dst = &g->status;
	else if (name_is(name, "Remote-MTA"))
		dst = &g->remote;
	else if (name_is(name, "Diagnostic-Code"))
		dst = &g->diag;
	else if (name_is(name, "Last-Attempt-Date"))
		dst = &g->last;
	if (dst != NULL) {
		/* A field the group already has starts the next group (Exim: Action comes first). */
		if (dst->len > 0 && (g->has_final || g->has_original || g->has_actual)) {
			if (!group_emit(g, r, added))
				return false;
			group_reset(g);
		}
		keep_first(dst, value);
		g->has_detail = true;
		if (g->has_final || g->has_original || g->has_actual)
			g->has_detail_named = true;
	}
	return true;
}

/* A field value written in ISO-2022-JP (raw escape sequences, as Japanese MTAs put into a
 * Diagnostic-Code) becomes UTF-8 in place; anything else is left as it is. */
static void
value_decode_jis(struct strbuf *v)
{
	if (v->len == 0 || memchr(v->s, 0x1b, v->len) == NULL)
		return;
	struct strbuf u = STRBUF_INIT;
	if (codec_to_utf8("ISO-2022-JP", v->s, v->len, &u) && u.len > 0) {
		strbuf_reset(v);
		strbuf_append(v, u.s, u.len < LIMIT_FIELD_BYTES ? u.len : LIMIT_FIELD_BYTES);
	}
	strbuf_free(&u);
}

/* Appends a fold of a field value, capped at LIMIT_FIELD_BYTES. */
static void
value_append(struct strbuf *v, const char *p, size_t n)
{
	if (v->len >= LIMIT_FIELD_BYTES)
		return;
	if (n > LIMIT_FIELD_BYTES - v->len)
		n = LIMIT_FIELD_BYTES - v->len;
	strbuf_append(v, p, n);
}

size_t
dsn_parse(const char *body, size_t len, struct bounce_report *r)
{
	struct dsn_group g = { 0 };
	struct strbuf name = STRBUF_INIT, value = STRBUF_INIT;
	bool pending = false, full = false;
	size_t added = 0;
	const char *p = body, *end = body + len;

	while (p < end && !full) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p;
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl != NULL ? nl + 1 : end;
		if (n > 0 && line[n - 1] == '\r')
			n--;

		const char *t = line;
		size_t tn = n;
		trim(&t, &tn);
		size_t fl = tn > 0 ? field_name_len(t, tn) : 0;
		bool indented = n > 0 && is_wsp(line[0]);
		bool new_field = fl > 0 && (!indented || known_field(t, fl));

		if (tn > 0 && !new_field) {
			/* A fold; Diagnostic-Code is also continued without indentation. */
			if (pending && (indented || name_is(name.s, "Diagnostic-Code"))) {
				value_append(&value, " ", 1);
				value_append(&value, t, tn);
			}
			continue;
		}
		if (pending)
			value_decode_jis(&value);
		if (pending && !dsn_field(name.s, value.s != NULL ? value.s : "", &g, r, &added))
			full = true;
		pending = false;
		if (tn == 0)
			continue;	/* a blank line: groups are told apart by their fields */

		strbuf_reset(&name);
		strbuf_reset(&value);
		strbuf_append(&name, t, fl);
		const char *v = (const char *)memchr(t, ':', tn) + 1;
		size_t vn = tn - (size_t)(v - t);
		trim(&v, &vn);
		value_append(&value, v, vn);
		pending = true;
	}
	if (!full && pending)
		value_decode_jis(&value);
	if (!full && pending && !dsn_field(name.s, value.s != NULL ? value.s : "", &g, r, &added))
		full = true;
	if (!full && (g.has_final || g.has_original || g.has_actual))
		group_emit(&g, r, &added);

	group_free(&g);
	strbuf_free(&name);
	strbuf_free(&value);
	return added;
}

/* True when the line [p, p + n) starts with "name:" at column 0 (case-insensitive). */
static bool
line_is_field(const char *p, size_t n, const char *name)
{
	size_t nl = strlen(name);
	return n > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':';
}

size_t
dsn_parse_text(const char *text, size_t len, struct bounce_report *r)
{
	static const char *const starts[] = { "Reporting-MTA", "Final-Recipient", "Original-Recipient" };
	static const char *const details[] = { "Action", "Status" };
	const char *p = text, *end = text + len, *from = NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (from == NULL) {
			for (size_t i = 0; i < sizeof starts / sizeof starts[0] && from == NULL; i++)
				if (line_is_field(p, n, starts[i]))
					from = p;
		} else {
			for (size_t i = 0; i < sizeof details / sizeof details[0]; i++)
				if (line_is_field(p, n, details[i]))
					return dsn_parse(from, (size_t)(end - from), r);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
