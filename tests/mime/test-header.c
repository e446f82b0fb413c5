/* header.c: field lookup and unfolding, RFC 2047 decoding, address extraction. */
#include <stdio.h>
#include <string.h>

#include "header.h"
#include "limits.h"
#include "strbuf.h"

static int failures;

static void
check_str(const char *what, const char *row, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0)) {
		printf("FAIL %s [%s]: got \"%s\", want \"%s\"\n", what, row, got ? got : "(null)",
		       want ? want : "(null)");
		failures++;
	}
}

static const struct {
	const char *block, *name, *want;	/* want NULL: absent */
} get_rows[] = {
	{ "Subject: hello\nFrom: a@b.example\n", "subject", "hello" },
	{ "Subject: hello\nFrom: a@b.example\n", "From", "a@b.example" },
	{ "Subject: hello\n", "To", NULL },
	{ "Subject:   spaced out   \n", "Subject", "spaced out" },
	{ "Subject: one\n two\n\tthree\n", "Subject", "one two three" },
	{ "Subject: one   \n     two\n", "Subject", "one two" },
	{ "Subject: a\r\n b\r\nX: y\r\n", "Subject", "a b" },
	{ "Subject : old style\n", "Subject", "old style" },
	{ "X-A: 1\nX-A: 2\n", "x-a", "1" },
	{ "X-A: 1\n\nX-B: body\n", "X-B", NULL },
	{ "garbage line\nX-B: 2\n", "X-B", "2" },
	{ "Subject:\n", "Subject", "" },
	{ "Subject: =?utf-8?q?caf=C3=A9?=\n", "Subject", "=?utf-8?q?caf=C3=A9?=" },
	{ "Subjectx: no\nSubject: yes", "Subject", "yes" },
	{ "Subject: a\n \n b\n", "Subject", "a b" },
};

