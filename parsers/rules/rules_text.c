/* Text helpers of the rule engine: header values, HTML reduced to text, addresses and
 * diagnostics as rules capture them. Pure. */
#include "rules_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"
#include "limits.h"
#include "strbuf.h"

/* Lines of text after a recipient that are read as its diagnostic when the rule captured none. */
#define EXTRACT_DIAG_LINES	6

/* Appends each unfolded, RFC 2047-decoded value of the field called name in a header block to
 * out, one per line. */
void
rules_text_field_values(const char *block, size_t len, const char *name, struct strbuf *out)
{
	struct strbuf val = STRBUF_INIT;
	size_t nlen = strlen(name);
	int first = tolower((unsigned char)name[0]);
	const char *p = block, *end = block + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		if ((size_t)(le - p) > nlen && tolower((unsigned char)*p) == first &&
		    strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			strbuf_reset(&val);
			strbuf_append(&val, p + nlen + 1, (size_t)(le - p - nlen - 1));
			while (nl != NULL && nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t') &&
			    val.len <= LIMIT_FIELD_BYTES) {
				p = nl + 1;
				nl = memchr(p, '\n', (size_t)(end - p));
				le = nl != NULL ? nl : end;
				strbuf_putc(&val, ' ');
				strbuf_append(&val, p, (size_t)(le - p));
			}
			size_t skip = 0;
			while (skip < val.len && (val.s[skip] == ' ' || val.s[skip] == '\t'))
				skip++;
			header_decode_2047(val.s + skip, val.len - skip, out);
			strbuf_putc(out, '\n');
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	strbuf_free(&val);
}

/* HTML reports: tags dropped, block ends made line breaks, a few entities decoded. */
void
rules_text_html(struct strbuf *out, const char *p, size_t len)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&nbsp;", ' ' }, { "&quot;", '"' },
	};
	const char *end = p + len;
	while (p < end) {
		if (*p == '<' && (size_t)(end - p) > 7 && (strncasecmp(p, "<style", 6) == 0 ||
		    strncasecmp(p, "<script", 7) == 0)) {
			const char *q = strcasestr(p + 1, strncasecmp(p, "<style", 6) == 0 ? "</style" : "</script");
			p = q != NULL && q < end ? q + 2 : end;
			continue;
		}
		if (*p == '<') {
			const char *q = memchr(p, '>', (size_t)(end - p));
			if (q == NULL)
				break;
			if ((q - p >= 3 && (strncasecmp(p, "<br", 3) == 0 || strncasecmp(p, "<p", 2) == 0 ||
			    strncasecmp(p, "</p", 3) == 0 || strncasecmp(p, "</tr", 4) == 0 ||
			    strncasecmp(p, "</div", 5) == 0 || strncasecmp(p, "</li", 4) == 0)))
				strbuf_putc(out, '\n');
			p = q + 1;
			continue;
		}
		bool done = false;
		if (*p == '&')
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				size_t el = strlen(ents[i].ent);
				if ((size_t)(end - p) >= el && strncasecmp(p, ents[i].ent, el) == 0) {
					strbuf_putc(out, ents[i].c);
					p += el;
					done = true;
					break;
				}
			}
		if (!done) {
			/* a run of plain text up to the next tag or entity, in one append */
			const char *q = p + 1;
			while (q < end && *q != '<' && *q != '&')
				q++;
			strbuf_append(out, p, (size_t)(q - p));
			p = q;
		}
	}
}

/* addr as a rule captured it: brackets, quotes and trailing punctuation dropped, the domain
 * lowercased. False when it is not a plausible local@domain. */
bool
rules_text_address(const char *p, size_t len, struct strbuf *out)
{
	while (len > 0 && strchr("<\"'([ \t", *p) != NULL)
		p++, len--;
	while (len > 0 && strchr(">\"')]:;,. \t", p[len - 1]) != NULL)
		len--;
	if (len > 7 && strncasecmp(p, "mailto:", 7) == 0)
		p += 7, len -= 7;
	if (len == 0 || len > LIMIT_ADDRESS_BYTES)
		return false;
	const char *at = NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == '(' || c == ')')
			return false;
		if (c == '@')
			at = p + i;
	}
	if (at == NULL || at == p || at == p + len - 1)
		return false;
	strbuf_reset(out);
	strbuf_append(out, p, len);
	for (char *d = out->s + (at - p) + 1; *d != '\0'; d++)
		if (*d >= 'A' && *d <= 'Z')
			*d = (char)(*d - 'A' + 'a');
	return true;
}

/* Longest diagnostic type ("smtp", "x-postfix", "x-unix") taken off the front of a diagnostic
 * a rule captured, as the DSN reader does for Diagnostic-Code. */
#define RULES_DIAG_TYPE_MAX	16

/* Diagnostic text: leading separators (": ", "; ") and a diagnostic type ("smtp; ") dropped,
 * white space runs collapsed, trimmed, at most LIMIT_DIAGNOSTIC_BYTES. Written into one
 * allocation: the result is never longer than the input. */
