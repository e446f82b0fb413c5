/* codec.c: quoted-printable, base64, charsets to UTF-8, UTF-8 validation, line endings and
 * Content-Type parsing. Each row gives the exact output bytes and the "undamaged" result. */
#include "../core/test.h"

#include <stdbool.h>
#include <stdlib.h>

#include "codec.h"
#include "limits.h"
#include "strbuf.h"

/* A byte string with its length: rows may hold NUL and bytes that are not UTF-8. */
struct bytes {
	const char *p;
	size_t len;
};
#define B(s) { s, sizeof(s) - 1 }

static void
check_bytes(const char *what, const char *got, size_t got_len, struct bytes want)
{
	test_checks++;
	if (got_len == want.len && (want.len == 0 || memcmp(got, want.p, want.len) == 0))
		return;
	test_failures++;
	printf("FAIL %s: got %zu bytes \"", what, got_len);
	for (size_t i = 0; i < got_len; i++)
		printf((unsigned char)got[i] < 0x20 || (unsigned char)got[i] >= 0x7f ? "\\x%02x" : "%c",
		    (unsigned char)got[i]);
	printf("\", want %zu bytes\n", want.len);
}

struct decode_row {
	const char *name;
	struct bytes in;
	struct bytes want;
	bool ok;
};

static const struct decode_row qp_rows[] = {
	{ "plain text", B("hello world"), B("hello world"), true },
	{ "upper-case escape", B("a=3Db"), B("a=b"), true },
	{ "lower-case escape", B("a=3db=c3=a9"), B("a=b\xc3\xa9"), true },
	{ "UTF-8 bytes", B("caf=C3=A9"), B("caf\xc3\xa9"), true },
	{ "soft break LF", B("abc=\ndef"), B("abcdef"), true },
	{ "soft break CRLF", B("abc=\r\ndef"), B("abcdef"), true },
	{ "soft break after blanks", B("abc= \t\r\ndef"), B("abcdef"), true },
	{ "hard line break kept", B("abc\r\ndef\n"), B("abc\r\ndef\n"), true },
	{ "trailing = is a soft break", B("abc="), B("abc"), true },
	{ "trailing = and blanks", B("abc=  "), B("abc"), true },
	{ "bad escape kept", B("a=ZZb"), B("a=ZZb"), false },
	{ "half a hex pair kept", B("a=4Gb"), B("a=4Gb"), false },
	{ "escape cut at the end", B("a=4"), B("a=4"), false },
	{ "= before a letter kept", B("x=y"), B("x=y"), false },
	{ "escaped NUL", B("a=00b"), B("a\0b"), true },
	{ "underscore is literal in a body", B("a_b"), B("a_b"), true },
	{ "empty", B(""), B(""), true },
};

static const struct decode_row qword_rows[] = {
	{ "underscore is a space", B("a_b=5Fc"), B("a b_c"), true },
	{ "RFC 2047 word", B("R=C3=A9ponse_automatique"), B("R\xc3\xa9ponse automatique"), true },
	{ "trailing = is damage", B("abc="), B("abc="), false },
	{ "bad escape kept", B("=G1x"), B("=G1x"), false },
};

static const struct decode_row b64_rows[] = {
	{ "padded", B("aGVsbG8="), B("hello"), true },
	{ "two pad characters", B("aGk="), B("hi"), true },
	{ "no padding needed", B("aGVsbG8h"), B("hello!"), true },
	{ "line breaks", B("aGVs\r\nbG8=\r\n"), B("hello"), true },
	{ "spaces and tabs", B(" aG Vs\tbG 8= "), B("hello"), true },
	{ "missing padding", B("aGVsbG8"), B("hello"), false },
	{ "missing both pad characters", B("aGk"), B("hi"), false },
	{ "garbage skipped", B("aGVs*bG8="), B("hello"), false },
	{ "non-ASCII garbage", B("aGVs\xc3\xa9" "bG8="), B("hello"), false },
	{ "a lone sextet", B("aGVsbG8hZ"), B("hello!"), false },
	{ "a lone sextet before padding", B("Z==="), B(""), false },
	{ "concatenated encodings", B("aGk=aGk="), B("hihi"), true },
	{ "binary", B("AP8A/w=="), B("\0\xff\0\xff"), true },
	{ "URL-safe alphabet is garbage", B("-_-_"), B(""), false },
	{ "empty", B(""), B(""), true },
};

