/* The guard in front of libetpan. One linear pass over the message that
 *  - normalizes line endings (LF, CRLF, CR) to CRLF, replaces NUL bytes, cuts overlong lines,
 *    cuts an overlong header block and truncates at LIMIT_PARSE_BYTES;
 *  - follows the MIME structure (header blocks, Content-Type, delimiter lines) to measure
 *    nesting depth and part count, and refuses boundaries libetpan cannot take safely
 *    (libetpan 1.9.4 overflows the heap on boundary="\"");
 *  - canonicalizes that structure for libetpan: every multipart gets a fresh boundary
 *    "_bounced_NNNNNN" and the guard writes the delimiter lines itself. libetpan's own delimiter
 *    search skips close delimiters, matches prefixes and lets a part reusing its parent's
 *    boundary steal the parent's delimiters; with unique, guard-written delimiters it can only
 *    see the structure the guard measured, so the limits the guard checked are the limits
 *    libetpan meets. Header blocks that end at a delimiter get their blank line, multiparts
 *    left open (truncated mail) get their close delimiter, and a multipart without parts gets one
 *    part holding its preamble (libetpan invents one with a negative length otherwise). After
 *    a delimiter libetpan skips blank and white-space lines before the part's header fields:
 *    so does the guard, or a Content-Type there would reach libetpan unchecked.
 * Lines in the body that happen to start with "--_bounced_" get a leading space. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "guard.h"
#include "limits.h"
#include "mime.h"
#include "report.h"
#include "strbuf.h"

#define GUARD_BOUNDARY_PREFIX "_bounced_"
/* Fixed width, so that no rewritten boundary is a prefix of another. */
#define GUARD_BOUNDARY_FMT GUARD_BOUNDARY_PREFIX "%06u"
#define GUARD_BOUNDARY_LEN (sizeof GUARD_BOUNDARY_PREFIX - 1 + 6)
/* Ids are given while the part count is within LIMIT_MIME_PARTS: six digits always suffice. */
_Static_assert(LIMIT_MIME_PARTS < 100000, "rewritten boundaries must keep a fixed width");
/* What follows the delimiter of the one part the guard gives a multipart without parts. */
#define GUARD_EMPTY_PART_HEADER "\r\nContent-Type: text/plain\r\n\r\n"
/* Longest name of a Content-Type parameter on a line of its own ("boundary=", "charset=" are
 * short): a longer token before '=' is taken for text, not for a parameter to refold. */
#define GUARD_PARAM_NAME_MAX	64
/* Open multiparts tracked: one per nesting level, and the guard stops at LIMIT_MIME_DEPTH. */
#define GUARD_STACK (LIMIT_MIME_DEPTH + 2)

enum guard_state { G_HEADER, G_BODY };

struct level {
	char orig[LIMIT_BOUNDARY_BYTES];	/* boundary as declared */
	size_t orig_len;
	unsigned int id;			/* rewritten boundary number */
	int child_depth;			/* depth of its parts */
	size_t body_start;			/* offset in o where its preamble starts */
	int nparts;
	bool digest;				/* parts default to message/rfc822 */
};

struct guard {
	char *o;
	size_t olen, ocap;
	unsigned int flags;
	bool tracking;		/* still following the structure (false once unsafe) */
	bool safe;

	enum guard_state state;
	bool dropping;		/* header block over LIMIT_HEADER_BYTES: dropping its lines */
	size_t hdr_bytes;
	int cur_depth;		/* depth of the part whose header block is being read */
	int nparts;
	unsigned int next_id;
	struct level stack[GUARD_STACK];
	int nstack;

	/* The header block being read. */
	bool fresh;		/* a part just started: libetpan skips blank and white-space lines */
	bool any_line;		/* the block has a line */
	bool emb_block;		/* it is an embedded message's header block, from emb_start */
	size_t emb_start;
	struct guard_block *blocks;	/* where to record those (may be NULL) */
	size_t nblocks;
	bool first_field;	/* its first line is a header field (else libetpan reads body text) */
	bool parent_digest;
	bool in_ct;		/* a Content-Type field is pending (it may be folded) */
	size_t ct_start;	/* its offset in o */
	int n_ct;
	bool ct_structural;	/* a Content-Type field named multipart or message/rfc822 */
	bool ct_multi, ct_message;
	bool ct_digest;
	char ct_bound[LIMIT_BOUNDARY_BYTES];
	size_t ct_bound_len;
	unsigned int ct_id;
	bool cte_encoded, cte_other;
};

