/* A growable byte buffer, always NUL-terminated. Out of memory is fatal (abort). */
#ifndef BOUNCED_STRBUF_H
#define BOUNCED_STRBUF_H
#include <stddef.h>
#include <stdarg.h>

struct strbuf {
	char *s;	/* NUL-terminated, owned; NULL until the first append */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

/* Append len bytes of p (which may hold NUL), a NUL-terminated string, or printf output; the
 * buffer grows as needed and stays NUL-terminated. */
void strbuf_append(struct strbuf *b, const char *p, size_t len);
void strbuf_puts(struct strbuf *b, const char *s);
/* strbuf_putc's growing path; not for direct use. */
void strbuf_putc_slow(struct strbuf *b, char c);
/* Appends one byte; inline because text is built byte by byte in hot loops. */
static inline void
strbuf_putc(struct strbuf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
	} else
		strbuf_putc_slow(b, c);
}
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empties b, keeping its memory for reuse. */
void strbuf_reset(struct strbuf *b);
/* Returns the string (never NULL, "" when empty) and hands ownership to the caller. */
char *strbuf_detach(struct strbuf *b);
/* Frees the memory and leaves b empty (STRBUF_INIT); safe on an empty buffer. */
void strbuf_free(struct strbuf *b);

/* Sets *error_r, when error_r is not NULL, to a message formatted from fmt, whatever its length
 * (the caller frees it). *error_r must hold no message yet: it is overwritten, not freed. */
void error_set(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_setv(char **error_r, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Allocation helpers that abort on out-of-memory (STYLE: fatal only on OOM). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
