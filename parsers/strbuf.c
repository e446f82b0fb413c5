#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation of a buffer: most hold a header value or a line or two, which a first
 * allocation of 64 bytes made grow twice or three times (a tenth of all reallocs parsing the
 * corpus went away at 256). */
#define STRBUF_FIRST_CAP	256

static void
oom(void)
{
	fputs("bounced: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
strbuf_grow(struct strbuf *b, size_t more)
{
	size_t need = b->len + more + 1;
	if (need < b->len)
		oom();
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : STRBUF_FIRST_CAP;
	while (cap < need) {
		if (cap > ((size_t)-1) / 2)
			oom();
		cap *= 2;
	}
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void
strbuf_append(struct strbuf *b, const char *p, size_t len)
{
	strbuf_grow(b, len);
	if (len > 0)
		memcpy(b->s + b->len, p, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void
strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_append(b, s, strlen(s));
}

void
strbuf_putc_slow(struct strbuf *b, char c)
{
	strbuf_append(b, &c, 1);
}

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	strbuf_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
}

void
error_setv(char **error_r, const char *fmt, va_list ap)
{
	if (error_r == NULL)
		return;
	struct strbuf b = STRBUF_INIT;
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		strbuf_puts(&b, fmt);	/* an encoding error: the format still says what failed */
	} else {
		strbuf_grow(&b, (size_t)n);
		vsnprintf(b.s, (size_t)n + 1, fmt, ap);
		b.len = (size_t)n;
	}
	*error_r = strbuf_detach(&b);
}

void
error_set(char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_setv(error_r, fmt, ap);
	va_end(ap);
}

void
strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

char *
strbuf_detach(struct strbuf *b)
{
	char *s = b->s != NULL ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void
strbuf_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