static void
out_reserve(struct guard *g, size_t more)
{
	if (g->ocap - g->olen >= more)
		return;
	size_t cap = g->ocap * 2;
	if (cap < g->olen + more)
		cap = g->olen + more + 4096;
	g->o = xrealloc(g->o, cap);
	g->ocap = cap;
}

static void
out_put(struct guard *g, const char *p, size_t n)
{
	out_reserve(g, n);
	memcpy(g->o + g->olen, p, n);
	g->olen += n;
}

static void
unsafe(struct guard *g, unsigned int flag)
{
	g->flags |= flag;
	g->safe = false;
	g->tracking = false;
}

/* Each id is taken by a Content-Type field with a boundary parameter ("Content-Type:" and
 * ";boundary=x" alone are 24 bytes) within LIMIT_PARSE_BYTES: ids stay below 1000000. */
_Static_assert(LIMIT_PARSE_BYTES / 24 < 1000000, "boundary ids must fit six digits");

/* GUARD_BOUNDARY_FMT without snprintf, which was a tenth of the guard's time: "_bounced_"
 * and id in six digits into b. */
static void
boundary_name(char b[GUARD_BOUNDARY_LEN], unsigned int id)
{
	memcpy(b, GUARD_BOUNDARY_PREFIX, sizeof GUARD_BOUNDARY_PREFIX - 1);
	for (size_t i = GUARD_BOUNDARY_LEN; i-- > sizeof GUARD_BOUNDARY_PREFIX - 1; id /= 10)
		b[i] = (char)('0' + id % 10);
}

static void
put_boundary(struct guard *g, unsigned int id, bool close)
{
	char b[2 + GUARD_BOUNDARY_LEN + 4] = "--";
	size_t n = 2;
	boundary_name(b + n, id);
	n += GUARD_BOUNDARY_LEN;
	if (close) {
		memcpy(b + n, "--", 2);
		n += 2;
	}
	memcpy(b + n, "\r\n", 2);
	out_put(g, b, n + 2);
}

static void
header_block_start(struct guard *g, int depth, bool parent_digest)
{
	g->state = G_HEADER;
	g->fresh = false;
	g->any_line = false;
	g->first_field = false;
	g->emb_block = false;
	g->dropping = false;
	g->hdr_bytes = 0;
	g->cur_depth = depth;
	g->parent_digest = parent_digest;
	g->in_ct = false;
	g->n_ct = 0;
	g->ct_structural = g->ct_multi = g->ct_message = g->ct_digest = false;
	g->ct_bound_len = 0;
	g->cte_encoded = g->cte_other = false;
}

/* A new part at depth: counts it against the limits. */
static bool
new_part(struct guard *g, int depth)
{
	if (++g->nparts > (int)LIMIT_MIME_PARTS) {
		unsafe(g, BOUNCE_F_TOO_MANY_PARTS);
		return false;
	}
	if (depth > LIMIT_MIME_DEPTH) {
		unsafe(g, BOUNCE_F_TOO_DEEP);
		return false;
	}
	return true;
}

static bool
bad_boundary(const char *b, size_t n)
{
	if (n == 0 || n > LIMIT_BOUNDARY_BYTES)
		return true;
	for (size_t i = 0; i < n; i++)
		if (b[i] == '"' || b[i] == '\\' || b[i] == '\r' || b[i] == '\n')
			return true;
	return false;
}

static bool
ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

static bool
tok_char(unsigned char c)
{
	if (c <= ' ' || c >= 127)
		return false;
	switch (c) {	/* the tspecials, as a switch: called for every byte of a MIME field */
	case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':': case '\\':
	case '"': case '/': case '[': case ']': case '?': case '=':
		return false;
	default:
		return true;
	}
}

static bool
contains_ci(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	for (size_t i = 0; i + l <= n; i++)
		if (strncasecmp(p + i, lit, l) == 0)
			return true;
	return false;
}

/* The Content-Type field at o[ct_start, olen) is complete: read type and boundary, check the
 * boundary, rewrite it. Folded lines are part of the region. */
