/* Header fields (RFC 5322 unfolding, RFC 2047 encoded words) and addresses. */
#include "header.h"

#include <ctype.h>
#include <locale.h>
#include <stdint.h>
#include <wctype.h>

#include <string.h>
#include <strings.h>

#include "codec.h"
#include "limits.h"
#include "mime.h"

/* Longest charset label inside an encoded word. */
#define HEADER_EW_CHARSET_MAX (CODEC_CHARSET_MAX - 1)

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

void
header_iter_init(struct header_iter *it, const char *block, size_t len)
{
	it->p = block;
	it->end = block + len;
}

/* End of the line starting at p (at its '\n' or at end). */
static const char *
line_end(const char *p, const char *end)
{
	const char *e = memchr(p, '\n', (size_t)(end - p));
	return e ? e : end;
}

/* Appends [p, e) to value, minus a trailing CR, within LIMIT_FIELD_BYTES. */
static void
value_add(struct strbuf *v, size_t base, const char *p, const char *e)
{
	if (e > p && e[-1] == '\r')
		e--;
	size_t have = v->len - base, n = (size_t)(e - p);
	if (have >= LIMIT_FIELD_BYTES)
		return;
	if (n > LIMIT_FIELD_BYTES - have)
		n = LIMIT_FIELD_BYTES - have;
	strbuf_append(v, p, n);
}

bool
header_next(struct header_iter *it, const char **name_r, size_t *name_len_r, struct strbuf *value)
{
	while (it->p < it->end) {
		const char *p = it->p, *end = it->end;
		const char *le = line_end(p, end);
		it->p = le < end ? le + 1 : end;
		if (le == p || (le == p + 1 && *p == '\r'))
			return false;	/* blank line: end of the block */
		if (is_wsp(*p))
			continue;	/* stray continuation */
		const char *c = p;
		while (c < le && *c != ':' && !is_wsp(*c))
			c++;
		const char *name_end = c;
		while (c < le && is_wsp(*c))
			c++;
		if (c >= le || *c != ':' || name_end == p)
			continue;	/* not a field */

		strbuf_reset(value);
		strbuf_append(value, "", 0);
		size_t base = value->len;
		const char *v = c + 1;
		while (v < le && is_wsp(*v))
			v++;
		value_add(value, base, v, le);
		/* Continuation lines: the fold and the white space around it become one space. */
		while (it->p < end && is_wsp(*it->p)) {
			const char *cl = it->p, *ce = line_end(cl, end);
			it->p = ce < end ? ce + 1 : end;
			while (cl < ce && (is_wsp(*cl) || *cl == '\r'))
				cl++;
			if (cl == ce)
				continue;	/* white-space-only line */
			while (value->len > base && is_wsp(value->s[value->len - 1]))
				value->len--;
			if (value->len > base && value->len - base < LIMIT_FIELD_BYTES)
				strbuf_putc(value, ' ');
			value_add(value, base, cl, ce);
		}
		while (value->len > base && (is_wsp(value->s[value->len - 1]) ||
		       value->s[value->len - 1] == '\r'))
			value->len--;
		value->s[value->len] = '\0';
		*name_r = p;
		*name_len_r = (size_t)(name_end - p);
		return true;
	}
	return false;
}

bool
header_get(const char *block, size_t len, const char *name, struct strbuf *out)
{
	/* Called many times per message: compare names on the raw lines and unfold only the field
	 * asked for (header_next builds every value it passes). Same grammar as header_next. */
	size_t want = strlen(name);
	const char *p = block, *end = block + len;
	int first = tolower((unsigned char)name[0]);
	while (p < end) {
		const char *le = line_end(p, end);
		if (le == p || (le == p + 1 && *p == '\r'))
			return false;	/* blank line: end of the block */
		if ((size_t)(le - p) > want && tolower((unsigned char)*p) == first &&
		    strncasecmp(p, name, want) == 0) {
			const char *c = p + want;
			while (c < le && is_wsp(*c))
				c++;
			if (c < le && *c == ':') {
				struct header_iter it;
				struct strbuf v = STRBUF_INIT;
				const char *n;
				size_t nl;
				header_iter_init(&it, p, (size_t)(end - p));
				if (header_next(&it, &n, &nl, &v))
					strbuf_append(out, v.s, v.len);
				strbuf_free(&v);
				return true;
			}
		}
		p = le < end ? le + 1 : end;
	}
	return false;
}