char *
rules_text_diag(const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':' ||
	    *p == ';' || *p == ','))
		p++, len--;
	size_t t = 0;
	while (t < len && t <= RULES_DIAG_TYPE_MAX && (isalnum((unsigned char)p[t]) || p[t] == '-'))
		t++;
	if (t > 0 && t < len && t <= RULES_DIAG_TYPE_MAX && p[t] == ';' &&
	    ((t == 4 && strncasecmp(p, "smtp", 4) == 0) || (t > 2 && strncasecmp(p, "x-", 2) == 0))) {
		p += t + 1, len -= t + 1;
		while (len > 0 && (*p == ' ' || *p == '\t'))
			p++, len--;
	}
	char *out = xmalloc((len < LIMIT_DIAGNOSTIC_BYTES ? len : LIMIT_DIAGNOSTIC_BYTES) + 1);
	size_t n = 0;
	bool space = false, cut = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (n >= LIMIT_DIAGNOSTIC_BYTES - 4) {
			cut = true;
			break;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = n > 0;
			continue;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		out[n++] = (char)c;
	}
	/* Do not end inside a UTF-8 sequence after the cut. */
	if (cut) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0x80) != 0)
			n--;
	}
	if (n == 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

/* The lines after a recipient up to a blank line: its diagnostic when the rule captured none. */
/* Start of the line that holds s[i]. */
static size_t
line_start(const char *s, size_t i)
{
	while (i > 0 && s[i - 1] != '\n')
		i--;
	return i;
}

/* Shortest run of one punctuation character that makes a line a separator. */
#define TEXT_SEPARATOR_MIN	5

/* Is the line starting at s[i] a separator ("_____", "*****", "=====", "-----" alone)? What
 * follows one is another text: a provider's footer, a disclaimer, the returned message. */
static bool
separator_line(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len || strchr("_*=-~", s[i]) == NULL)
		return false;
	char c = s[i];
	size_t n = 0;
	while (i < len && s[i] == c)
		i++, n++;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return n >= TEXT_SEPARATOR_MIN && (i >= len || s[i] == '\n');
}

char *
rules_text_paragraph_after(const char *s, size_t len, size_t from)
{
	const char *p = s + from, *end = s + len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (nl != NULL && nl - p < 3)	/* rest of the recipient line is empty: start below it */
		p = nl + 1;
	while (p < end && *p == '\n')
		p++;
	const char *q = p;
	for (int n = 0; n < EXTRACT_DIAG_LINES && q < end; n++) {
		nl = memchr(q, '\n', (size_t)(end - q));
		if (nl == NULL) {
			q = end;
			break;
		}
		q = nl + 1;
		if (q < end && (*q == '\n' || separator_line(s, len, (size_t)(q - s))))
			break;
	}
	return rules_text_diag(p, (size_t)(q - p));
}

/* Start and end of the paragraph around s[pos]: it ends at a blank line or a separator line. */
static size_t
para_start(const char *s, size_t len, size_t a)
{
	while (a > 0 && !(s[a - 1] == '\n' && (a == 1 || s[a - 2] == '\n' ||
	    separator_line(s, len, line_start(s, a - 2)))))
		a--;
	return a;
}

static size_t
para_end(const char *s, size_t len, size_t b)
{
	while (b < len && !(s[b] == '\n' && b + 1 < len && (s[b + 1] == '\n' ||
	    separator_line(s, len, b + 1))))
		b++;
	return b;
}

/* The paragraph (between blank lines or separator lines) around s[pos]: for reports that
 * explain above or below the address. With extend, the paragraphs before and after it as
 * well. */
char *
rules_text_paragraph_around(const char *s, size_t len, size_t pos, bool extend)
{
	size_t a = para_start(s, len, pos), b = para_end(s, len, pos);
	if (extend) {
		/* the paragraphs before and after, unless a separator line stands between */
		size_t e = a;
		while (e > 0 && s[e - 1] == '\n')
			e--;
		if (e > 0 && e < a && !separator_line(s, len, line_start(s, e - 1)))
			a = para_start(s, len, e - 1);
		size_t f = b;
		while (f < len && s[f] == '\n')
			f++;
		if (f < len && f > b && !separator_line(s, len, f))
			b = para_end(s, len, f);
	}
	return rules_text_diag(s + a, b - a);
}

/* Is diag nothing but an address (with brackets and punctuation)? */
bool
rules_text_only_address(const char *diag, const char *addr)
{
	const char *p = strcasestr(diag, addr);
	if (p == NULL)
		return false;
	const char *pe = p + strlen(addr);
	for (const char *q = diag; *q != '\0'; q++)
		if ((q < p || q >= pe) && strchr("<>:;,. \"'", *q) == NULL)
			return false;
	return true;
}

/* Is name in the comma-separated list? */
bool
rules_text_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
		if (l == n && strncmp(p, name, n) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

/* How far past an address "(expanded from <X>)" is looked for: a closing bracket, a colon and
 * a blank (Postfix), or the line end and the indentation of the next line (Sendmail). */
#define TEXT_EXPANDED_GAP	12

bool
rules_text_expanded_from(const char *p, size_t len, struct strbuf *out)
{
	size_t i = 0;
	bool nl = false;
	while (i < len && i < TEXT_EXPANDED_GAP && strchr(">\"': \t\n", p[i]) != NULL) {
		if (p[i] == '\n' && nl)
			return false;	/* a blank line: another paragraph */
		nl = nl || p[i] == '\n';
		i++;
	}
	static const char tag[] = "(expanded from";
	if (len - i < sizeof tag - 1 || strncasecmp(p + i, tag, sizeof tag - 1) != 0)
		return false;
	i += sizeof tag - 1;
	size_t a = i;
	while (i < len && p[i] != ')' && p[i] != '\n' && i - a <= LIMIT_ADDRESS_BYTES + 4)
		i++;
	if (i >= len || p[i] != ')')
		return false;
	while (a < i && (p[a] == ':' || p[a] == ' ' || p[a] == '\t'))
		a++;
	return rules_text_address(p + a, i - a, out);
}

bool
rules_text_local_part(const char *p, size_t len, size_t *len_r)
{
	while (len > 0 && (p[len - 1] == '.' || p[len - 1] == ',' || p[len - 1] == ':'))
		len--;
	if (len == 0 || len > LIMIT_ADDRESS_BYTES / 2)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || strchr("<>()[]\\,;:@\"", p[i]) != NULL)
			return false;
	*len_r = len;
	return true;
}