static void
finish_ct(struct guard *g)
{
	g->in_ct = false;
	if (!g->tracking)
		return;
	char *f = g->o + g->ct_start;
	size_t flen = g->olen - g->ct_start;
	const char *end = f + flen;

	if (flen > LIMIT_FIELD_BYTES) {
		unsafe(g, BOUNCE_F_BAD_BOUNDARY);	/* cannot vouch for what it declares */
		return;
	}
	/* libetpan decodes RFC 2047 words in the whole field before parsing it, so an encoded word
	 * (in a name= value, even quoted) can turn into "; boundary=..." or into the type itself.
	 * Defuse them ("=?" becomes "=_"): libetpan and the guard then read the same text. */
	for (size_t i = 0; i + 1 < flen; i++)
		if (f[i] == '=' && f[i + 1] == '?')
			f[i + 1] = '_';
	const char *p = f + strlen("content-type");
	p = codec_cfws(p, end);
	const char *t = NULL, *te = NULL, *s = NULL, *se = NULL;
	if (p < end && *p == ':') {
		p = codec_cfws(p + 1, end);
		t = p;
		while (p < end && tok_char((unsigned char)*p))
			p++;
		te = p;
		p = codec_cfws(p, end);
		if (p < end && *p == '/') {
			p = codec_cfws(p + 1, end);
			s = p;
			while (p < end && tok_char((unsigned char)*p))
				p++;
			se = p;
		}
	}
	if (s == NULL || s == se || t == te) {
		/* libetpan may read more into it than we can: never let a multipart through. */
		if (contains_ci(f, flen, "multipart") || contains_ci(f, flen, "boundary"))
			unsafe(g, BOUNCE_F_BAD_BOUNDARY);
		return;
	}
	bool multi = ieq(t, (size_t)(te - t), "multipart");
	bool message = ieq(t, (size_t)(te - t), "message") && ieq(s, (size_t)(se - s), "rfc822");
	g->n_ct++;
	if ((multi || message) && g->n_ct > 1) {
		unsafe(g, BOUNCE_F_MIME_ERROR);	/* which one libetpan picks is not ours to guess */
		return;
	}
	if (g->ct_structural && g->n_ct > 1) {
		unsafe(g, BOUNCE_F_MIME_ERROR);
		return;
	}
	g->ct_structural = multi || message;
	g->ct_multi = multi;
	g->ct_message = message;
	g->ct_digest = multi && ieq(s, (size_t)(se - s), "digest");

	/* Parameters; boundary value spans are replaced when the type is multipart. */
	struct { size_t from, to; } spans[8];
	size_t nspans = 0;
	bool found = false;
	while (p < end) {
		if (*p != ';') {
			p = memchr(p, ';', (size_t)(end - p));
			if (p == NULL)
				break;
		}
		p = codec_cfws(p + 1, end);
		const char *n = p;
		while (p < end && tok_char((unsigned char)*p))
			p++;
		const char *ne = p;
		p = codec_cfws(p, end);
		if (p >= end || *p != '=')
			continue;
		p = codec_cfws(p + 1, end);
		const char *v = p, *ve;
		char val[LIMIT_BOUNDARY_BYTES + 1];
		size_t vlen = 0;
		bool bad = false;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\')
					bad = true;
				if (vlen < sizeof val)
					val[vlen++] = *p;
				else
					bad = true;
			}
			if (p >= end)
				bad = true;	/* unterminated */
			else
				p++;
		} else {
			/* Wider than a token (8-bit too): the span rewritten covers what libetpan reads. */
			while (p < end && (unsigned char)*p > ' ' && *p != ';' && *p != '(' && *p != 127) {
				if (vlen < sizeof val)
					val[vlen++] = *p;
				else
					bad = true;
				p++;
			}
		}
		ve = p;
		if (!ieq(n, (size_t)(ne - n), "boundary"))
			continue;
		if (bad || bad_boundary(val, vlen)) {
			unsafe(g, BOUNCE_F_BAD_BOUNDARY);
			return;
		}
		if (!multi)
			continue;
		if (!found) {
			memcpy(g->ct_bound, val, vlen);
			g->ct_bound_len = vlen;
			found = true;
		}
		if (nspans == sizeof spans / sizeof spans[0]) {
			unsafe(g, BOUNCE_F_BAD_BOUNDARY);
			return;
		}
		spans[nspans].from = (size_t)(v - f);
		spans[nspans].to = (size_t)(ve - f);
		nspans++;
	}
	if (multi && !found) {
		g->ct_multi = false;	/* libetpan reads a multipart without boundary as one part */
		if (contains_ci(f, flen, "boundary"))
			unsafe(g, BOUNCE_F_BAD_BOUNDARY);
		return;
	}
	if (nspans == 0)
		return;

	/* Rewrite: the field is the last thing written, so rebuild it in place. */
	char nb[GUARD_BOUNDARY_LEN];
	size_t nbl = sizeof nb;
	boundary_name(nb, g->next_id);
	g->ct_id = g->next_id++;
	char *copy = xmalloc(flen);
	memcpy(copy, f, flen);
	g->olen = g->ct_start;
	size_t at = 0;
	for (size_t i = 0; i < nspans; i++) {
		out_put(g, copy + at, spans[i].from - at);
		out_put(g, nb, (size_t)nbl);
		at = spans[i].to;
	}
	out_put(g, copy + at, flen - at);
	free(copy);
}