bool
header_get_decoded(const char *block, size_t len, const char *name, struct strbuf *out)
{
	struct strbuf raw = STRBUF_INIT;
	bool found = header_get(block, len, name, &raw);
	if (found)
		header_decode_2047(raw.s, raw.len, out);
	strbuf_free(&raw);
	return found;
}

/* One encoded word "=?charset[*lang]?B|Q?text?=" at p. On success fills the parts and returns
 * the position after it. Text may not contain white space. */
struct ew {
	char charset[HEADER_EW_CHARSET_MAX + 1];
	char enc;
	const char *text, *text_end;
};

static const char *
parse_ew(const char *p, const char *end, struct ew *ew, const char **fail_end)
{
	const char *q = p + 2;
	size_t n = 0;
	while (q < end && *q != '?' && *q != '*' && !is_wsp(*q) && *q != '\r' && *q != '\n') {
		if (n == HEADER_EW_CHARSET_MAX)
			return NULL;
		ew->charset[n++] = *q++;
	}
	ew->charset[n] = '\0';
	if (q < end && *q == '*')	/* RFC 2231 language */
		while (q < end && *q != '?' && !is_wsp(*q))
			q++;
	if (n == 0 || end - q < 4 || q[0] != '?' || q[2] != '?')
		return NULL;
	ew->enc = (char)(q[1] | 0x20);
	if (ew->enc != 'b' && ew->enc != 'q')
		return NULL;
	ew->text = q + 3;
	if (ew->text < *fail_end)
		return NULL;	/* a scan from an earlier word already found no end here */
	for (q = ew->text; q + 1 < end; q++) {
		if (q[0] == '?' && q[1] == '=') {
			ew->text_end = q;
			return q + 2;
		}
		if (is_wsp(*q) || *q == '\r' || *q == '\n')
			break;
	}
	*fail_end = q + 1;
	return NULL;
}

static void
flush_run(struct strbuf *run, const char *charset, struct strbuf *out)
{
	if (run->len > 0)
		codec_to_utf8(charset, run->s, run->len, out);
	strbuf_reset(run);
}

void
header_decode_2047(const char *value, size_t len, struct strbuf *out)
{
	const char *p = value, *end = value + len, *lit = value;
	const char *fail_end = value;
	struct strbuf run = STRBUF_INIT;	/* decoded bytes of adjacent words in one charset */
	char run_cs[HEADER_EW_CHARSET_MAX + 1] = "";
	const char *after_word = NULL;	/* end of the previous encoded word */

	strbuf_append(out, "", 0);
	while (p + 1 < end) {
		const char *q = memchr(p, '=', (size_t)(end - p - 1));
		if (q == NULL)
			break;
		struct ew ew;
		const char *next = q[1] == '?' ? parse_ew(q, end, &ew, &fail_end) : NULL;
		if (next == NULL) {
			p = q + 1;
			continue;
		}
		/* Text between words: white space only between two words is dropped. */
		bool only_wsp = after_word != NULL && after_word == lit;
		for (const char *s = lit; only_wsp && s < q; s++)
			if (!is_wsp(*s) && *s != '\r' && *s != '\n')
				only_wsp = false;
		if (!only_wsp || strcasecmp(run_cs, ew.charset) != 0) {
			flush_run(&run, run_cs, out);
			if (!only_wsp)
				strbuf_append(out, lit, (size_t)(q - lit));
		}
		size_t before = run.len;
		bool ok = ew.enc == 'b' ? codec_base64(ew.text, (size_t)(ew.text_end - ew.text), &run)
					: codec_qp(ew.text, (size_t)(ew.text_end - ew.text), true, &run);
		(void)ok;
		(void)before;
		memcpy(run_cs, ew.charset, strlen(ew.charset) + 1);
		p = lit = after_word = next;
	}
	flush_run(&run, run_cs, out);
	strbuf_append(out, lit, (size_t)(end - lit));
	strbuf_free(&run);
}

