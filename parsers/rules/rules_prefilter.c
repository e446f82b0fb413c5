/* A literal prefilter for the rules: at load time each pattern is read for the literals any of
 * its matches must contain (caseless), and a text is scanned once for all of them; a rule whose
 * literals are all absent cannot match there and is not run. A pattern this reader does not
 * fully understand gets no literals and is always run, so results are exactly those of running
 * every rule: the prefilter only skips matches that PCRE2 would not find. */
#include "rules_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Shortest literal worth indexing: the scan hashes the first three bytes of each. */
#define PREFILTER_LITERAL_MIN	3
/* Literals of one rule: an alternation wider than this is not worth the index entries. */
#define PREFILTER_LITERALS_MAX	128
/* Sets a match must hold each one of, kept per alternative: two or three decide. */
#define PREFILTER_SETS_MAX	2
/* Every how many bytes the scan of a diagnostic, and of other texts, hashes a window: reason
 * rules have literals of three bytes ("spf"); the other rules' literals are mostly phrases of
 * ten bytes and more, and skipping positions makes a scan of a long report text cheap next to
 * the rules it spares (a rule with a shorter literal is always run). 8 measured best on the
 * corpus: 4 scans too much, 12 spares too little. */
#define PREFILTER_STEP_REASON	1
#define PREFILTER_STEP_TEXT	8
/* Group nesting the reader follows; PCRE2 allows deeper, such a rule is simply always run. */
#define PREFILTER_DEPTH_MAX	32
/* Repeat counts {n} the reader follows stop growing here, and the digits left unread make it
 * give up on the rule, which is then always run (never wrongly skipped). PCRE2's own limit is
 * 65535, so no valid rule reaches it. */
#define PREFILTER_REPEAT_MAX	100000

/* What any match of a piece of pattern contains (folded): one literal of each set of a term
 * (AND of ORs), for one of the terms. */
struct lset {
	char **v;
	size_t n;
};

struct term {
	struct lset *s;		/* n == 0: nothing known */
	size_t n;
};

struct dnf {
	struct term *t;
	size_t n;
	bool any;		/* nothing known */
};

struct reader {
	const char *p, *end;
	bool fail;		/* a construct the reader does not know: no literals for the rule */
	int depth;
};

