/* mime.c: the flat part list, transfer decodings, charsets, returned originals, fallbacks.
 * Every row runs three times, with LF, CRLF and CR-only line endings: the result must be the
 * same exact values each time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "mime.h"
#include "report.h"
#include "strbuf.h"

static int failures;

struct pexp {
	const char *ct;
	int depth, parent;
	bool ret;
	const char *cs, *rt, *fn;
	const char *headers;	/* NULL: not compared */
	const char *body;
};

struct row {
	const char *name;
	const char *in;			/* LF line endings; NULL: built by build() */
	void (*build)(struct strbuf *in);
	unsigned int flags;
	const char *returned;		/* NULL: none */
	size_t nparts;
	const struct pexp *parts;
};

#define P(...) ((const struct pexp[]){ __VA_ARGS__ })
#define B0 "_bounced_000000"
#define B1 "_bounced_000001"

static void
nest(struct strbuf *in, int n)
{
	strbuf_puts(in, "Subject: deep\n");
	for (int i = 0; i < n; i++)
		strbuf_printf(in, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	strbuf_puts(in, "Content-Type: text/plain\n\ndeep\n");
	for (int i = n - 1; i >= 0; i--)
		strbuf_printf(in, "--b%d--\n", i);
}
static void build_depth_ok(struct strbuf *in) { nest(in, LIMIT_MIME_DEPTH); }
static void build_depth_over(struct strbuf *in) { nest(in, LIMIT_MIME_DEPTH + 1); }
static void
build_parts_over(struct strbuf *in)
{
	strbuf_puts(in, "Content-Type: multipart/mixed; boundary=P\n\n");
	for (unsigned int i = 0; i < LIMIT_MIME_PARTS; i++)
		strbuf_puts(in, "--P\n\nx\n");
	strbuf_puts(in, "--P--\n");
}

static const char dsn[] =
	"From: MAILER-DAEMON@mx.example.net\n"
	"To: sender@example.com\n"
	"Subject: Undelivered Mail Returned to Sender\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/report; report-type=delivery-status;\n"
	"\tboundary=\"RB\"\n"
	"\n"
	"This is a MIME-encapsulated message.\n"
	"\n"
	"--RB\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"I'm sorry to have to inform you...\n"
	"<joe@example.com>: host mx.example.com said: 550 5.1.1 unknown\n"
	"\n"
	"--RB\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Reporting-MTA: dns; mx.example.net\n"
	"\n"
	"Final-Recipient: rfc822; joe@example.com\n"
	"Action: failed\n"
	"Status: 5.1.1\n"
	"\n"
	"--RB\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: sender@example.com\n"
	"To: joe@example.com\n"
	"Message-ID: <orig@example.com>\n"
	"Subject: Hello\n"
	"Content-Type: multipart/alternative; boundary=ALT\n"
	"\n"
	"--ALT\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"caf=C3=A9\n"
	"--ALT\n"
	"Content-Type: text/html; charset=utf-8\n"
	"\n"
	"<p>cafe</p>\n"
	"--ALT--\n"
	"\n"
	"--RB--\n";

#define DSN_TOP "From: MAILER-DAEMON@mx.example.net\nTo: sender@example.com\n" \
	"Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=" B0 "\n"
#define DSN_ORIG "From: sender@example.com\nTo: joe@example.com\nMessage-ID: <orig@example.com>\n" \
	"Subject: Hello\nContent-Type: multipart/alternative; boundary=" B1 "\n"

static const struct row rows[] = {
	{ "DSN with a returned multipart original", dsn, NULL, 0, DSN_ORIG, 7, P(
		{ "multipart/report", 0, -1, false, NULL, "delivery-status", NULL, DSN_TOP, "" },
		{ "text/plain", 1, 0, false, "us-ascii", NULL, NULL,
		  "Content-Type: text/plain; charset=us-ascii\n",
		  "I'm sorry to have to inform you...\n"
		  "<joe@example.com>: host mx.example.com said: 550 5.1.1 unknown\n" },
		{ "message/delivery-status", 1, 0, false, NULL, NULL, NULL,
		  "Content-Type: message/delivery-status\n",
		  "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; joe@example.com\n"
		  "Action: failed\nStatus: 5.1.1\n" },
		{ "message/rfc822", 1, 0, true, NULL, NULL, NULL, DSN_ORIG, "" },
		{ "multipart/alternative", 2, 3, true, NULL, NULL, NULL, DSN_ORIG, "" },
		{ "text/plain", 3, 4, true, "utf-8", NULL, NULL,
		  "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
		  "caf\xc3\xa9" },
		{ "text/html", 3, 4, true, "utf-8", NULL, NULL, "Content-Type: text/html; charset=utf-8\n",
		  "<p>cafe</p>" }) },
	{ "not MIME", "From: a@b.example\nSubject: hi\n\nline 1\nline 2\n", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL, "From: a@b.example\nSubject: hi\n",
		  "line 1\nline 2\n" }) },
	{ "empty message", "", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL, "", "" }) },
	{ "base64 utf-8",
	  "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
	  "w6l0w6kgY2FmZQ0KbGlnbmUgMg==\n", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, "utf-8", NULL, NULL, NULL, "\xc3\xa9t\xc3\xa9 cafe\nligne 2" }) },
	{ "quoted-printable iso-8859-1",
	  "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
	  "caf=E9 cr=E8me=\n br=FBl=E9e\n", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, "iso-8859-1", NULL, NULL, NULL,
		  "caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e\n" }) },
	{ "8bit windows-1252",
	  "Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: 8bit\n\n"
	  "\x80 100 \x93quoted\x94\n", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, "windows-1252", NULL, NULL, NULL,
		  "\xe2\x82\xac 100 \xe2\x80\x9cquoted\xe2\x80\x9d\n" }) },
	{ "iso-2022-jp",
	  "Content-Type: text/plain; charset=\"iso-2022-jp\"\n\n\x1b$B$3$s$K$A$O\x1b(B\n", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, "iso-2022-jp", NULL, NULL, NULL,
		  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\n" }) },
	{ "EUC-JP labelled ISO-2022-JP (Japanese carriers)",
	  "Content-Type: text/plain; charset=\"ISO-2022-JP\"\n\n\xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf\n", NULL, 0, NULL, 1, P(
		{ "text/plain", 0, -1, false, "iso-2022-jp", NULL, NULL, NULL,
		  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\n" }) },
	{ "broken quoted-printable keeps the '=' and is flagged",
	  "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\ncharset=\"us-ascii\" =4\n", NULL,
	  BOUNCE_F_BAD_ENCODING, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL, NULL, "charset=\"us-ascii\" =4\n" }) },
	{ "invalid utf-8 is kept and flagged",
	  "Content-Type: text/plain; charset=utf-8\n\nbad \xff\xfe here\n", NULL, BOUNCE_F_BAD_ENCODING, NULL, 1, P(
		{ "text/plain", 0, -1, false, "utf-8", NULL, NULL, NULL, "bad \xff\xfe here\n" }) },
	{ "unknown charset is kept and flagged",
	  "Content-Type: text/plain; charset=x-no-such-charset\n\nabc \xe9\n", NULL, BOUNCE_F_BAD_ENCODING, NULL, 1, P(
		{ "text/plain", 0, -1, false, "x-no-such-charset", NULL, NULL, NULL, "abc \xe9\n" }) },
	{ "broken base64",
	  "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8g*d29ybGQ=\n", NULL,
	  BOUNCE_F_BAD_ENCODING, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL, NULL, "hello world" }) },
	{ "text/rfc822-headers",
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n"
	  "Content-Type: text/plain\n\nfailed\n--b\nContent-Type: text/rfc822-headers\n\n"
	  "Message-ID: <x@example.com>\nSubject: =?utf-8?q?caf=C3=A9?=\n\n--b--\n", NULL, 0,
	  "Message-ID: <x@example.com>\nSubject: =?utf-8?q?caf=C3=A9?=\n", 3, P(
		{ "multipart/report", 0, -1, false, NULL, "delivery-status", NULL, NULL, "" },
		{ "text/plain", 1, 0, false, NULL, NULL, NULL, "Content-Type: text/plain\n", "failed" },
		{ "text/rfc822-headers", 1, 0, true, NULL, NULL, NULL, "Content-Type: text/rfc822-headers\n",
		  "Message-ID: <x@example.com>\nSubject: =?utf-8?q?caf=C3=A9?=\n" }) },
	{ "message/global and an attachment name",
	  "Content-Type: multipart/mixed; boundary=m\n\n--m\n"
	  "Content-Type: application/octet-stream; name=\"=?utf-8?q?a.bin?=\"\n"
	  "Content-Disposition: attachment; filename=\"=?utf-8?q?r=C3=A9sum=C3=A9.txt?=\"\n"
	  "Content-Transfer-Encoding: base64\n\nQUJD\n--m\nContent-Type: message/global\n\n"
	  "From: j@example.com\nSubject: hi\n\nbody\n--m--\n", NULL, 0,
	  "From: j@example.com\nSubject: hi\n", 3, P(
		{ "multipart/mixed", 0, -1, false, NULL, NULL, NULL, NULL, "" },
		{ "application/octet-stream", 1, 0, false, NULL, NULL, "r\xc3\xa9sum\xc3\xa9.txt", NULL, "ABC" },
		{ "message/global", 1, 0, true, NULL, NULL, NULL, "From: j@example.com\nSubject: hi\n", "body" }) },
	{ "an encoded name= in Content-Type",
	  "Content-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\nContent-Transfer-Encoding: base64\n\nQUJD\n",
	  NULL, 0, NULL, 1, P(
		{ "application/pdf", 0, -1, false, NULL, NULL, "r\xc3\xa9sum\xc3\xa9.pdf", NULL, "ABC" }) },
	{ "nested multipart reusing its parent's boundary, never closed",
	  "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: multipart/mixed; boundary=B\n\n"
	  "--B\n\none\n--B\n\ntwo\n", NULL, 0, NULL, 4, P(
		{ "multipart/mixed", 0, -1, false, NULL, NULL, NULL, NULL, "" },
		{ "multipart/mixed", 1, 0, false, NULL, NULL, NULL,
		  "Content-Type: multipart/mixed; boundary=" B1 "\n", "" },
		{ "text/plain", 2, 1, false, NULL, NULL, NULL, "", "one" },
		{ "text/plain", 2, 1, false, NULL, NULL, NULL, "", "two" }) },
	{ "a report without delimiters: its preamble is its part",
	  "Content-Type: multipart/report; report-type=delivery-status;\n    BOUNDARY=\"Boundary_(ID_1)\"\n\n"
	  "Recipient address: joe@example.org\nReason: unknown\n", NULL, 0, NULL, 2, P(
		{ "multipart/report", 0, -1, false, NULL, "delivery-status", NULL, NULL, "" },
		{ "text/plain", 1, 0, false, NULL, NULL, NULL, "Content-Type: text/plain\n",
		  "Recipient address: joe@example.org\nReason: unknown" }) },
	{ "boundary parameter without the folding space",
	  "Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: multipart/alternative;\n"
	  "boundary=\"i\"\n\n--i\nContent-Type: text/plain; charset=us-ascii\n\n550 unknown\n--i--\n--o--\n", NULL, 0, NULL, 3, P(
		{ "multipart/mixed", 0, -1, false, NULL, NULL, NULL, NULL, "" },
		{ "multipart/alternative", 1, 0, false, NULL, NULL, NULL,
		  "Content-Type: multipart/alternative;\n boundary=" B1 "\n", "" },
		{ "text/plain", 2, 1, false, "us-ascii", NULL, NULL, NULL, "550 unknown" }) },
	{ "boundary=\"\\\"\": one text part",
	  "Subject: x\nContent-Type: multipart/report; boundary=\"\\\"\"\n\n--\"\n"
	  "Content-Type: text/plain\n\nUser unknown\n", NULL, BOUNCE_F_BAD_BOUNDARY, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL,
		  "Subject: x\nContent-Type: multipart/report; boundary=\"\\\"\"\n",
		  "--\"\nContent-Type: text/plain\n\nUser unknown\n" }) },
	{ "fallback decodes the top-level transfer encoding and charset",
	  "Content-Type: text/plain; charset=iso-8859-1; boundary=\"\"\nContent-Transfer-Encoding: base64\n\n"
	  "Y2Fm6Q==\n", NULL, BOUNCE_F_BAD_BOUNDARY, NULL, 1, P(
		{ "text/plain", 0, -1, false, "iso-8859-1", NULL, NULL, NULL, "caf\xc3\xa9" }) },
	{ "LIMIT_MIME_DEPTH reached", NULL, build_depth_ok, 0, NULL, LIMIT_MIME_DEPTH + 1, NULL },
	{ "LIMIT_MIME_DEPTH over: one text part", NULL, build_depth_over, BOUNCE_F_TOO_DEEP, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL, NULL, NULL }) },
	{ "LIMIT_MIME_PARTS over: one text part", NULL, build_parts_over, BOUNCE_F_TOO_MANY_PARTS, NULL, 1, P(
		{ "text/plain", 0, -1, false, NULL, NULL, NULL, NULL, NULL }) },
};