/* Unicode's simple lowercase mapping, from glibc's C.UTF-8 (built in since glibc 2.35); (locale_t)0
 * where there is none, and then only ASCII is lowered. Made when the program loads, before any
 * thread or fork: made lazily, a worker forked while the LMTP committer thread held glibc's
 * locale lock inside newlocale would hang on its first internationalised domain (review). */
static locale_t utf8_locale;

static void __attribute__((constructor))
utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

void
address_lower_domain(char *addr)
{
	char *at = strrchr(addr, '@');
	if (at == NULL)
		return;
	char *w = at + 1;
	bool ascii = true;
	for (char *p = w; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p |= 0x20;
		else if ((unsigned char)*p >= 0x80)
			ascii = false;
	}
	if (ascii)
		return;
	/* An internationalised domain (RFC 6531): lowered letter by letter. A letter whose
	 * lowercase is longer in UTF-8 (U+023A and a few others) stays, as does invalid UTF-8. */
	if (utf8_locale == (locale_t)0)
		return;
	const unsigned char *r = (const unsigned char *)w;
	size_t left = strlen(w);
	while (left > 0) {
		size_t n = codec_utf8_seq(r, left);
		if (n <= 1) {
			*w++ = (char)*r++;
			left--;
			continue;
		}
		uint32_t cp = codec_utf8_cp(r, n);
		uint32_t lc = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		char buf[4];
		size_t m = codec_utf8_put(lc, buf);
		if (m > n || (lc >= 0xd800 && lc <= 0xdfff)) {
			memmove(w, r, n);
			m = n;
		} else
			memcpy(w, buf, m);
		w += m;
		r += n;
		left -= n;
	}
	*w = '\0';
}

/* Characters that may not appear unquoted in an address we hand out. */
static bool
addr_stop(unsigned char c)
{
	return c <= ' ' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
	       c == ':' || c == '"' || c == '[' || c == ']' || c == '\\' || c == 127;
}

/* A NUL (or the guard's mark for one) binds the word it is in and spoils it: without this, the
 * word scan split "joe<NUL>evil@example.com" and found evil@example.com. */
static bool
nul_byte(char c)
{
	return c == '\0' || c == MIME_NUL_MARK;
}

/* Where the word scan ends a word: addr_stop, except at a NUL, which stays in the word. */
static bool
word_stop(char c)
{
	return addr_stop((unsigned char)c) && !nul_byte(c);
}