static void
lset_free(struct lset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void
term_free(struct term *t)
{
	for (size_t i = 0; i < t->n; i++)
		lset_free(&t->s[i]);
	free(t->s);
	t->s = NULL;
	t->n = 0;
}

static void
dnf_free(struct dnf *d)
{
	for (size_t i = 0; i < d->n; i++)
		term_free(&d->t[i]);
	free(d->t);
	d->t = NULL;
	d->n = 0;
	d->any = true;
}

/* A set is only as selective as its shortest literal. */
static size_t
lset_quality(const struct lset *s)
{
	if (s->n == 0)
		return 0;
	size_t q = strlen(s->v[0]);
	for (size_t i = 1; i < s->n; i++)
		if (strlen(s->v[i]) < q)
			q = strlen(s->v[i]);
	return q;
}

static size_t
term_nlits(const struct term *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += t->s[i].n;
	return n;
}

/* Adds set s (taken) to t: a match holds it as well as the others. Kept only when selective,
 * and at most PREFILTER_SETS_MAX of them, the most selective. */
static void
term_add(struct term *t, struct lset *s)
{
	size_t q = lset_quality(s);
	if (q < PREFILTER_LITERAL_MIN || s->n > PREFILTER_LITERALS_MAX) {
		lset_free(s);
		return;
	}
	if (t->n == PREFILTER_SETS_MAX) {
		size_t worst = 0;
		for (size_t i = 1; i < t->n; i++)
			if (lset_quality(&t->s[i]) < lset_quality(&t->s[worst]))
				worst = i;
		if (lset_quality(&t->s[worst]) >= q) {
			lset_free(s);
			return;
		}
		lset_free(&t->s[worst]);
		t->s[worst] = *s;
	} else {
		t->s = xrealloc(t->s, (t->n + 1) * sizeof *t->s);
		t->s[t->n++] = *s;
	}
	s->v = NULL;
	s->n = 0;
}

/* One set for alternatives: each term's most selective set, together. Empty when a term has
 * none. */
static struct lset
dnf_flatten(struct dnf *d)
{
	struct lset u = { NULL, 0 };
	if (d->any)
		return u;
	for (size_t i = 0; i < d->n; i++) {
		struct term *t = &d->t[i];
		if (t->n == 0) {
			lset_free(&u);
			return u;
		}
		size_t best = 0;
		for (size_t k = 1; k < t->n; k++) {
			size_t qk = lset_quality(&t->s[k]), qb = lset_quality(&t->s[best]);
			if (qk > qb || (qk == qb && t->s[k].n < t->s[best].n))
				best = k;
		}
		struct lset *b = &t->s[best];
		u.v = xrealloc(u.v, (u.n + b->n) * sizeof *u.v);
		memcpy(u.v + u.n, b->v, b->n * sizeof *b->v);
		u.n += b->n;
		free(b->v);
		b->v = NULL;
		b->n = 0;
	}
	return u;
}

static unsigned char
fold_ascii(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

enum atom { ATOM_CHAR, ATOM_ZERO, ATOM_OTHER };

static struct dnf read_alt(struct reader *r);

/* Skips a character class; it matches one character, never a literal we index. */
static void
skip_class(struct reader *r)
{
	r->p++;
	if (r->p < r->end && *r->p == '^')
		r->p++;
	if (r->p < r->end && *r->p == ']')
		r->p++;
	while (r->p < r->end && *r->p != ']') {
		if (*r->p == '\\') {
			if (r->p + 1 >= r->end || r->p[1] == 'Q' || r->p[1] == 'E') {
				r->fail = true;
				return;
			}
			r->p += 2;
			continue;
		}
		if (*r->p == '[' && r->p + 1 < r->end && strchr(":.=", r->p[1]) != NULL) {
			r->fail = true;	/* POSIX classes hold a ']' of their own */
			return;
		}
		r->p++;
	}
	if (r->p >= r->end)
		r->fail = true;
	else
		r->p++;
}

/* A group after its '(': which kind, then its alternation up to ')'. */
static enum atom
read_group(struct reader *r, struct dnf *sub)
{
	bool assertion = false;
	const char *p = r->p;
	if (p < r->end && *p == '?') {
		p++;
		if (p < r->end && (*p == ':' || *p == '>' || *p == '|'))
			p++;
		else if (p < r->end && (*p == '=' || *p == '!')) {
			p++;
			assertion = true;
		} else if (p + 1 < r->end && *p == '<' && (p[1] == '=' || p[1] == '!')) {
			p += 2;
			assertion = true;
		} else if (p < r->end && (*p == '<' || *p == '\'' || *p == 'P')) {
			if (*p == 'P')
				p++;
			char close = p < r->end && *p == '\'' ? '\'' : '>';
			if (p >= r->end || (*p != '<' && *p != '\'')) {
				r->fail = true;
				return ATOM_OTHER;
			}
			p++;
			while (p < r->end && (*p == '_' || (*p >= '0' && *p <= '9') ||
			    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
				p++;
			if (p >= r->end || *p != close) {
				r->fail = true;
				return ATOM_OTHER;
			}
			p++;
		} else {
			r->fail = true;	/* option settings, conditions, recursion, comments */
			return ATOM_OTHER;
		}
	} else if (p < r->end && *p == '*') {
		r->fail = true;		/* verbs */
		return ATOM_OTHER;
	}
	r->p = p;
	if (++r->depth > PREFILTER_DEPTH_MAX) {
		r->fail = true;
		return ATOM_OTHER;
	}
	*sub = read_alt(r);
	r->depth--;
	if (r->fail || r->p >= r->end || *r->p != ')') {
		r->fail = true;
		return ATOM_OTHER;
	}
	r->p++;
	if (assertion) {
		dnf_free(sub);	/* zero-width: what it looks at need not be in the match */
		return ATOM_ZERO;
	}
	return ATOM_OTHER;
}

/* One atom: a literal character (*c), a zero-width assertion, or anything else (*sub says what
 * its matches contain). */
static enum atom
read_atom(struct reader *r, unsigned char *c, struct dnf *sub)
{
	unsigned char b = (unsigned char)*r->p;
	if (b == '(') {
		r->p++;
		return read_group(r, sub);
	}
	if (b == '[') {
		skip_class(r);
		return ATOM_OTHER;
	}
	if (b == '.') {
		r->p++;
		return ATOM_OTHER;
	}
	if (b == '^' || b == '$') {
		r->p++;
		return ATOM_ZERO;
	}
	if (b == '*' || b == '+' || b == '?' || b == '{') {
		r->fail = true;
		return ATOM_OTHER;
	}
	if (b >= 0x80) {
		/* a character outside ASCII: caseless matching of it is Unicode's business */
		r->p++;
		while (r->p < r->end && ((unsigned char)*r->p & 0xC0) == 0x80)
			r->p++;
		return ATOM_OTHER;
	}
	if (b != '\\') {
		r->p++;
		*c = fold_ascii(b);
		return ATOM_CHAR;
	}
	if (r->p + 1 >= r->end) {
		r->fail = true;
		return ATOM_OTHER;
	}
	unsigned char e = (unsigned char)r->p[1];
	r->p += 2;
	if (e >= 0x80) {
		while (r->p < r->end && ((unsigned char)*r->p & 0xC0) == 0x80)
			r->p++;
		return ATOM_OTHER;
	}
	bool alnum = (e >= '0' && e <= '9') || ((e | 0x20) >= 'a' && (e | 0x20) <= 'z');
	if (!alnum) {
		*c = e;		/* an escaped punctuation character or space is itself */
		return ATOM_CHAR;
	}
	if (strchr("bBAzZG", e) != NULL)
		return ATOM_ZERO;
	if (strchr("dDsSwWhHvVRX", e) != NULL)
		return ATOM_OTHER;
	if (e == 'n' || e == 't' || e == 'r') {
		*c = e == 'n' ? '\n' : e == 't' ? '\t' : '\r';
		return ATOM_CHAR;
	}
	r->fail = true;		/* \x, \p, \Q, back references, ...: not worth reading */
	return ATOM_OTHER;
}

static bool
read_number(struct reader *r, unsigned *n)
{
	const char *s = r->p;
	*n = 0;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && *n < PREFILTER_REPEAT_MAX)
		*n = *n * 10 + (unsigned)(*r->p++ - '0');
	return r->p > s;
}

/* The quantifier after an atom, if any: its minimum count. */
static unsigned
read_quantifier(struct reader *r, bool *quantified)
{
	unsigned min = 1, max;
	*quantified = false;
	if (r->p >= r->end)
		return min;
	char q = *r->p;
	if (q == '?' || q == '*' || q == '+') {
		r->p++;
		min = q == '+' ? 1 : 0;
	} else if (q == '{') {
		r->p++;
		if (!read_number(r, &min)) {
			r->fail = true;	/* a literal '{': rare, not worth reading */
			return 1;
		}
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			(void)read_number(r, &max);
		}
		if (r->p >= r->end || *r->p != '}') {
			r->fail = true;
			return 1;
		}
		r->p++;
	} else
		return min;
	*quantified = true;
	if (r->p < r->end && (*r->p == '?' || *r->p == '+'))
		r->p++;		/* lazy or possessive: the same strings */
	return min;
}

static void
flush_run(struct strbuf *run, struct term *t)
{
	if (run->len >= PREFILTER_LITERAL_MIN) {
		struct lset one = { xmalloc(sizeof(char *)), 1 };
		one.v[0] = xstrndup(run->s, run->len);
		term_add(t, &one);
	}
	strbuf_reset(run);
}

/* A concatenation: a match holds each of its runs of literal characters and what each of its
 * mandatory groups holds. */
static struct term
read_seq(struct reader *r)
{
	struct term t = { NULL, 0 };
	struct strbuf run = STRBUF_INIT;
	while (!r->fail && r->p < r->end && *r->p != '|' && *r->p != ')') {
		unsigned char c = 0;
		struct dnf sub = { NULL, 0, true };
		enum atom a = read_atom(r, &c, &sub);
		bool quantified = false;
		unsigned min = r->fail ? 0 : read_quantifier(r, &quantified);
		if (a == ATOM_CHAR && !quantified) {
			strbuf_putc(&run, (char)c);
			continue;
		}
		flush_run(&run, &t);
		if (a == ATOM_OTHER && min >= 1 && !sub.any && sub.n == 1) {
			for (size_t i = 0; i < sub.t[0].n; i++)
				term_add(&t, &sub.t[0].s[i]);
		} else if (a == ATOM_OTHER && min >= 1 && !sub.any) {
			struct lset u = dnf_flatten(&sub);
			term_add(&t, &u);
		}
		dnf_free(&sub);
	}
	flush_run(&run, &t);
	strbuf_free(&run);
	return t;
}

/* Alternatives: a match holds what the alternative that matched holds. */
static struct dnf
read_alt(struct reader *r)
{
	struct dnf d = { NULL, 0, false };
	size_t nlits = 0;
	for (;;) {
		struct term t = read_seq(r);
		nlits += term_nlits(&t);
		if (d.any || t.n == 0 || nlits > PREFILTER_LITERALS_MAX) {
			term_free(&t);
			dnf_free(&d);	/* read on: the rest must still be consumed up to ')' */
		} else {
			d.t = xrealloc(d.t, (d.n + 1) * sizeof *d.t);
			d.t[d.n++] = t;
		}
		if (r->fail || r->p >= r->end || *r->p != '|')
			break;
		r->p++;
	}
	return d;
}

void
rules_filter_free(struct rules_filter *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nlits; i++)
		free(f->lits[i]);
	free(f->lits);
	free(f->lit_set);
	free(f->term_first);
	free(f);
}

struct rules_filter *
rules_filter_new(const char *pattern)
{
	struct reader r = { pattern, pattern + strlen(pattern), false, 0 };
	struct dnf d = read_alt(&r);
	if (r.fail || r.p != r.end || d.any || d.n == 0) {
		dnf_free(&d);
		return NULL;
	}
	struct rules_filter *f = xcalloc(1, sizeof *f);
	f->nterms = d.n;
	f->term_first = xcalloc(d.n + 1, sizeof *f->term_first);
	for (size_t i = 0; i < d.n; i++) {
		f->term_first[i] = (uint32_t)f->nsets;
		for (size_t k = 0; k < d.t[i].n; k++) {
			struct lset *ls = &d.t[i].s[k];
			f->lits = xrealloc(f->lits, (f->nlits + ls->n) * sizeof *f->lits);
			f->lit_set = xrealloc(f->lit_set, (f->nlits + ls->n) * sizeof *f->lit_set);
			for (size_t j = 0; j < ls->n; j++) {
				f->lits[f->nlits] = ls->v[j];
				f->lit_set[f->nlits++] = (uint32_t)f->nsets;
			}
			free(ls->v);
			ls->v = NULL;
			ls->n = 0;
			f->nsets++;
		}
	}
	f->term_first[d.n] = (uint32_t)f->nsets;
	dnf_free(&d);
	return f;
}

bool
rules_filter_describe(const char *pattern, struct strbuf *out)
{
	struct rules_filter *f = rules_filter_new(pattern);
	if (f == NULL)
		return false;
	for (size_t t = 0; t < f->nterms; t++) {
		if (t > 0)
			strbuf_putc(out, '|');
		for (uint32_t s = f->term_first[t]; s < f->term_first[t + 1]; s++) {
			if (s > f->term_first[t])
				strbuf_putc(out, '&');
			bool first = true;
			for (size_t i = 0; i < f->nlits; i++)
				if (f->lit_set[i] == s) {
					if (!first)
						strbuf_putc(out, ',');
					strbuf_puts(out, f->lits[i]);
					first = false;
				}
		}
	}
	rules_filter_free(f);
	return true;
}

/* The index: every literal of the rules of one kind, hashed by three bytes at each offset below
 * ix->step. A literal of at least step + 2 bytes has a three-byte window starting at a multiple of
 * step wherever it occurs, so the scan only hashes every step-th position of the text. */
static uint32_t
key3(unsigned a, unsigned b, unsigned c)
{
	return (uint32_t)a | (uint32_t)b << 8 | (uint32_t)c << 16;
}

static uint32_t
hash3(uint32_t key)
{
	return (key * 2654435761u) >> (32 - RULES_INDEX_BITS);
}

/* ASCII lowercased, other bytes kept: the literals are written so. */
static unsigned char fold_table[256];

static void
fold_table_init(void)
{
	if (fold_table['A'] == 'a')
		return;
	for (unsigned c = 0; c < 256; c++)
		fold_table[c] = fold_ascii((unsigned char)c);
}

/* Where in lit the step windows the scan looks for are least common in English text: any
 * step consecutive offsets will do, and rare bytes make fewer false hits to verify. */
static size_t
rarest_window(const char *lit, unsigned step)
{
	static const char common[] = " etaoinsrhldcum";	/* most common first */
	size_t len = strlen(lit), best = 0, best_score = SIZE_MAX;
	for (size_t k = 0; k + step + 2 <= len; k++) {
		size_t score = 0;
		for (size_t j = k; j < k + step + 2; j++) {
			const char *c = strchr(common, lit[j]);
			score += c != NULL && lit[j] != '\0' ? sizeof common - (size_t)(c - common) : 0;
		}
		if (score < best_score) {
			best_score = score;
			best = k;
		}
	}
	return best;
}

/* Can the scan use set s of f (every literal long enough for its step)? */
static bool
set_indexable(const struct rules_filter *f, uint32_t s, unsigned step)
{
	for (size_t i = 0; i < f->nlits; i++)
		if (f->lit_set[i] == s && strlen(f->lits[i]) < step + 2)
			return false;
	return true;
}

/* Is every term of f left with a set the scan can use? A set it cannot use is taken as found:
 * a term then asks less, never more. */
static bool
filter_indexable(const struct rules_filter *f, unsigned step)
{
	for (size_t t = 0; t < f->nterms; t++) {
		bool any = false;
		for (uint32_t s = f->term_first[t]; s < f->term_first[t + 1] && !any; s++)
			any = set_indexable(f, s, step);
		if (!any)
			return false;
	}
	return true;
}

struct rules_index *
rules_index_build(const struct rules *rules, bool reason)
{
	fold_table_init();
	struct rules_index *ix = xcalloc(1, sizeof *ix);
	/* Diagnostics are short and their literals too ("spf"); the texts other rules read are
	 * long, and their literals too ("this is the qmail-send program"). */
	ix->step = reason ? PREFILTER_STEP_REASON : PREFILTER_STEP_TEXT;
	size_t nwords = rules_cand_words(rules);
	ix->always = xcalloc(nwords > 0 ? nwords : 1, sizeof *ix->always);
	size_t total = 0, nsets = 0;
	for (size_t i = 0; i < rules->n; i++)
		if (rules->v[i].filter != NULL) {
			total += rules->v[i].filter->nlits * ix->step;
			nsets += rules->v[i].filter->nsets;
		}
	ix->v = xcalloc(total > 0 ? total : 1, sizeof *ix->v);
	ix->nsetwords = (nsets + 63) / 64 + 1;
	ix->nsets = nsets;
	ix->hit_init = xcalloc(ix->nsetwords, sizeof *ix->hit_init);
	ix->sets = xcalloc(nsets > 0 ? nsets : 1, sizeof *ix->sets);
	uint32_t base = 0;
	for (size_t i = 0; i < rules->n; i++) {
		const struct rule *ru = &rules->v[i];
		const struct rules_filter *f = ru->filter;
		if ((ru->type == RULE_REASON) != reason)
			continue;
		if (f == NULL || !filter_indexable(f, ix->step)) {
			ix->always[i / 64] |= (uint64_t)1 << (i % 64);
			continue;
		}
		ix->nfrules++;
		for (uint32_t s = 0; s < f->nsets; s++)
			if (!set_indexable(f, s, ix->step))
				ix->hit_init[(base + s) / 64] |= (uint64_t)1 << ((base + s) % 64);
		for (size_t t = 0; t < f->nterms; t++)
			for (uint32_t s = f->term_first[t]; s < f->term_first[t + 1]; s++) {
				ix->sets[base + s].rule = (uint32_t)i;
				ix->sets[base + s].first = base + f->term_first[t];
				ix->sets[base + s].end = base + f->term_first[t + 1];
			}
		for (size_t k = 0; k < f->nlits; k++) {
			if (!set_indexable(f, f->lit_set[k], ix->step))
				continue;
			size_t first = rarest_window(f->lits[k], ix->step);
			for (unsigned off = (unsigned)first; off < first + ix->step; off++) {
				struct rules_lit *l = &ix->v[ix->n];
				const unsigned char *q = (const unsigned char *)f->lits[k] + off;
				l->s = f->lits[k];
				l->len = (uint32_t)strlen(f->lits[k]);
				l->off = off;
				l->set = base + f->lit_set[k];
				l->key = key3(q[0], q[1], q[2]);
				uint32_t h = hash3(l->key);
				l->next = ix->head[h];
				ix->head[h] = (uint32_t)++ix->n;
			}
		}
		base += (uint32_t)f->nsets;
	}
	return ix;
}

void
rules_index_free(struct rules_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->v);
	free(ix->always);
	free(ix->hit_init);
	free(ix->sets);
	free(ix);
}