/* "Name:" at the start of a line. */
static bool
field_line(const char *l, size_t n)
{
	size_t i = 0;
	while (i < n && (unsigned char)l[i] > ' ' && l[i] != ':' && l[i] != 127)
		i++;
	if (i == 0)
		return false;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < n && l[i] == ':';
}

/* First line of a header field at o[ls, le). */
static void
header_field(struct guard *g, size_t ls, size_t le)
{
	const char *l = g->o + ls;
	size_t n = le - ls;
	static const char ct[] = "content-type", cte[] = "content-transfer-encoding";

	if (n == 0 || (l[0] | 0x20) != 'c')
		return;	/* neither */
	if (n >= sizeof ct - 1 && strncasecmp(l, ct, sizeof ct - 1) == 0 &&
	    (n == sizeof ct - 1 || !tok_char((unsigned char)l[sizeof ct - 1]))) {
		g->in_ct = true;
		g->ct_start = ls;
	} else if (n >= sizeof cte - 1 && strncasecmp(l, cte, sizeof cte - 1) == 0 &&
		   (n == sizeof cte - 1 || !tok_char((unsigned char)l[sizeof cte - 1]))) {
		const char *p = l + sizeof cte - 1, *end = l + n;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == ':')
			p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (ieq(p, (size_t)(end - p), "base64") ||
		    ieq(p, (size_t)(end - p), "quoted-printable"))
			g->cte_encoded = true;
		else
			g->cte_other = true;
	}
}

/* The header block ends (blank line, or a delimiter when !blank). */
static void
header_block_end(struct guard *g, bool blank)
{
	if (g->in_ct)
		finish_ct(g);
	if (g->emb_block && g->tracking && g->first_field && g->blocks != NULL &&
	    g->nblocks < GUARD_BLOCKS) {
		g->blocks[g->nblocks].start = g->emb_start;
		g->blocks[g->nblocks].end = g->olen;
		g->nblocks++;
	}
	g->emb_block = false;
	/* A block cut short by a delimiter gets its blank line, unless it is body text already. */
	if (!blank && (g->first_field || !g->any_line))
		out_put(g, "\r\n", 2);
	g->state = G_BODY;
	if (!g->tracking)
		return;
	if (g->ct_multi) {
		if (g->nstack >= GUARD_STACK) {
			unsafe(g, BOUNCE_F_TOO_DEEP);
			return;
		}
		struct level *lv = &g->stack[g->nstack++];
		memcpy(lv->orig, g->ct_bound, g->ct_bound_len);
		lv->orig_len = g->ct_bound_len;
		lv->id = g->ct_id;
		lv->child_depth = g->cur_depth + 1;
		lv->nparts = 0;
		lv->digest = g->ct_digest;
		lv->body_start = g->olen + (blank ? 2 : 0);	/* the caller writes the blank line */
		return;
	}
	bool message = g->ct_message || (g->n_ct == 0 && g->parent_digest);
	/* A base64/QP message/rfc822 is an opaque leaf to libetpan. Any other encoding, or
	 * several Content-Transfer-Encoding fields, and libetpan may read the embedded headers. */
	if (message && !(g->cte_encoded && !g->cte_other)) {
		/* Only a plain message/rfc822 is surely read as headers by libetpan. */
		bool record = g->ct_message && !g->cte_encoded && g->first_field;
		if (!new_part(g, g->cur_depth + 1))
			return;
		header_block_start(g, g->cur_depth + 1, false);
		g->emb_block = record;
		g->emb_start = g->olen + (blank ? 2 : 0);	/* after the blank line */
	}
}

/* Pops the multiparts above stack index k, closing each in the output. A multipart without
 * parts gets its preamble as its one part (libetpan would make one from the preamble itself,
 * with a negative length). The preamble is the last thing written, so the move is linear. */
