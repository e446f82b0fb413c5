/* "Name: value" lines in report bodies (see fieldscan.h). */
#include "fieldscan.h"

#include <string.h>
#include <strings.h>

#include "limits.h"

/* Appends [p, p+n) to v within LIMIT_FIELD_BYTES. */
static void
capped_append(struct strbuf *v, const char *p, size_t n)
{
	if (v->len >= LIMIT_FIELD_BYTES)
		return;
	if (n > LIMIT_FIELD_BYTES - v->len)
		n = LIMIT_FIELD_BYTES - v->len;
	strbuf_append(v, p, n);
}

bool
fieldscan_next(const char *text, size_t len, const char **cursor, const char *name,
    struct strbuf *out)
{
	size_t nl = strlen(name);
	const char *p = *cursor != NULL ? *cursor : text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol != NULL ? eol + 1 : end;
		size_t n = (size_t)((eol != NULL ? eol : end) - p);
		if (n <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':') {
			p = next;
			continue;
		}
		struct strbuf raw = STRBUF_INIT;
		capped_append(&raw, p + nl + 1, n - nl - 1);
		while (next < end && (*next == ' ' || *next == '\t') && raw.len < LIMIT_FIELD_BYTES) {
			const char *e2 = memchr(next, '\n', (size_t)(end - next));
			const char *s2 = next, *f2 = e2 != NULL ? e2 : end;
			while (s2 < f2 && (*s2 == ' ' || *s2 == '\t'))
				s2++;
			capped_append(&raw, " ", 1);
			capped_append(&raw, s2, (size_t)(f2 - s2));
			next = e2 != NULL ? e2 + 1 : end;
		}
		const char *s = raw.s;
		size_t sl = raw.len;
		while (sl > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			sl--;
		}
		while (sl > 0 && (s[sl - 1] == ' ' || s[sl - 1] == '\t' || s[sl - 1] == '\r'))
			sl--;
		strbuf_append(out, s, sl);
		strbuf_free(&raw);
		*cursor = next;
		return true;
	}
	*cursor = end;
	return false;
}

bool
fieldscan_first(const char *text, size_t len, const char *name, struct strbuf *out)
{
	const char *cursor = NULL;
	return fieldscan_next(text, len, &cursor, name, out);
}
