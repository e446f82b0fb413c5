/* Transfer decodings, charset conversion and Content-Type parsing for the MIME layer.
 * Our own base64/QP decoders (not libetpan's) because we must know when the input was damaged,
 * and because libetpan's decoded parts go through a global, mutex-protected registry. */
#include "codec.h"
#include "limits.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* iconv descriptors kept open per thread: opening one costs more than converting a bounce. */
#define CODEC_ICONV_CACHE 8

static const signed char b64[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
	['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
	['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
	/* 0: invalid; -1: skipped white space; -2: padding */
	[' '] = -1, ['\t'] = -1, ['\r'] = -1, ['\n'] = -1, ['='] = -2,
};

/* Reserves room in out for the n bytes of src (a decoder's output is never longer than its
 * input) and returns where to write; the caller sets out->len. strbuf has no reserve call:
 * appending the input grows it once, then the length is taken back. */
static char *
reserve(struct strbuf *out, const char *src, size_t n)
{
	size_t base = out->len;
	strbuf_append(out, src, n);
	out->len = base;
	return out->s + base;
}

bool
codec_base64(const char *p, size_t len, struct strbuf *out)
{
	char *o = reserve(out, p, len), *w = o;
	unsigned int acc = 0, have = 0;
	bool ok = true;

	for (size_t i = 0; i < len; i++) {
		int v = b64[(unsigned char)p[i]];
		if (v > 0) {
			acc = (acc << 6) | (unsigned int)(v - 1);
			if (++have == 4) {
				*w++ = (char)(acc >> 16);
				*w++ = (char)(acc >> 8);
				*w++ = (char)acc;
				acc = 0;
				have = 0;
			}
		} else if (v == -2) {
			/* Padding ends a quantum; concatenated base64 may follow. */
			if (have == 2) {
				*w++ = (char)(acc >> 4);
			} else if (have == 3) {
				*w++ = (char)(acc >> 10);
				*w++ = (char)(acc >> 2);
			} else if (have == 1) {
				ok = false;
			}
			acc = 0;
			have = 0;
		} else if (v == 0) {
			ok = false;
		}
	}
	if (have == 2) {
		*w++ = (char)(acc >> 4);
	} else if (have == 3) {
		*w++ = (char)(acc >> 10);
		*w++ = (char)(acc >> 2);
	}
	if (have != 0)
		ok = false;	/* unpadded or dangling tail */
	out->len += (size_t)(w - o);
	out->s[out->len] = '\0';
	return ok;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
codec_qp(const char *p, size_t len, bool q_word, struct strbuf *out)
{
	char *o = reserve(out, p, len), *w = o;
	bool ok = true;
	size_t i = 0;

	while (i < len) {
		const char *eq = memchr(p + i, '=', len - i);
		size_t run = eq ? (size_t)(eq - p) - i : len - i;
		if (q_word) {
			for (size_t k = 0; k < run; k++)
				w[k] = p[i + k] == '_' ? ' ' : p[i + k];
		} else {
			memcpy(w, p + i, run);
		}
		w += run;
		i += run;
		if (i >= len)
			break;
		/* Soft line break: '=' then optional white space then a line end. */
		size_t j = i + 1;
		while (j < len && (p[j] == ' ' || p[j] == '\t'))
			j++;
		if (j < len && (p[j] == '\r' || p[j] == '\n')) {
			if (p[j] == '\r' && j + 1 < len && p[j + 1] == '\n')
				j++;
			i = j + 1;
			continue;
		}
		if (j == len && !q_word) {
			i = len;	/* a trailing '=' is a soft break at the end */
			continue;
		}
		int hi = i + 1 < len ? hexval((unsigned char)p[i + 1]) : -1;
		int lo = i + 2 < len ? hexval((unsigned char)p[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			ok = false;
			*w++ = '=';
			i++;
			continue;
		}
		*w++ = (char)(hi << 4 | lo);
		i += 3;
	}
	out->len += (size_t)(w - o);
	out->s[out->len] = '\0';
	return ok;
}

size_t
codec_utf8_seq(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;	/* the second byte's range (RFC 3629 table) */
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;	/* overlong */
		else if (c == 0xED)
			hi = 0x9F;	/* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;	/* overlong */
		else if (c == 0xF4)
			hi = 0x8F;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

uint32_t
codec_utf8_cp(const unsigned char *p, size_t n)
{
	switch (n) {
	case 1:
		return p[0];
	case 2:
		return (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
	case 3:
		return (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	default:
		return (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 |
		    (p[3] & 0x3fu);
	}
}

size_t
codec_utf8_put(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool
codec_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		/* ASCII fast path, 8 bytes at a time. */
		while (end - p >= 8) {
			unsigned long long w;
			memcpy(&w, p, 8);
			if (w & 0x8080808080808080ULL)
				break;
			p += 8;
		}
		if (p >= end)
			break;
		if (*p < 0x80) {
			p++;	/* NUL included */
			continue;
		}
		size_t n = codec_utf8_seq(p, (size_t)(end - p));
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

bool
codec_charset_is_utf8(const char *cs)
{
	static const char *const names[] = {
		"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso-646-us", "us",
		"csascii", "646", "iso646-us", "x-unknown", "unknown", "default",
	};
	if (cs == NULL || *cs == '\0')
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(cs, names[i]) == 0)
			return true;
	return false;
}

/* Labels seen in mail that iconv does not know, mapped to what they mean in practice. */
static const char *
charset_alias(const char *cs)
{
	static const struct { const char *label, *iconv; } aliases[] = {
		{ "ks_c_5601-1987", "CP949" },
		{ "ks_c_5601", "CP949" },
		{ "x-sjis", "CP932" },
		{ "shift-jis", "CP932" },
		{ "shift_jis", "CP932" },
		{ "sjis", "CP932" },
		{ "gb2312", "GB18030" },
		{ "x-gbk", "GB18030" },
		{ "gbk", "GB18030" },
		{ "iso-8859-8-i", "ISO-8859-8" },
		{ "unicode-1-1-utf-7", "UTF-7" },
		{ "x-mac-roman", "MACINTOSH" },
		{ "windows-874", "CP874" },
		{ "big5-hkscs", "BIG5-HKSCS" },
	};
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strcmp(cs, aliases[i].label) == 0)
			return aliases[i].iconv;
	return cs;
}

struct iconv_slot {
	char name[CODEC_CHARSET_MAX];
	iconv_t cd;
	bool bad;	/* iconv does not know it */
};
static _Thread_local struct iconv_slot cache[CODEC_ICONV_CACHE];
static _Thread_local unsigned int cache_next;
static _Thread_local unsigned int opens_left = LIMIT_CHARSET_OPENS;

void
codec_new_message(void)
{
	opens_left = LIMIT_CHARSET_OPENS;
}

static iconv_t
iconv_for(const char *cs)
{
	for (size_t i = 0; i < CODEC_ICONV_CACHE; i++) {
		if (cache[i].name[0] != '\0' && strcmp(cache[i].name, cs) == 0) {
			if (cache[i].bad)
				return (iconv_t)-1;
			iconv(cache[i].cd, NULL, NULL, NULL, NULL);	/* reset shift state */
			return cache[i].cd;
		}
	}
	if (opens_left == 0)
		return (iconv_t)-1;	/* over LIMIT_CHARSET_OPENS: kept as is, marked bad */
	opens_left--;
	struct iconv_slot *s = &cache[cache_next++ % CODEC_ICONV_CACHE];
	if (s->name[0] != '\0' && !s->bad)
		iconv_close(s->cd);
	memcpy(s->name, cs, strlen(cs) + 1);
	s->cd = iconv_open("UTF-8", charset_alias(cs));
	s->bad = s->cd == (iconv_t)-1;
	return s->cd;
}

/* Converts with cd, appending to out; invalid sequences become U+FFFD (returns false). */
static bool
iconv_into(iconv_t cd, const char *p, size_t len, struct strbuf *out)
{
	bool ok = true;
	char *in = (char *)p;
	size_t inleft = len;
	char buf[4096];
	while (inleft > 0) {
		char *o = buf;
		size_t oleft = sizeof buf;
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		int err = errno;
		strbuf_append(out, buf, (size_t)(o - buf));
		if (r != (size_t)-1)
			break;
		if (err == E2BIG)
			continue;
		ok = false;
		strbuf_append(out, "\xef\xbf\xbd", 3);	/* U+FFFD */
		if (err != EILSEQ)
			break;	/* truncated sequence at the end */
		in++;
		inleft--;
	}
	/* Flush a stateful encoding (ISO-2022-JP) back to its initial state. */
	char *o = buf;
	size_t oleft = sizeof buf;
	if (iconv(cd, NULL, NULL, &o, &oleft) != (size_t)-1)
		strbuf_append(out, buf, (size_t)(o - buf));
	return ok;
}

/* Japanese mail labelled ISO-2022-JP is often EUC-JP or Shift_JIS in fact (mobile carriers). */
static const char *const jp_siblings[] = { "euc-jp", "cp932" };

bool
codec_to_utf8(const char *charset, const char *p, size_t len, struct strbuf *out)
{
	char cs[CODEC_CHARSET_MAX];
	size_t n = 0;

	strbuf_append(out, "", 0);
	if (charset != NULL) {
		/* Lowercase; refuse names that could smuggle iconv suffixes ("//IGNORE"). */
		for (; charset[n] != '\0'; n++) {
			unsigned char c = (unsigned char)charset[n];
			if (n + 1 >= sizeof cs || !(c == '-' || c == '_' || c == '.' || c == ':' ||
			    (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))) {
				strbuf_append(out, p, len);
				return false;
			}
			cs[n] = (char)((c >= 'A' && c <= 'Z') ? c | 0x20 : c);
		}
	}
	cs[n] = '\0';
	if (n == 0 || codec_charset_is_utf8(cs)) {
		strbuf_append(out, p, len);
		return codec_utf8_valid(p, len);
	}
	iconv_t cd = iconv_for(cs);
	if (cd == (iconv_t)-1) {
		strbuf_append(out, p, len);
		return false;
	}
	size_t base = out->len;
	if (iconv_into(cd, p, len, out))
		return true;
	if (strncmp(cs, "iso-2022-jp", 11) == 0 || strcmp(cs, "csiso2022jp") == 0) {
		for (size_t i = 0; i < sizeof jp_siblings / sizeof jp_siblings[0]; i++) {
			iconv_t alt = iconv_for(jp_siblings[i]);
			if (alt == (iconv_t)-1)
				continue;
			struct strbuf tmp = STRBUF_INIT;
			bool ok = iconv_into(alt, p, len, &tmp);
			if (ok) {
				out->len = base;
				strbuf_append(out, tmp.s ? tmp.s : "", tmp.len);
			}
			strbuf_free(&tmp);
			if (ok)
				return true;
		}
	}
	return false;
}

void
codec_lf(const char *p, size_t len, struct strbuf *out)
{
	char *o = reserve(out, p, len), *w = o;
	const char *end = p + len;
	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL) {
			memcpy(w, p, (size_t)(end - p));
			w += end - p;
			break;
		}
		memcpy(w, p, (size_t)(cr - p));
		w += cr - p;
		*w++ = '\n';
		p = cr + 1;
		if (p < end && *p == '\n')
			p++;
	}
	out->len += (size_t)(w - o);
	out->s[out->len] = '\0';
}

const char *
codec_cfws(const char *p, const char *end)
{
	while (p < end) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
		} else if (*p == '(') {
			int level = 0;
			for (; p < end; p++) {
				if (*p == '\\' && p + 1 < end) {
					p++;
				} else if (*p == '(') {
					level++;
				} else if (*p == ')' && --level == 0) {
					p++;
					break;
				}
			}
		} else {
			break;
		}
	}
	return p;
}

static bool
is_token(unsigned char c)
{
	return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *
token_end(const char *p, const char *end)
{
	while (p < end && is_token((unsigned char)*p))
		p++;
	return p;
}

bool
codec_ct_type(const char *v, size_t len, struct strbuf *out)
{
	const char *end = v + len;
	const char *p = codec_cfws(v, end);
	const char *t = p;
	p = token_end(p, end);
	size_t tlen = (size_t)(p - t);
	p = codec_cfws(p, end);
	if (tlen == 0 || p >= end || *p != '/')
		return false;
	p = codec_cfws(p + 1, end);
	const char *s = p;
	p = token_end(p, end);
	if (p == s)
		return false;
	for (size_t i = 0; i < tlen; i++)
		strbuf_putc(out, (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] | 0x20 : t[i]));
	strbuf_putc(out, '/');
	for (; s < p; s++)
		strbuf_putc(out, (char)(*s >= 'A' && *s <= 'Z' ? *s | 0x20 : *s));
	return true;
}

bool
codec_ct_param(const char *v, size_t len, const char *name, struct strbuf *out)
{
	const char *end = v + len;
	const char *p = memchr(v, ';', len);
	size_t nlen = strlen(name);

	while (p != NULL && p < end) {
		p = codec_cfws(p + 1, end);
		const char *n = p;
		p = token_end(p, end);
		size_t this_len = (size_t)(p - n);
		p = codec_cfws(p, end);
		if (p >= end || *p != '=') {
			p = memchr(p, ';', (size_t)(end - p));
			continue;
		}
		p = codec_cfws(p + 1, end);
		bool match = this_len == nlen && strncasecmp(n, name, nlen) == 0;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (match)
					strbuf_putc(out, *p);
			}
			if (match)
				return true;
			p = p < end ? p + 1 : end;
		} else {
			const char *s = p;
			while (p < end && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r' &&
			       *p != '\n')
				p++;
			if (match) {
				strbuf_append(out, s, (size_t)(p - s));
				return true;
			}
		}
		p = memchr(p, ';', (size_t)(end - p));
	}
	return false;
}