/* The text as the literals are written when it holds one of the two characters outside ASCII
 * that PCRE2's caseless UCP matching equates with an ASCII letter (U+212A KELVIN SIGN with k,
 * U+017F LONG S with s): those made that letter, ASCII lowercased, other bytes kept. */
static size_t
fold_text(struct rules_scratch *sc, const char *s, size_t len)
{
	if (sc->fold_cap < len + 1) {
		sc->fold_cap = len + 1;
		sc->fold = xrealloc(sc->fold, sc->fold_cap);
	}
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char *d = (unsigned char *)sc->fold;
	while (p < end) {
		unsigned char c = *p++;
		if (c == 0xE2 && end - p >= 2 && p[0] == 0x84 && p[1] == 0xAA) {
			*d++ = 'k';
			p += 2;
		} else if (c == 0xC5 && p < end && p[0] == 0xBF) {
			*d++ = 's';
			p++;
		} else
			*d++ = fold_table[c];
	}
	return (size_t)(d - (unsigned char *)sc->fold);
}

static bool
has_foldable(const char *s, size_t len)
{
	for (const char *p = s, *end = s + len; (p = memchr(p, 0xC5, (size_t)(end - p))) != NULL; p++)
		if (p + 1 < end && (unsigned char)p[1] == 0xBF)
			return true;
	for (const char *p = s, *end = s + len; (p = memchr(p, 0xE2, (size_t)(end - p))) != NULL; p++)
		if (end - p >= 3 && (unsigned char)p[1] == 0x84 && (unsigned char)p[2] == 0xAA)
			return true;
	return false;
}

