#include "json.h"

#include <string.h>

#include "codec.h"

int
utf8_valid(const char *p, size_t len)
{
	return len == 0 || (memchr(p, '\0', len) == NULL && codec_utf8_valid(p, len));
}

static const char replacement[] = "\xEF\xBF\xBD";

void
json_lstring(struct strbuf *out, const char *s, size_t len)
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
			n = codec_utf8_seq(u + i, len - i);
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
	json_lstring(out, s, s != NULL ? strlen(s) : 0);
}

void
json_kv(struct strbuf *out, const char *key, const char *val)
{
	json_cstring(out, key);
	strbuf_putc(out, ':');
	json_cstring(out, val);
}
