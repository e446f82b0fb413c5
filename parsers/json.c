#include "json.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when invalid or NUL. RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF. */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (len < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

int
utf8_valid(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq(u + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

static const char replacement[] = "\xEF\xBF\xBD";

void
utf8_sanitize(struct strbuf *out, const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, run = 0;
	while (i < len) {
		size_t n = utf8_seq(u + i, len - i);
		if (n == 0) {
			strbuf_append(out, p + run, i - run);
			strbuf_append(out, replacement, 3);
			i++;
			run = i;
			continue;
		}
		i += n;
	}
	strbuf_append(out, p + run, i - run);
}

void
json_string(struct strbuf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	strbuf_putc(out, '"');
	size_t i = 0, run = 0;
	while (s != NULL && i < len) {
		unsigned char c = u[i];
		const char *esc = NULL;
		char ubuf[7];
		size_t n = 1;
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c < 0x20 || c == 0x7f) {
			ubuf[0] = '\\'; ubuf[1] = 'u'; ubuf[2] = '0'; ubuf[3] = '0';
			ubuf[4] = hex[c >> 4]; ubuf[5] = hex[c & 15]; ubuf[6] = '\0';
			esc = ubuf;
		} else if (c >= 0x80) {
			n = utf8_seq(u + i, len - i);
			if (n == 0) {
				esc = replacement;
				n = 1;
			}
		}
		if (esc != NULL) {
			strbuf_append(out, s + run, i - run);
			strbuf_puts(out, esc);
			i += n;
			run = i;
		} else
			i += n;
	}
	if (s != NULL)
		strbuf_append(out, s + run, i - run);
	strbuf_putc(out, '"');
}

void
json_cstring(struct strbuf *out, const char *s)
{
	json_string(out, s, s != NULL ? strlen(s) : 0);
}

void
json_kv(struct strbuf *out, const char *key, const char *val)
{
	json_cstring(out, key);
	strbuf_putc(out, ':');
	json_cstring(out, val);
}