static void
pop_to(struct guard *g, int k)
{
	while (g->tracking && g->nstack > k) {
		struct level *lv = &g->stack[g->nstack - 1];
		if (lv->nparts == 0) {
			if (!new_part(g, lv->child_depth))
				return;
			char d[2 + GUARD_BOUNDARY_LEN + sizeof GUARD_EMPTY_PART_HEADER];
			/* With a header of its own: libetpan would read a preamble's first lines as one. */
			int n = snprintf(d, sizeof d, "--" GUARD_BOUNDARY_FMT GUARD_EMPTY_PART_HEADER, lv->id);
			if (n <= 0 || (size_t)n >= sizeof d || lv->body_start > g->olen) {
				unsafe(g, BOUNCE_F_MIME_ERROR);	/* broken invariant: never expected */
				return;
			}
			out_reserve(g, (size_t)n);
			memmove(g->o + lv->body_start + n, g->o + lv->body_start, g->olen - lv->body_start);
			memcpy(g->o + lv->body_start, d, (size_t)n);
			g->olen += (size_t)n;
		}
		put_boundary(g, lv->id, true);
		g->nstack--;
	}
}

/* A line starting with "--": a delimiter of an open multipart? Innermost match wins, so a part
 * that reuses its parent's boundary owns it until it is closed. Returns -1 or the stack index;
 * *close_r tells a close delimiter. */
static int
match_delimiter(struct guard *g, const char *l, size_t n, bool *close_r)
{
	for (int k = g->nstack - 1; k >= 0; k--) {
		const struct level *lv = &g->stack[k];
		if (n < 2 + lv->orig_len || memcmp(l + 2, lv->orig, lv->orig_len) != 0)
			continue;
		const char *r = l + 2 + lv->orig_len, *end = l + n;
		if (end - r >= 2 && r[0] == '-' && r[1] == '-') {
			*close_r = true;
			return k;
		}
		while (r < end && (*r == ' ' || *r == '\t'))
			r++;
		if (r == end) {
			*close_r = false;
			return k;
		}
	}
	return -1;
}

/* KEEP: the caller ends the line; DROP: the line was removed; DONE: replaced, line end written. */
enum line_fate { LINE_KEEP, LINE_DROP, LINE_DONE };

/* Structure of one line, already copied to o[ls, olen) without its line end. */
static enum line_fate
guard_line(struct guard *g, size_t ls)
{
	size_t n = g->olen - ls;
	const char *l = g->o + ls;

	if (g->tracking && n >= 2 && l[0] == '-' && l[1] == '-') {
		bool close = false;
		int k = g->nstack > 0 ? match_delimiter(g, l, n, &close) : -1;
		if (k >= 0) {
			g->olen = ls;
			if (g->state == G_HEADER) {
				/* An embedded message may end here too: close every open block. */
				header_block_end(g, false);
				if (g->state == G_HEADER)
					header_block_end(g, true);
			}
			pop_to(g, k + 1);
			if (!g->tracking)
				return LINE_DONE;
			struct level *lv = &g->stack[k];
			if (close) {
				pop_to(g, k);
				g->state = G_BODY;
				return LINE_DONE;
			}
			if (!new_part(g, lv->child_depth))
				return LINE_DONE;
			lv->nparts++;
			put_boundary(g, lv->id, false);
			header_block_start(g, lv->child_depth, lv->digest);
			g->fresh = true;
			return LINE_DONE;
		}
		if (n >= 2 + sizeof GUARD_BOUNDARY_PREFIX - 1 &&
		    memcmp(l + 2, GUARD_BOUNDARY_PREFIX, sizeof GUARD_BOUNDARY_PREFIX - 1) == 0) {
			out_reserve(g, 1);
			memmove(g->o + ls + 1, g->o + ls, n);
			g->o[ls] = ' ';
			g->olen++;
		}
	}
	if (g->state != G_HEADER)
		return LINE_KEEP;
	if (g->fresh) {
		/* libetpan reads "--b", blank lines, then "Content-Type: ..." as that part's header:
		 * so does the guard, or it would let through a Content-Type it never checked. */
		size_t i = 0;
		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i == n)
			return LINE_KEEP;
		g->fresh = false;
	}
	if (n == 0) {
		header_block_end(g, true);
		return LINE_KEEP;
	}
	if (g->dropping) {
		g->olen = ls;
		return LINE_DROP;
	}
	g->hdr_bytes += n + 2;
	if (g->hdr_bytes > LIMIT_HEADER_BYTES) {
		g->flags |= BOUNCE_F_HEADER_CUT;
		g->dropping = true;
		g->olen = ls;
		return LINE_DROP;
	}
	if (!g->any_line) {
		g->any_line = true;
		g->first_field = field_line(l, n);
	}
	if (g->tracking && l[0] != ' ' && l[0] != '\t')
		header_field(g, ls, g->olen);
	return LINE_KEEP;
}