static const struct {
	const char *in, *want;
} ew_rows[] = {
	{ "plain text", "plain text" },
	{ "=?utf-8?B?w6k=?=", "\xc3\xa9" },
	{ "=?UTF-8?b?w6k=?=", "\xc3\xa9" },
	{ "=?iso-8859-1?Q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?windows-1252?Q?=80_5?=", "\xe2\x82\xac 5" },
	{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },
	{ "=?utf-8?q?a?=\n =?utf-8?q?b?=", "ab" },
	{ "x =?utf-8?q?a_b?= y", "x a b y" },
	{ "=?utf-8?B?ww==?= =?utf-8?B?qQ==?=", "\xc3\xa9" },
	{ "=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "=?utf-8*en?Q?hi?=", "hi" },
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?q?no end", "=?utf-8?q?no end" },
	{ "=?=?=?=?", "=?=?=?=?" },
	{ "a =?utf-8?q?x?= b =?iso-8859-1?q?=E9?=", "a x b \xc3\xa9" },
	{ "=?utf-8?q?x?==?utf-8?q?y?=", "xy" },
};

static const struct {
	const char *in, *want;	/* want NULL: rejected */
} addr_rows[] = {
	{ "joe@example.com", "joe@example.com" },
	{ "Joe@Example.COM", "Joe@example.com" },
	/* Internationalised domains are lowered in UTF-8; the local part stays as found. */
	{ "utf-8; J\xc3\xb6rg@B\xc3\x9c" "CHER.Example", "J\xc3\xb6rg@b\xc3\xbc" "cher.example" },
	{ "a@\xc3\x84\xce\xa3\xd0\x96.ORG", "a@\xc3\xa4\xcf\x83\xd0\xb6.org" },
	{ "a@\xe2\x84\xaa.example", "a@k.example" },		/* KELVIN SIGN: shorter */
	{ "gone@\xc4\xb0stanbul.example", "gone@istanbul.example" },	/* U+0130: shorter */
	{ "a@\xc8\xba.example", "a@\xc8\xba.example" },	/* U+023A: longer lowercase, kept */
	{ "rfc822; <Joe@Example.COM>", "Joe@example.com" },
	{ "rfc822;joe@example.com", "joe@example.com" },
	{ "RFC822; joe@EXAMPLE.com", "joe@example.com" },
	{ "utf-8; j\xc3\xb6rg@b\xc3\xbc" "cher.example", "j\xc3\xb6rg@b\xc3\xbc" "cher.example" },
	{ "Joe <joe@example.com>", "joe@example.com" },
	{ "\"Doe, Joe\" <joe@example.com>", "joe@example.com" },
	{ "joe@example.com (Joe Doe)", "joe@example.com" },
	{ "(comment) joe@example.com", "joe@example.com" },
	{ "\"a b\"@example.com", "\"a b\"@example.com" },
	{ "<\"a b\"@Example.com>", "\"a b\"@example.com" },
	{ "'joe@example.com'", "joe@example.com" },
	{ "\"joe@example.com\"", "joe@example.com" },
	{ "<@relay.example:joe@example.com>", "joe@example.com" },
	{ "550 5.1.1 <joe@example.com>: Recipient address rejected", "joe@example.com" },
	{ "joe@example.com is unknown", "joe@example.com" },
	{ "joe@[192.0.2.1]", "joe@[192.0.2.1]" },
	{ "postmaster@localhost", "postmaster@localhost" },
	{ "mailto:joe@example.com", "joe@example.com" },
	{ "<<joe@example.com>>", "joe@example.com" },
	{ "RCPT TO:<joe@example.com>", "joe@example.com" },
	{ "<joe@example.com> (in reply to RCPT TO command)", "joe@example.com" },
	{ "joe@example.com.", "joe@example.com" },
	{ "joe.doe+tag@sub.example.co.uk", "joe.doe+tag@sub.example.co.uk" },
	{ "\"joe\\\"q\"@example.com", "\"joe\\\"q\"@example.com" },
	{ "x400; /G=joe/S=doe/", NULL },
	{ "Joe Doe", NULL },
	{ "", NULL },
	{ "not an address", NULL },
	{ "@example.com", NULL },
	{ "joe@", NULL },
	{ "joe@example", NULL },
	{ "joe@@example.com", NULL },
	{ "jo e@example.com", "e@example.com" },	/* the first word that is an address */
	{ "<>", NULL },
	{ "rfc822;", NULL },
	{ "joe@exa..mple.com", NULL },
	{ "joe@\xff\xfe.example", NULL },
	{ ".joe@example.com", NULL },
};

/* A NUL, or the guard's MIME_NUL_MARK for one, spoils the word it is in: it is no separator
 * (issue 19: "joe<NUL>evil@example.com" was a hard bounce for evil@example.com). */
static const struct {
	const char *in;
	size_t len;
	const char *want;	/* NULL: rejected */
} nul_rows[] = {
	{ "joe\0evil@example.com", 20, NULL },
	{ "rfc822; joe\0evil@example.com", 28, NULL },
	{ "rfc822; <joe\0evil@example.com>", 30, NULL },
	{ "Joe <joe\0evil@example.com>", 26, NULL },
	{ "\"joe\0\"@example.com", 18, NULL },
	{ "joe@example.com\0", 16, NULL },
	{ "joe@exa\0mple.com", 16, NULL },
	{ "\0joe@example.com", 16, NULL },
	{ "joe\0evil@example.com is unknown", 31, NULL },
	{ "joe\x1a" "evil@example.com", 20, NULL },
	{ "rfc822; joe\x1a" "evil@example.com", 28, NULL },
	{ "<joe\x1a" "evil@example.com>: user unknown", 36, NULL },
	{ "\"joe\x1a\"@example.com", 18, NULL },
	{ "joe@example.com\x1a", 16, NULL },
	/* A NUL elsewhere in the text spoils only its own word. */
	{ "evil\0 joe@example.com", 21, "joe@example.com" },
	{ "joe@example.com (\0)", 19, "joe@example.com" },
	{ "Joe\x1a <joe@example.com>", 22, "joe@example.com" },
};

static void
test_iter(void)
{
	static const char block[] = "A: 1\nB: two\n  lines\nnot a field\nC:3\n\nD: body\n";
	static const char *const want[][2] = { { "A", "1" }, { "B", "two lines" }, { "C", "3" } };
	struct header_iter it;
	struct strbuf v = STRBUF_INIT;
	const char *n;
	size_t nl, i = 0;

	header_iter_init(&it, block, sizeof block - 1);
	while (header_next(&it, &n, &nl, &v)) {
		char name[32];
		snprintf(name, sizeof name, "%.*s", (int)nl, n);
		if (i < 3) {
			check_str("iter name", block, name, want[i][0]);
			check_str("iter value", block, v.s, want[i][1]);
		}
		i++;
	}
	if (i != 3) {
		printf("FAIL iter: %zu fields, want 3\n", i);
		failures++;
	}
	strbuf_free(&v);
}

static void
test_limits(void)
{
	/* A field longer than LIMIT_FIELD_BYTES is kept up to the limit. */
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	strbuf_puts(&in, "Subject: ");
	for (size_t i = 0; i < LIMIT_FIELD_BYTES / 10 + 100; i++)
		strbuf_puts(&in, "abcdefghi\n ");
	strbuf_puts(&in, "end\n");
	if (!header_get(in.s, in.len, "Subject", &out) || out.len != LIMIT_FIELD_BYTES) {
		printf("FAIL LIMIT_FIELD_BYTES: got %zu bytes, want %u\n", out.len, LIMIT_FIELD_BYTES);
		failures++;
	}
	/* An address longer than LIMIT_ADDRESS_BYTES is refused. */
	strbuf_reset(&in);
	strbuf_reset(&out);
	for (size_t i = 0; i < LIMIT_ADDRESS_BYTES; i++)
		strbuf_putc(&in, 'a');
	strbuf_puts(&in, "@example.com");
	if (address_extract(in.s, in.len, &out)) {
		printf("FAIL LIMIT_ADDRESS_BYTES: accepted %zu bytes\n", in.len);
		failures++;
	}
	strbuf_free(&in);
	strbuf_free(&out);
}

int
main(void)
{
	struct strbuf out = STRBUF_INIT;

	for (size_t i = 0; i < sizeof get_rows / sizeof get_rows[0]; i++) {
		strbuf_reset(&out);
		bool found = header_get(get_rows[i].block, strlen(get_rows[i].block), get_rows[i].name, &out);
		check_str("header_get", get_rows[i].block, found ? (out.s ? out.s : "") : NULL,
			  get_rows[i].want);
	}
	strbuf_reset(&out);
	if (!header_get_decoded("Subject: =?utf-8?q?caf=C3=A9?= ok\n", 35, "subject", &out))
		failures++;
	check_str("header_get_decoded", "Subject", out.s, "caf\xc3\xa9 ok");

	for (size_t i = 0; i < sizeof ew_rows / sizeof ew_rows[0]; i++) {
		strbuf_reset(&out);
		header_decode_2047(ew_rows[i].in, strlen(ew_rows[i].in), &out);
		check_str("header_decode_2047", ew_rows[i].in, out.s ? out.s : "", ew_rows[i].want);
	}
	for (size_t i = 0; i < sizeof addr_rows / sizeof addr_rows[0]; i++) {
		strbuf_reset(&out);
		bool ok = address_extract(addr_rows[i].in, strlen(addr_rows[i].in), &out);
		check_str("address_extract", addr_rows[i].in, ok ? out.s : NULL, addr_rows[i].want);
		if (ok && out.len != strlen(out.s)) {	/* a domain that got shorter when lowered */
			printf("FAIL address_extract %s: len %zu, string %zu\n", addr_rows[i].in, out.len,
			    strlen(out.s));
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof nul_rows / sizeof nul_rows[0]; i++) {
		strbuf_reset(&out);
		bool ok = address_extract(nul_rows[i].in, nul_rows[i].len, &out);
		char row[64];
		snprintf(row, sizeof row, "nul_rows[%zu]", i);
		check_str("address_extract", row, ok ? out.s : NULL, nul_rows[i].want);
	}
	char a[] = "Joe.Doe@MX.Example.COM", b[] = "no-at-sign", c[] = "a@b@C.D";
	address_lower_domain(a);
	address_lower_domain(b);
	address_lower_domain(c);
	check_str("address_lower_domain", "a", a, "Joe.Doe@mx.example.com");
	check_str("address_lower_domain", "b", b, "no-at-sign");
	check_str("address_lower_domain", "c", c, "a@b@c.d");

	test_iter();
	test_limits();
	strbuf_free(&out);
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
