/* guard.c: normalization, every named limit, boundaries libetpan cannot take, canonical
 * structure. Rows give the input and the exact output, flags and verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "mime.h"
#include "report.h"
#include "strbuf.h"

static int failures;

struct row {
	const char *name;
	const char *in;		/* NULL: built by build() */
	size_t in_len;		/* 0: strlen(in) */
	const char *out;	/* NULL: not compared */
	unsigned int flags;
	bool safe;
	void (*build)(struct strbuf *in);
	bool (*check)(const char *out, size_t len);	/* extra check on the output */
};

#define B0 "_bounced_000000"
#define B1 "_bounced_000001"

/* n nested multiparts, each holding the next; the innermost holds one text part at depth n. */
static void
nest(struct strbuf *in, int n)
{
	for (int i = 0; i < n; i++)
		strbuf_printf(in, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	strbuf_puts(in, "Content-Type: text/plain\n\ndeep\n");
	for (int i = n - 1; i >= 0; i--)
		strbuf_printf(in, "--b%d--\n", i);
}
static void build_depth_ok(struct strbuf *in) { nest(in, LIMIT_MIME_DEPTH); }
static void build_depth_over(struct strbuf *in) { nest(in, LIMIT_MIME_DEPTH + 1); }

/* One multipart with n text parts: n + 1 parts in all. */
static void
parts(struct strbuf *in, int n)
{
	strbuf_puts(in, "Content-Type: multipart/mixed; boundary=P\n\n");
	for (int i = 0; i < n; i++)
		strbuf_printf(in, "--P\n\npart %d\n", i);
	strbuf_puts(in, "--P--\n");
}
static void build_parts_ok(struct strbuf *in) { parts(in, LIMIT_MIME_PARTS - 1); }
static void build_parts_over(struct strbuf *in) { parts(in, LIMIT_MIME_PARTS); }

static void
build_long_line(struct strbuf *in)
{
	strbuf_puts(in, "Subject: x\n\n");
	for (size_t i = 0; i < LIMIT_LINE_BYTES + 10; i++)
		strbuf_putc(in, 'a');
	strbuf_puts(in, "\nnext\n");
}
static bool
check_long_line(const char *out, size_t len)
{
	const char *l = out + strlen("Subject: x\r\n\r\n");
	const char *e = strstr(l, "\r\n");
	return e != NULL && (size_t)(e - l) == LIMIT_LINE_BYTES && strcmp(e, "\r\nnext\r\n") == 0;
}

static void
build_header_cut(struct strbuf *in)
{
	for (size_t i = 0; i < LIMIT_HEADER_BYTES / 64 + 10; i++)
		strbuf_printf(in, "X-Filler-%06zu: %050zu\n", i, i);
	strbuf_puts(in, "\nthe body\n");
}
static bool
check_header_cut(const char *out, size_t len)
{
	const char *blank = strstr(out, "\r\n\r\n");
	return blank != NULL && (size_t)(blank - out) + 2 <= LIMIT_HEADER_BYTES &&
	       strcmp(blank, "\r\n\r\nthe body\r\n") == 0;
}

static void
build_truncated(struct strbuf *in)
{
	strbuf_puts(in, "Subject: big\n\n");
	while (in->len <= LIMIT_PARSE_BYTES)
		strbuf_puts(in, "0123456789012345678901234567890123456789012345678901234567890123456789\n");
}
static bool
check_truncated(const char *out, size_t len)
{
	/* Every input byte is one output byte, plus one CR per line. */
	return len > LIMIT_PARSE_BYTES && len < LIMIT_PARSE_BYTES + LIMIT_PARSE_BYTES / 70 + 4;
}

static void
build_long_boundary(struct strbuf *in)
{
	strbuf_puts(in, "Content-Type: multipart/mixed; boundary=");
	for (size_t i = 0; i <= LIMIT_BOUNDARY_BYTES; i++)
		strbuf_putc(in, 'b');
	strbuf_puts(in, "\n\nx\n");
}
static void
build_max_boundary(struct strbuf *in)
{
	char b[LIMIT_BOUNDARY_BYTES + 1];
	memset(b, 'b', LIMIT_BOUNDARY_BYTES);
	b[LIMIT_BOUNDARY_BYTES] = '\0';
	strbuf_printf(in, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n\nx\n--%s--\n", b, b, b);
}

static const struct row rows[] = {
	{ "LF", "A: b\nC: d\n\nbody\n", 0, "A: b\r\nC: d\r\n\r\nbody\r\n", 0, true, NULL, NULL },
	{ "CRLF", "A: b\r\nC: d\r\n\r\nbody\r\n", 0, "A: b\r\nC: d\r\n\r\nbody\r\n", 0, true, NULL, NULL },
	{ "CR", "A: b\rC: d\r\rbody\r", 0, "A: b\r\nC: d\r\n\r\nbody\r\n", 0, true, NULL, NULL },
	{ "mixed", "A: b\r\nC: d\r\n\nbody\rmore", 0, "A: b\r\nC: d\r\n\r\nbody\r\nmore\r\n", 0, true, NULL, NULL },
	{ "empty", "", 0, "", 0, true, NULL, NULL },
	{ "headers only", "From: a@b.example", 0, "From: a@b.example\r\n\r\n", 0, true, NULL, NULL },
	/* A NUL inside a line is MIME_NUL_MARK (no white space: "joe<NUL>evil@example.com" must stay
	 * one word); at the start of a line a space, which folds as the guard measured. */
	{ "NUL", "A: b\0c\n\nx\0\0y\n", 13, "A: b\x1a" "c\r\n\r\nx\x1a\x1ay\r\n", BOUNCE_F_NUL_BYTES, true, NULL, NULL },
	{ "NUL inside an address", "A: b\n\n<joe\0evil@example.com>\n", 29,
	  "A: b\r\n\r\n<joe\x1a" "evil@example.com>\r\n", BOUNCE_F_NUL_BYTES, true, NULL, NULL },
	{ "NUL starts a body line", "A: b\n\n\0joe@example.com\n", 23, "A: b\r\n\r\n joe@example.com\r\n",
	  BOUNCE_F_NUL_BYTES, true, NULL, NULL },
	{ "NUL starts a line", "A: b\n\0c\n\nx\n", 11, "A: b\r\n c\r\n\r\nx\r\n", BOUNCE_F_NUL_BYTES, true, NULL, NULL },
	{ "LIMIT_LINE_BYTES", NULL, 0, NULL, BOUNCE_F_LONG_LINE, true, build_long_line, check_long_line },
	{ "LIMIT_HEADER_BYTES", NULL, 0, NULL, BOUNCE_F_HEADER_CUT, true, build_header_cut, check_header_cut },
	{ "LIMIT_PARSE_BYTES", NULL, 0, NULL, BOUNCE_F_TRUNCATED, true, build_truncated, check_truncated },
	{ "LIMIT_MIME_DEPTH reached", NULL, 0, NULL, 0, true, build_depth_ok, NULL },
	{ "LIMIT_MIME_DEPTH over", NULL, 0, NULL, BOUNCE_F_TOO_DEEP, false, build_depth_over, NULL },
	{ "LIMIT_MIME_PARTS reached", NULL, 0, NULL, 0, true, build_parts_ok, NULL },
	{ "LIMIT_MIME_PARTS over", NULL, 0, NULL, BOUNCE_F_TOO_MANY_PARTS, false, build_parts_over, NULL },
	{ "LIMIT_BOUNDARY_BYTES reached", NULL, 0, NULL, 0, true, build_max_boundary, NULL },
	{ "LIMIT_BOUNDARY_BYTES over", NULL, 0, NULL, BOUNCE_F_BAD_BOUNDARY, false, build_long_boundary, NULL },
	{ "boundary=\"\\\"\" (libetpan 1.9.4 heap overflow)",
	  "Content-Type: multipart/report; boundary=\"\\\"\"\n\n--\"\n\nx\n", 0, NULL,
	  BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "folded boundary=\"\\\"\"",
	  "Content-Type: multipart/report;\n\treport-type=delivery-status;\n\tboundary=\"\\\"\"\n\nx\n", 0,
	  NULL, BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "quote in a token boundary", "Content-Type: multipart/mixed; boundary=a\"b\n\nx\n", 0, NULL,
	  BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "backslash boundary", "Content-Type: multipart/mixed; boundary=\"a\\\\b\"\n\nx\n", 0, NULL,
	  BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "empty boundary", "Content-Type: multipart/mixed; boundary=\"\"\n\nx\n", 0, NULL,
	  BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "bad boundary in a part",
	  "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative;\n"
	  " boundary=\"\\\"\"\n\n--\"\n\nx\n--o--\n", 0, NULL, BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "bad boundary in a body is text",
	  "Content-Type: text/plain\n\nContent-Type: multipart/mixed; boundary=\"\\\"\"\n", 0,
	  "Content-Type: text/plain\r\n\r\nContent-Type: multipart/mixed; boundary=\"\\\"\"\r\n", 0, true, NULL, NULL },
	{ "two structural Content-Types",
	  "Content-Type: text/plain\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\ny\n--x--\n", 0,
	  NULL, BOUNCE_F_MIME_ERROR, false, NULL, NULL },
	{ "canonical boundaries",
	  "Content-Type: multipart/mixed;\n boundary=\"outer b\"\n\npreamble\n--outer b  \n"
	  "Content-Type: text/plain\n\none\n--outer b\n\ntwo\n--outer b--\nepilogue\n", 0,
	  "Content-Type: multipart/mixed;\r\n boundary=" B0 "\r\n\r\npreamble\r\n--" B0 "\r\n"
	  "Content-Type: text/plain\r\n\r\none\r\n--" B0 "\r\n\r\ntwo\r\n--" B0 "--\r\nepilogue\r\n", 0, true, NULL, NULL },
	{ "prefix of a boundary is not a delimiter",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n--b--x\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n\r\n--bx\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "reused parent boundary",
	  "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: multipart/mixed; boundary=B\n\n"
	  "--B\nContent-Type: text/plain\n\ninner\n--B--\n--B\nContent-Type: text/plain\n\nouter2\n--B--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n"
	  "Content-Type: multipart/mixed; boundary=" B1 "\r\n\r\n--" B1 "\r\nContent-Type: text/plain\r\n\r\n"
	  "inner\r\n--" B1 "--\r\n--" B0 "\r\nContent-Type: text/plain\r\n\r\nouter2\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "reused parent boundary, never closed",
	  "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: multipart/mixed; boundary=B\n\n"
	  "--B\n\none\n--B\n\ntwo\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n"
	  "Content-Type: multipart/mixed; boundary=" B1 "\r\n\r\n--" B1 "\r\n\r\none\r\n--" B1 "\r\n\r\ntwo\r\n"
	  "--" B1 "--\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "outer delimiter closes the inner multipart; header ended by a delimiter",
	  "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n"
	  "--i\nContent-Type: text/plain\n--o\n\nlast\n--o--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n"
	  "Content-Type: multipart/alternative; boundary=" B1 "\r\n\r\n--" B1 "\r\n"
	  "Content-Type: text/plain\r\n\r\n--" B1 "--\r\n--" B0 "\r\n\r\nlast\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "a multipart without parts: its preamble is its part",
	  "Content-Type: multipart/mixed; boundary=e\n\nno parts\nat all\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\nContent-Type: text/plain\r\n\r\n"
	  "no parts\r\nat all\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "an empty multipart inside another",
	  "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n"
	  "pre\n--o--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n"
	  "Content-Type: multipart/alternative; boundary=" B1 "\r\n\r\n--" B1 "\r\nContent-Type: text/plain\r\n\r\n"
	  "pre\r\n--" B1 "--\r\n"
	  "--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "boundary parameter on a line of its own (broken folding)",
	  "Content-Type: multipart/alternative;\nboundary=\"----=_Part_1\"\n\n------=_Part_1\n\nx\n------=_Part_1--\n", 0,
	  "Content-Type: multipart/alternative;\r\n boundary=" B0 "\r\n\r\n--" B0 "\r\n\r\nx\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "a delimiter with '=' right after a Content-Type is not a parameter",
	  "Content-Type: multipart/mixed; boundary=\"=_a\"\n\n--=_a\nContent-Type: text/plain\n--=_a\n\ny\n--=_a--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\nContent-Type: text/plain\r\n\r\n--" B0 "\r\n\r\ny\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "our boundary in a body is defused",
	  "Content-Type: multipart/mixed; boundary=x\n\n--x\n\n--" B0 "\n--x--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n\r\n --" B0 "\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "blank lines after a delimiter do not hide a Content-Type (libetpan skips them)",
	  "Content-Type: multipart/mixed; boundary=x\n\n--x\n\n \n\t\nContent-Type: multipart/mixed; boundary=\"\\\"\"\n\n"
	  "--\"\n\ny\n--x--\n", 0, NULL, BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "a part after blank lines is tracked",
	  "Content-Type: multipart/mixed; boundary=x\n\n--x\n\nContent-Type: multipart/mixed; boundary=z\n\n"
	  "--z\n\nin\n--z--\n--x--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\n\r\n"
	  "Content-Type: multipart/mixed; boundary=" B1 "\r\n\r\n--" B1 "\r\n\r\nin\r\n--" B1 "--\r\n--" B0 "--\r\n",
	  0, true, NULL, NULL },
	{ "encoded words in Content-Type are defused (libetpan decodes the whole field first)",
	  "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc8=?utf-8?q?22\n\n"
	  "From: a@example.org\n--x\nContent-Type: application/pdf; name=\"=?utf-8?q?x=22=3B_b=3Dc?=\"\n\ny\n--x--\n", 0,
	  "Content-Type: multipart/mixed; boundary=" B0 "\r\n\r\n--" B0 "\r\nContent-Type: message/rfc8=_utf-8?q?22\r\n\r\n"
	  "From: a@example.org\r\n--" B0 "\r\nContent-Type: application/pdf; name=\"=_utf-8?q?x=22=3B_b=3Dc?=\"\r\n\r\ny\r\n"
	  "--" B0 "--\r\n", 0, true, NULL, NULL },
	{ "a boundary smuggled in an encoded word",
	  "Content-Type: multipart/mixed; name=\"=?utf-8?q?x=22=3B_boundary=3D=22=5C=22=22?=\"\n\n--\"\n\nx\n", 0, NULL,
	  BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "message/rfc822 headers are a header block",
	  "Content-Type: multipart/report; boundary=r\n\n--r\nContent-Type: message/rfc822\n\n"
	  "From: o@example.com\nContent-Type: multipart/alternative; boundary=\"\\\"\"\n\nx\n--r--\n", 0, NULL,
	  BOUNCE_F_BAD_BOUNDARY, false, NULL, NULL },
	{ "base64 message/rfc822 is opaque",
	  "Content-Type: multipart/report; boundary=r\n\n--r\nContent-Type: message/rfc822\n"
	  "Content-Transfer-Encoding: base64\n\nQ29udGVudC1UeXBlOg==\n--r--\n", 0,
	  "Content-Type: multipart/report; boundary=" B0 "\r\n\r\n--" B0 "\r\nContent-Type: message/rfc822\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\nQ29udGVudC1UeXBlOg==\r\n--" B0 "--\r\n", 0, true, NULL, NULL },
};

static void
esc(const char *s, size_t n)
{
	for (size_t i = 0; i < n && i < 400; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 32)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

int
main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct strbuf in = STRBUF_INIT;
		if (r->build)
			r->build(&in);
		else
			strbuf_append(&in, r->in, r->in_len ? r->in_len : strlen(r->in));
		size_t len;
		unsigned int flags;
		bool safe;
		char *out = mime_guard(in.s, in.len, &len, &flags, &safe);
		bool ok = flags == r->flags && safe == r->safe && strlen(out) <= len && out[len] == '\0';
		if (r->out != NULL && (len != strlen(r->out) || memcmp(out, r->out, len) != 0))
			ok = false;
		if (r->check != NULL && !r->check(out, len))
			ok = false;
		if (!ok) {
			printf("FAIL %s: flags %#x (want %#x), safe %d (want %d)\n  got  \"", r->name, flags,
			       r->flags, safe, r->safe);
			esc(out, len);
			printf("\"\n");
			if (r->out) {
				printf("  want \"");
				esc(r->out, strlen(r->out));
				printf("\"\n");
			}
			failures++;
		}
		free(out);
		strbuf_free(&in);
	}
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
