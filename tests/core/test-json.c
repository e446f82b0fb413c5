#include "json.h"
#include "test.h"

static const struct {
	const char *in;
	size_t len;
	const char *want;
} strings[] = {
	{ "plain", 5, "\"plain\"" },
	{ "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
	{ "l1\nl2\r\t", 7, "\"l1\\nl2\\r\\t\"" },
	{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
	{ "nul\0x", 5, "\"nul\\u0000x\"" },
	{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },			/* valid UTF-8 kept */
	{ "\xe6\x97\xa5\xe6\x9c\xac", 6, "\"\xe6\x97\xa5\xe6\x9c\xac\"" },
	{ "\xf0\x9f\x93\xa7", 4, "\"\xf0\x9f\x93\xa7\"" },
	{ "bad\xff", 4, "\"bad\xef\xbf\xbd\"" },		/* invalid byte → U+FFFD */
	{ "\xc3", 1, "\"\xef\xbf\xbd\"" },			/* truncated sequence */
	{ "\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },	/* overlong */
	{ "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },	/* surrogate */
	{ "\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
	{ "iso-8859-1 \xe9t\xe9", 14, "\"iso-8859-1 \xef\xbf\xbdt\xef\xbf\xbd\"" },
	{ NULL, 0, "\"\"" },
};

static const struct {
	const char *in;
	size_t len;
	int want;
} valid[] = {
	{ "abc", 3, 1 }, { "\xc3\xa9", 2, 1 }, { "\xff", 1, 0 }, { "a\0b", 3, 0 }, { "", 0, 1 },
	{ "\xe2\x82", 2, 0 },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		struct strbuf b = STRBUF_INIT;
		json_lstring(&b, strings[i].in, strings[i].len);
		CHECK_STR("json_string", b.s, strings[i].want);
		strbuf_free(&b);
	}
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
		CHECK_INT("utf8_valid", utf8_valid(valid[i].in, valid[i].len), valid[i].want);
	return TEST_DONE();
}