static void
check_str(const char *row, const char *variant, const char *what, size_t i, const char *got, size_t got_len,
	  const char *want)
{
	if ((got == NULL) != (want == NULL) ||
	    (got != NULL && (got_len != strlen(want) || memcmp(got, want, got_len) != 0))) {
		printf("FAIL %s (%s) part %zu %s: got \"%s\", want \"%s\"\n", row, variant, i, what,
		       got ? got : "(null)", want ? want : "(null)");
		failures++;
	}
}

static void
run(const struct row *r, const char *variant, const char *in, size_t len)
{
	struct mime_message *m = mime_parse(in, len);
	if (m->flags != r->flags) {
		printf("FAIL %s (%s): flags %#x, want %#x\n", r->name, variant, m->flags, r->flags);
		failures++;
	}
	if (m->nparts != r->nparts) {
		printf("FAIL %s (%s): %zu parts, want %zu\n", r->name, variant, m->nparts, r->nparts);
		failures++;
	}
	check_str(r->name, variant, "returned_headers", 0, m->returned_headers, m->returned_headers_len,
		  r->returned);
	for (size_t i = 0; r->parts != NULL && i < m->nparts && i < r->nparts; i++) {
		const struct mime_part *p = &m->parts[i];
		const struct pexp *e = &r->parts[i];
		const char *n = r->name;
		check_str(n, variant, "content_type", i, p->content_type, strlen(p->content_type), e->ct);
		check_str(n, variant, "charset", i, p->charset, p->charset ? strlen(p->charset) : 0, e->cs);
		check_str(n, variant, "report_type", i, p->report_type,
			  p->report_type ? strlen(p->report_type) : 0, e->rt);
		check_str(n, variant, "filename", i, p->filename, p->filename ? strlen(p->filename) : 0, e->fn);
		if (e->headers)
			check_str(n, variant, "headers", i, p->headers, p->headers_len, e->headers);
		if (e->body)
			check_str(n, variant, "body", i, p->body, p->body_len, e->body);
		if (p->depth != e->depth || p->parent != e->parent || p->in_returned != e->ret ||
		    p->index != (int)i) {
			printf("FAIL %s (%s) part %zu: depth %d parent %d returned %d index %d, want %d %d %d %zu\n",
			       n, variant, i, p->depth, p->parent, p->in_returned, p->index, e->depth,
			       e->parent, e->ret, i);
			failures++;
		}
		if (p->body[p->body_len] != '\0' || p->headers[p->headers_len] != '\0') {
			printf("FAIL %s (%s) part %zu: not NUL-terminated\n", n, variant, i);
			failures++;
		}
	}
	if (r->nparts > 0 && mime_find(m, r->parts ? r->parts[0].ct : m->parts[0].content_type) != &m->parts[0]) {
		printf("FAIL %s (%s): mime_find\n", r->name, variant);
		failures++;
	}
	mime_message_free(m);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct strbuf in = STRBUF_INIT, crlf = STRBUF_INIT, cr = STRBUF_INIT;
		if (r->build)
			r->build(&in);
		else
			strbuf_puts(&in, r->in);
		strbuf_append(&crlf, "", 0);
		strbuf_append(&cr, "", 0);
		for (size_t k = 0; k < in.len; k++) {
			if (in.s[k] == '\n') {
				strbuf_append(&crlf, "\r\n", 2);
				strbuf_putc(&cr, '\r');
			} else {
				strbuf_putc(&crlf, in.s[k]);
				strbuf_putc(&cr, in.s[k]);
			}
		}
		run(r, "LF", in.s, in.len);
		run(r, "CRLF", crlf.s, crlf.len);
		run(r, "CR", cr.s, cr.len);
		strbuf_free(&in);
		strbuf_free(&crlf);
		strbuf_free(&cr);
	}
	if (mime_find(NULL, "text/plain") != NULL)
		failures++;
	mime_message_free(NULL);
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