struct charset_row {
	const char *name;
	const char *charset;
	struct bytes in;
	struct bytes want;
	bool ok;
};

static const struct charset_row charset_rows[] = {
	{ "no charset", NULL, B("caf\xc3\xa9"), B("caf\xc3\xa9"), true },
	{ "utf-8", "UTF-8", B("caf\xc3\xa9"), B("caf\xc3\xa9"), true },
	{ "us-ascii", "us-ascii", B("plain"), B("plain"), true },
	{ "invalid UTF-8 in utf-8 is kept", "utf-8", B("caf\xe9 \xc0\xaf"), B("caf\xe9 \xc0\xaf"), false },
	{ "invalid UTF-8 in us-ascii is kept", "us-ascii", B("caf\xe9"), B("caf\xe9"), false },
	{ "ISO-8859-1", "ISO-8859-1", B("caf\xe9"), B("caf\xc3\xa9"), true },
	{ "latin1 label", "latin1", B("\xfc"), B("\xc3\xbc"), true },
	{ "ISO-8859-2", "iso-8859-2", B("\xb1"), B("\xc4\x85"), true },
	{ "windows-1252", "windows-1252", B("\x80 \x93q\x94 \x85 \x9f"),
	  B("\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d \xe2\x80\xa6 \xc5\xb8"), true },
	{ "windows-1252 unassigned byte", "windows-1252", B("a\x81z"), B("a\xef\xbf\xbdz"), false },
	{ "KOI8-R", "koi8-r", B("\xf0\xd2\xc9\xd7\xc5\xd4"),
	  B("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), true },
	{ "GB18030 two bytes", "GB18030", B("\xc4\xe3\xba\xc3"), B("\xe4\xbd\xa0\xe5\xa5\xbd"), true },
	{ "GB18030 four bytes", "gb18030", B("\x81\x30\x81\x30\x95\x32\x82\x36"),
	  B("\xc2\x80\xf0\xa0\x80\x80"), true },
	{ "gb2312 read as GB18030", "gb2312", B("\xc4\xe3"), B("\xe4\xbd\xa0"), true },
	{ "GB18030 cut at the end", "gb18030", B("\xc4\xe3\xba"), B("\xe4\xbd\xa0\xef\xbf\xbd"), false },
	{ "ISO-2022-JP", "ISO-2022-JP", B("\x1b$B$3$s$K$A$O\x1b(B"),
	  B("\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"), true },
	{ "ISO-2022-JP without the closing escape", "iso-2022-jp", B("\x1b$B$3$s"),
	  B("\xe3\x81\x93\xe3\x82\x93"), true },
	{ "ISO-2022-JP that is Shift_JIS in fact", "iso-2022-jp", B("\x82\xb1\x82\xf1"),
	  B("\xe3\x81\x93\xe3\x82\x93"), true },
	{ "Shift_JIS label", "Shift_JIS", B("\x82\xb1"), B("\xe3\x81\x93"), true },
	{ "ks_c_5601-1987 read as CP949", "ks_c_5601-1987", B("\xc7\xd1"), B("\xed\x95\x9c"), true },
	{ "unknown charset kept as is", "x-no-such-charset", B("caf\xe9"), B("caf\xe9"), false },
	{ "iconv suffix refused", "utf-8//IGNORE", B("caf\xe9"), B("caf\xe9"), false },
	{ "name over CODEC_CHARSET_MAX refused", "iso-8859-1-and-a-very-long-tail-that-goes-on-and-on",
	  B("caf\xe9"), B("caf\xe9"), false },
	{ "empty input", "iso-8859-1", B(""), B(""), true },
};

struct utf8_row {
	const char *name;
	struct bytes in;
	bool valid;
	size_t seq;	/* codec_utf8_seq at the first byte */
};

static const struct utf8_row utf8_rows[] = {
	{ "ASCII", B("abc"), true, 1 },
	{ "two bytes", B("\xc3\xa9"), true, 2 },
	{ "three bytes", B("\xe2\x82\xac"), true, 3 },
	{ "four bytes", B("\xf0\x9f\x98\x80"), true, 4 },
	{ "U+10FFFF", B("\xf4\x8f\xbf\xbf"), true, 4 },
	{ "NUL is valid, no sequence", B("\0a"), true, 0 },
	{ "overlong two bytes", B("\xc0\xaf"), false, 0 },
	{ "overlong C1", B("\xc1\xbf"), false, 0 },
	{ "overlong three bytes", B("\xe0\x80\xaf"), false, 0 },
	{ "overlong four bytes", B("\xf0\x80\x80\xaf"), false, 0 },
	{ "surrogate", B("\xed\xa0\x80"), false, 0 },
	{ "above U+10FFFF", B("\xf4\x90\x80\x80"), false, 0 },
	{ "F5 lead byte", B("\xf5\x80\x80\x80"), false, 0 },
	{ "lone continuation", B("\x80"), false, 0 },
	{ "cut short", B("\xe2\x82"), false, 0 },
	{ "bad third byte", B("\xe2\x82\x41"), false, 0 },
	{ "bad byte after 8 ASCII bytes", B("abcdefghi\xff"), false, 1 },
	{ "valid after 16 ASCII bytes", B("abcdefghijklmnop\xc3\xa9"), true, 1 },
};

struct lf_row {
	const char *name;
	struct bytes in;
	struct bytes want;
};

static const struct lf_row lf_rows[] = {
	{ "CRLF", B("a\r\nb\r\n"), B("a\nb\n") },
	{ "lone CR", B("a\rb\r"), B("a\nb\n") },
	{ "CR CR LF", B("a\r\r\nb"), B("a\n\nb") },
	{ "LF kept", B("a\nb"), B("a\nb") },
	{ "none", B("ab"), B("ab") },
};

struct ct_row {
	const char *name;
	const char *value;
	const char *type;	/* NULL: unparsable */
	const char *param;
	const char *param_value;	/* NULL: absent */
};

static const struct ct_row ct_rows[] = {
	{ "simple", "Text/Plain; Charset=\"UTF-8\"", "text/plain", "charset", "UTF-8" },
	{ "unquoted", "text/plain; charset=iso-8859-1 (Latin 1)", "text/plain", "charset", "iso-8859-1" },
	{ "blanks around =", "text/plain; charset = koi8-r", "text/plain", "charset", "koi8-r" },
	{ "comments and blanks", "(c) multipart / report ; report-type=delivery-status",
	  "multipart/report", "report-type", "delivery-status" },
	{ "quoted pair", "multipart/mixed; boundary=\"a\\\"b\"", "multipart/mixed", "boundary", "a\"b" },
	{ "second parameter", "multipart/report; report-type=x; boundary=\"==b==\"", "multipart/report",
	  "boundary", "==b==" },
	{ "a name that only ends like it", "text/plain; xcharset=a; charset=b", "text/plain", "charset", "b" },
	{ "absent", "text/plain", "text/plain", "charset", NULL },
	{ "parameter without a value", "text/plain; format; charset=x", "text/plain", "charset", "x" },
	{ "no subtype", "text", NULL, "charset", NULL },
	{ "no type", "/plain; charset=x", NULL, "charset", "x" },
	{ "empty", "", NULL, "charset", NULL },
};

static void
run_decoders(void)
{
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < sizeof qp_rows / sizeof qp_rows[0]; i++) {
		const struct decode_row *r = &qp_rows[i];
		printf("# qp: %s\n", r->name);
		strbuf_reset(&out);
		strbuf_puts(&out, ">");	/* appends: what was there stays */
		bool ok = codec_qp(r->in.p, r->in.len, false, &out);
		CHECK_INT("ok", ok, r->ok);
		CHECK_INT("prefix kept", out.s[0], '>');
		check_bytes(r->name, out.s + 1, out.len - 1, r->want);
	}
	for (size_t i = 0; i < sizeof qword_rows / sizeof qword_rows[0]; i++) {
		const struct decode_row *r = &qword_rows[i];
		printf("# qp word: %s\n", r->name);
		strbuf_reset(&out);
		bool ok = codec_qp(r->in.p, r->in.len, true, &out);
		CHECK_INT("ok", ok, r->ok);
		check_bytes(r->name, out.s, out.len, r->want);
	}
	for (size_t i = 0; i < sizeof b64_rows / sizeof b64_rows[0]; i++) {
		const struct decode_row *r = &b64_rows[i];
		printf("# base64: %s\n", r->name);
		strbuf_reset(&out);
		strbuf_puts(&out, ">");
		bool ok = codec_base64(r->in.p, r->in.len, &out);
		CHECK_INT("ok", ok, r->ok);
		CHECK_INT("prefix kept", out.s[0], '>');
		check_bytes(r->name, out.s + 1, out.len - 1, r->want);
	}
	strbuf_free(&out);
}

static void
run_charsets(void)
{
	struct strbuf out = STRBUF_INIT;
	codec_new_message();
	for (size_t i = 0; i < sizeof charset_rows / sizeof charset_rows[0]; i++) {
		const struct charset_row *r = &charset_rows[i];
		printf("# charset: %s\n", r->name);
		strbuf_reset(&out);
		bool ok = codec_to_utf8(r->charset, r->in.p, r->in.len, &out);
		CHECK_INT("ok", ok, r->ok);
		check_bytes(r->name, out.s, out.len, r->want);
	}
	/* The same rows again: the iconv descriptors come from the cache now, and a stateful one
	 * (ISO-2022-JP) must start in its initial state. */
	for (size_t i = 0; i < sizeof charset_rows / sizeof charset_rows[0]; i++) {
		const struct charset_row *r = &charset_rows[i];
		printf("# charset, cached: %s\n", r->name);
		strbuf_reset(&out);
		CHECK_INT("ok", codec_to_utf8(r->charset, r->in.p, r->in.len, &out), r->ok);
		check_bytes(r->name, out.s, out.len, r->want);
	}
	strbuf_free(&out);
}

/* LIMIT_CHARSET_OPENS bounds the iconv_open calls of one message: past it a charset iconv
 * would know is kept as is and reported damaged, until codec_new_message. */
static void
run_open_limit(void)
{
	struct strbuf out = STRBUF_INIT;
	char name[32];
	printf("# LIMIT_CHARSET_OPENS\n");
	codec_new_message();
	for (int i = 0; i < LIMIT_CHARSET_OPENS; i++) {
		snprintf(name, sizeof name, "x-unknown-%d", i);
		strbuf_reset(&out);
		if (codec_to_utf8(name, "a", 1, &out))
			CHECK_STR("unknown charset refused", name, "");
	}
	strbuf_reset(&out);
	CHECK_INT("iso-8859-15 over the limit", codec_to_utf8("iso-8859-15", "\xa4", 1, &out), false);
	check_bytes("iso-8859-15 over the limit", out.s, out.len, (struct bytes)B("\xa4"));
	codec_new_message();
	strbuf_reset(&out);
	CHECK_INT("iso-8859-15 in a new message", codec_to_utf8("iso-8859-15", "\xa4", 1, &out), true);
	check_bytes("iso-8859-15 in a new message", out.s, out.len, (struct bytes)B("\xe2\x82\xac"));
	strbuf_free(&out);
}

static void
run_utf8(void)
{
	for (size_t i = 0; i < sizeof utf8_rows / sizeof utf8_rows[0]; i++) {
		const struct utf8_row *r = &utf8_rows[i];
		printf("# utf8: %s\n", r->name);
		CHECK_INT("valid", codec_utf8_valid(r->in.p, r->in.len), r->valid);
		CHECK_INT("seq", codec_utf8_seq((const unsigned char *)r->in.p, r->in.len), r->seq);
	}
	printf("# utf8: a sequence longer than len\n");
	CHECK_INT("seq", codec_utf8_seq((const unsigned char *)"\xe2\x82\xac", 2), 0);
	static const struct {
		const char *name;
		bool is_utf8;
	} names[] = {
		{ NULL, true }, { "", true }, { "UTF-8", true }, { "utf8", true }, { "US-ASCII", true },
		{ "ANSI_X3.4-1968", true }, { "iso-8859-1", false }, { "utf-16", false },
		{ "utf-8//IGNORE", false },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		printf("# charset_is_utf8: %s\n", names[i].name != NULL ? names[i].name : "(null)");
		CHECK_INT("is_utf8", codec_charset_is_utf8(names[i].name), names[i].is_utf8);
	}
}

static void
run_lf_and_ct(void)
{
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < sizeof lf_rows / sizeof lf_rows[0]; i++) {
		printf("# lf: %s\n", lf_rows[i].name);
		strbuf_reset(&out);
		codec_lf(lf_rows[i].in.p, lf_rows[i].in.len, &out);
		check_bytes(lf_rows[i].name, out.s, out.len, lf_rows[i].want);
	}
	static const char cfws[] = " \t\r\n(a (nested \\) comment) here) x";
	printf("# cfws\n");
	CHECK_STR("after cfws", codec_cfws(cfws, cfws + sizeof cfws - 1), "x");
	CHECK_STR("unclosed comment", codec_cfws("(open", "(open" + 5), "");
	for (size_t i = 0; i < sizeof ct_rows / sizeof ct_rows[0]; i++) {
		const struct ct_row *r = &ct_rows[i];
		printf("# content-type: %s\n", r->name);
		strbuf_reset(&out);
		bool ok = codec_ct_type(r->value, strlen(r->value), &out);
		CHECK_INT("type parsed", ok, r->type != NULL);
		CHECK_STR("type", ok ? out.s : NULL, r->type);
		strbuf_reset(&out);
		ok = codec_ct_param(r->value, strlen(r->value), r->param, &out);
		CHECK_INT("param found", ok, r->param_value != NULL);
		CHECK_STR("param", ok ? (out.s != NULL ? out.s : "") : NULL, r->param_value);
	}
	strbuf_free(&out);
}

