/* fieldscan_next: "Name: value" lines in report bodies, and the LIMIT_FIELD_BYTES cap. */
#include <stdlib.h>

#include "../core/test.h"
#include "fieldscan.h"
#include "limits.h"
#include "strbuf.h"

static const struct {
	const char *name;
	const char *text;
	const char *field;
	const char *want[4];	/* every value, in order; NULL ends */
} rows[] = {
	{ "one field", "Feedback-Type: abuse\nVersion: 1\n", "Version", { "1" } },
	{ "name without case", "version: 1\n", "Version", { "1" } },
	{ "not at column 0", " Version: 1\nx Version: 2\n", "Version", { NULL } },
	{ "folded, blanks and tabs", "Original-Rcpt-To: a@x,\n\tb@x\n  c@x\nNext: y\n",
	  "Original-Rcpt-To", { "a@x, b@x c@x" } },
	{ "CRLF and trailing blanks", "Version: 1 \t\r\nNext: 2\r\n", "Version", { "1" } },
	{ "several, prose between", "R: a\nprose R: no\nR: b\n\nR: c", "R", { "a", "b", "c" } },
	{ "longer name is another field", "Versions: 2\nVersion: 1\n", "Version", { "1" } },
	{ "blank before the colon", "Version : 1\n", "Version", { NULL } },
	{ "empty value", "Version:\nVersion:  \n", "Version", { "", "" } },
	{ "no text", "", "Version", { NULL } },
};

/* Every value of field in text, joined by "|". */
static char *
all_values(const char *text, size_t len, const char *field, size_t *count_r)
{
	struct strbuf all = STRBUF_INIT;
	const char *cursor = NULL;
	size_t n = 0;
	for (;;) {
		struct strbuf v = STRBUF_INIT;
		if (!fieldscan_next(text, len, &cursor, field, &v))
			break;
		strbuf_printf(&all, "%s%s", n++ ? "|" : "", v.s != NULL ? v.s : "");
		strbuf_free(&v);
	}
	CHECK_INT("cursor at the end", cursor == text + len, 1);
	*count_r = n;
	return all.s != NULL ? strbuf_detach(&all) : xstrdup("");
}

static void
check_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct strbuf want = STRBUF_INIT;
		size_t n = 0;
		for (; n < 4 && rows[i].want[n] != NULL; n++)
			strbuf_printf(&want, "%s%s", n ? "|" : "", rows[i].want[n]);
		size_t got_n;
		char *got = all_values(rows[i].text, strlen(rows[i].text), rows[i].field, &got_n);
		CHECK_STR(rows[i].name, got, want.s != NULL ? want.s : "");
		CHECK_INT(rows[i].name, got_n, n);
		free(got);
		strbuf_free(&want);
	}
}

/* A value over LIMIT_FIELD_BYTES is cut there, on its first line as on its continuations, and
 * the fields after it are still found. */
static void
check_cap(void)
{
	static const struct {
		const char *name;
		const char *first;	/* the field's first line, before the filler */
		char fill;		/* byte repeated */
		size_t fill_len;
		bool folded;		/* the filler on continuation lines of 100 bytes */
		size_t want_len;
	} caps[] = {
		{ "first line at the cap", "R: ", 'a', LIMIT_FIELD_BYTES - 1, false,
		  LIMIT_FIELD_BYTES - 1 },
		{ "first line over the cap", "R: ", 'a', 4 * LIMIT_FIELD_BYTES, false,
		  LIMIT_FIELD_BYTES - 1 },
		{ "first line of 1 MiB", "R: ", 'a', 1024 * 1024, false, LIMIT_FIELD_BYTES - 1 },
		{ "one long continuation", "R: x\n ", 'b', 4 * LIMIT_FIELD_BYTES, false,
		  LIMIT_FIELD_BYTES - 1 },
		{ "many continuations", "R: x", 'c', 2 * LIMIT_FIELD_BYTES, true,
		  LIMIT_FIELD_BYTES - 1 },
	};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		struct strbuf t = STRBUF_INIT;
		strbuf_puts(&t, caps[i].first);
		for (size_t k = 0; k < caps[i].fill_len; k++) {
			if (caps[i].folded && k % 100 == 0)
				strbuf_puts(&t, "\n ");
			strbuf_putc(&t, caps[i].fill);
		}
		strbuf_puts(&t, "\nafter: yes\n");
		struct strbuf v = STRBUF_INIT, after = STRBUF_INIT;
		const char *cursor = NULL;
		CHECK_INT(caps[i].name, fieldscan_next(t.s, t.len, &cursor, "R", &v), 1);
		CHECK_INT(caps[i].name, v.len, caps[i].want_len);
		CHECK_INT(caps[i].name, fieldscan_first(t.s, t.len, "after", &after), 1);
		CHECK_STR(caps[i].name, after.s, "yes");
		strbuf_free(&v);
		strbuf_free(&after);
		strbuf_free(&t);
	}
}

int
main(void)
{
	check_rows();
	check_cap();
	return TEST_DONE();
}