static bool
bit(const uint64_t *b, size_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

void
rules_index_scan(const struct rules *rules, const struct rules_index *ix,
    struct rules_scratch *sc, const char *s, size_t len, uint64_t *cand)
{
	size_t nwords = rules_cand_words(rules);
	memcpy(cand, ix->always, nwords * sizeof *cand);
	if (ix->nfrules == 0 || len < 3)
		return;
	if (sc->hit_words < ix->nsetwords) {
		sc->hit_words = ix->nsetwords;
		sc->hit = xrealloc(sc->hit, sc->hit_words * sizeof *sc->hit);
	}
	if (sc->found_cap < ix->nsets) {
		sc->found_cap = ix->nsets;
		sc->found = xrealloc(sc->found, sc->found_cap * sizeof *sc->found);
	}
	uint64_t *hit = sc->hit;
	uint32_t *found = sc->found;
	memcpy(hit, ix->hit_init, ix->nsetwords * sizeof *hit);
	const unsigned char *t = (const unsigned char *)s;
	size_t n = len;
	if (has_foldable(s, len)) {
		n = fold_text(sc, s, len);
		t = (const unsigned char *)sc->fold;
	}
	const unsigned char *ft = fold_table;
	size_t nfound = 0;
	for (size_t i = 0; i + 3 <= n; i += ix->step) {
		uint32_t key = key3(ft[t[i]], ft[t[i + 1]], ft[t[i + 2]]);
		for (uint32_t e = ix->head[hash3(key)]; e != 0; e = ix->v[e - 1].next) {
			const struct rules_lit *l = &ix->v[e - 1];
			if (l->key != key || bit(hit, l->set) || i < l->off || l->len > n - (i - l->off))
				continue;
			const unsigned char *a = t + i - l->off, *b = (const unsigned char *)l->s;
			size_t k = 0;
			while (k < l->len && ft[a[k]] == b[k])
				k++;
			if (k == l->len) {
				hit[l->set / 64] |= (uint64_t)1 << (l->set % 64);
				found[nfound++] = l->set;
			}
		}
	}
	/* A rule may match when every set of one of its terms was found: look at the terms of the
	 * sets found. */
	for (size_t h = 0; h < nfound; h++) {
		const struct rules_set *st = &ix->sets[found[h]];
		if (rules_cand(cand, st->rule))
			continue;
		uint32_t sv = st->first;
		while (sv < st->end && bit(hit, sv))
			sv++;
		if (sv == st->end)
			cand[st->rule / 64] |= (uint64_t)1 << (st->rule % 64);
	}
}