/* codec_utf8_put and codec_utf8_cp: each length's first and last code point, written, then
 * read back as codec_utf8_seq sees it. */
static void
check_utf8_cp(void)
{
	static const struct {
		uint32_t cp;
		const char *utf8;
	} rows[] = {
		{ 0x41, "A" }, { 0x7f, "\x7f" }, { 0x80, "\xc2\x80" }, { 0xfc, "\xc3\xbc" },
		{ 0x7ff, "\xdf\xbf" }, { 0x800, "\xe0\xa0\x80" }, { 0x212a, "\xe2\x84\xaa" },
		{ 0xffff, "\xef\xbf\xbf" }, { 0x10000, "\xf0\x90\x80\x80" },
		{ 0x1f4e8, "\xf0\x9f\x93\xa8" }, { 0x10ffff, "\xf4\x8f\xbf\xbf" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char out[5] = { 0 };
		size_t n = codec_utf8_put(rows[i].cp, out);
		CHECK_STR("codec_utf8_put", out, rows[i].utf8);
		CHECK_INT("codec_utf8_put length", n, strlen(rows[i].utf8));
		size_t m = codec_utf8_seq((const unsigned char *)out, n);
		CHECK_INT("codec_utf8_seq of it", m, n);
		CHECK_INT("codec_utf8_cp", codec_utf8_cp((const unsigned char *)out, m), rows[i].cp);
	}
}

int
main(void)
{
	run_decoders();
	run_charsets();
	run_open_limit();
	run_utf8();
	run_lf_and_ct();
	check_utf8_cp();
	return TEST_DONE();
}