/* Checks and copies one candidate local@domain from [p, e). */
static bool
plausible(const char *p, const char *e, struct strbuf *out)
{
	for (const char *c = p; c < e; c++)
		if (nul_byte(*c))
			return false;
	while (p < e && (is_wsp(*p) || *p == '\'' ))
		p++;
	while (e > p && (is_wsp(e[-1]) || e[-1] == '\'' || e[-1] == '.'))
		e--;
	size_t n = (size_t)(e - p);
	if (n < 3 || n > LIMIT_ADDRESS_BYTES)
		return false;
	const char *at = NULL;
	bool quoted = *p == '"';
	const char *d = p;
	if (quoted) {
		for (d = p + 1; d < e && *d != '"'; d++)
			if (*d == '\\')
				d++;
		if (d >= e || d + 1 >= e || d[1] != '@')
			return false;
		at = d + 1;
	} else {
		at = memchr(p, '@', n);
		if (at == NULL || at == p)
			return false;
		for (const char *c = p; c < at; c++)
			if (addr_stop((unsigned char)*c) || *c == '@')
				return false;
		if (*p == '.' || at[-1] == '.')
			return false;
	}
	const char *dom = at + 1;
	if (dom >= e)
		return false;
	bool dot = false;
	if (*dom == '[') {
		if (e[-1] != ']')
			return false;
		dot = true;
	} else {
		for (const char *c = dom; c < e; c++) {
			unsigned char ch = (unsigned char)*c;
			if (ch == '.') {
				if (c == dom || c[-1] == '.')
					return false;
				dot = true;
			} else if (!(ch >= 0x80 || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
				     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
				return false;
			}
		}
	}
	if (!dot && strncasecmp(dom, "localhost", (size_t)(e - dom)) != 0)
		return false;
	if (!codec_utf8_valid(p, n))
		return false;
	strbuf_reset(out);
	strbuf_append(out, p, n);
	address_lower_domain(out->s);
	out->len = strlen(out->s);	/* a lowercase letter may be shorter in UTF-8 */
	return true;
}

bool
address_extract(const char *p, size_t len, struct strbuf *out)
{
	struct strbuf clean = STRBUF_INIT, res = STRBUF_INIT;
	const char *end = p + len;
	bool ok = false;

	/* An address type prefix: "rfc822;", "utf-8;", "x400;"... */
	const char *semi = memchr(p, ';', len);
	if (semi != NULL) {
		const char *t = p;
		while (t < semi && is_wsp(*t))
			t++;
		const char *te = t;
		while (te < semi && (((*te | 0x20) >= 'a' && (*te | 0x20) <= 'z') ||
		       (*te >= '0' && *te <= '9') || *te == '-'))
			te++;
		while (te < semi && is_wsp(*te))
			te++;
		if (te == semi && te > t)
			p = semi + 1;
	}
	/* Drop comments outside quotes; keep quoted strings as they are. */
	bool inq = false;
	int level = 0;
	for (const char *c = p; c < end; c++) {
		if (level == 0 && *c == '"' && (c == p || c[-1] != '\\'))
			inq = !inq;
		if (!inq && *c == '(') {
			level++;
			continue;
		}
		if (!inq && level > 0) {
			if (*c == ')')
				level--;
			else if (*c == '\\' && c + 1 < end)
				c++;
			continue;
		}
		strbuf_putc(&clean, *c);
	}
	if (clean.s == NULL)
		goto done;

	const char *s = clean.s, *se = clean.s + clean.len;
	/* An angle-bracketed address wins: "Joe <joe@example.com>". */
	const char *lt = NULL;
	inq = false;
	for (const char *c = s; c < se; c++) {
		if (*c == '"' && (c == s || c[-1] != '\\'))
			inq = !inq;
		if (!inq && *c == '<') {
			lt = c;
			break;
		}
	}
	if (lt != NULL) {
		const char *gt = memchr(lt, '>', (size_t)(se - lt));
		const char *a = lt + 1, *b = gt ? gt : se;
		while (a < b && *a == '<')
			a++;
		/* Source route "<@relay:joe@example.com>". */
		if (a < b && *a == '@') {
			const char *colon = memchr(a, ':', (size_t)(b - a));
			if (colon)
				a = colon + 1;
		}
		ok = plausible(a, b, &res);
		goto done;
	}
	/* The whole (trimmed) text, possibly quoted as a whole: "'joe@example.com'". */
	while (s < se && (is_wsp(*s) || *s == '\r' || *s == '\n'))
		s++;
	while (se > s && (is_wsp(se[-1]) || se[-1] == '\r' || se[-1] == '\n'))
		se--;
	if (se - s >= 2 && *s == '"' && se[-1] == '"' && memchr(s + 1, '"', (size_t)(se - s - 2)) == NULL) {
		s++;
		se--;
	}
	if (plausible(s, se, &res)) {
		ok = true;
		goto done;
	}
	/* Else the first word that looks like an address: "joe@example.com is unknown". */
	for (const char *c = s; c < se;) {
		while (c < se && (word_stop(*c) && *c != '"'))
			c++;
		const char *w = c;
		if (c < se && *c == '"') {
			for (c++; c < se && *c != '"'; c++)
				if (*c == '\\')
					c++;
			c++;
		}
		while (c < se && !word_stop(*c))
			c++;
		if (c > w && plausible(w, c > se ? se : c, &res)) {
			ok = true;
			break;
		}
	}
done:
	if (ok)
		strbuf_append(out, res.s, res.len);
	strbuf_free(&clean);
	strbuf_free(&res);
	return ok;
}