/* "name=" at the start of a line (a Content-Type parameter), not "Name:" (a field). */
static bool
param_line(const char *p, size_t n)
{
	size_t i = 0;
	if (n >= 2 && p[0] == '-' && p[1] == '-')
		return false;	/* a delimiter line ("------=_Part_1") */
	while (i < n && tok_char((unsigned char)p[i]))
		i++;
	if (i == 0 || i > GUARD_PARAM_NAME_MAX)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == '=';
}

char *
mime_guard(const char *msg, size_t len, size_t *out_len, unsigned int *flags_r, bool *safe_r)
{
	return guard_run(msg, len, out_len, flags_r, safe_r, NULL, NULL);
}

char *
guard_run(const char *msg, size_t len, size_t *out_len, unsigned int *flags_r, bool *safe_r,
	  struct guard_block *blocks, size_t *nblocks_r)
{
	struct guard g;
	memset(&g, 0, sizeof g);
	g.blocks = blocks;
	g.tracking = true;
	g.safe = true;
	if (len > LIMIT_PARSE_BYTES) {
		len = LIMIT_PARSE_BYTES;
		g.flags |= BOUNCE_F_TRUNCATED;
	}
	g.ocap = len + len / 8 + 256;
	g.o = xmalloc(g.ocap);
	g.nparts = 1;	/* the top-level body */
	header_block_start(&g, 0, false);

	const char *p = msg, *end = msg + len;
	/* Next CR, LF and NUL, each searched once per occurrence (memchr), so the pass is linear. */
	const char *ncr = NULL, *nlf = NULL, *nnul = NULL;
	while (p < end) {
		if (ncr != end && (ncr == NULL || ncr < p))
			ncr = (ncr = memchr(p, '\r', (size_t)(end - p))) ? ncr : end;
		if (nlf != end && (nlf == NULL || nlf < p))
			nlf = (nlf = memchr(p, '\n', (size_t)(end - p))) ? nlf : end;
		const char *eol = ncr < nlf ? ncr : nlf;
		size_t n = (size_t)(eol - p), keep = n;
		if (keep > LIMIT_LINE_BYTES) {
			keep = LIMIT_LINE_BYTES;
			g.flags |= BOUNCE_F_LONG_LINE;
		}
		bool cont = n > 0 && (p[0] == ' ' || p[0] == '\t' || p[0] == '\0');
		/* "Content-Type: multipart/mixed;" then "boundary=..." without the folding space: a
		 * parameter line right after Content-Type is taken as its continuation. */
		bool refold = !cont && g.in_ct && param_line(p, keep);
		if (g.in_ct && !cont && !refold)
			finish_ct(&g);

		size_t ls = g.olen;
		out_reserve(&g, keep + 3);
		if (refold)
			g.o[g.olen++] = ' ';
		memcpy(g.o + g.olen, p, keep);
		g.olen += keep;
		if (nnul != end && (nnul == NULL || nnul < p))
			nnul = (nnul = memchr(p, '\0', (size_t)(end - p))) ? nnul : end;
		if (nnul < p + keep) {
			g.flags |= BOUNCE_F_NUL_BYTES;
			for (char *q = g.o + ls + refold + (nnul - p); q < g.o + g.olen; q++)
				if (*q == '\0')
					*q = q == g.o + ls ? ' ' : MIME_NUL_MARK;	/* cont folds */
		}

		if (guard_line(&g, ls) == LINE_KEEP) {
			out_reserve(&g, 2);
			g.o[g.olen++] = '\r';
			g.o[g.olen++] = '\n';
		}
		p = eol;
		if (p < end) {
			if (*p == '\r' && p + 1 < end && p[1] == '\n')
				p += 2;
			else
				p++;
		}
	}
	if (g.in_ct)
		finish_ct(&g);
	for (int i = 0; i < 3 && g.state == G_HEADER && (g.olen > 0 || g.nparts > 1); i++)
		header_block_end(&g, false);
	pop_to(&g, 0);

	out_reserve(&g, 1);
	g.o[g.olen] = '\0';
	*out_len = g.olen;
	*flags_r = g.flags;
	*safe_r = g.safe;
	if (nblocks_r != NULL)
		*nblocks_r = g.nblocks;
	return g.o;
}
