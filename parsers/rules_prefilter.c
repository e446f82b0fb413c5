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
#define PREFILTER_LITERALS_MAX	64
/* Every how many bytes the scan of a diagnostic, and of other texts, hashes a window: reason
 * rules have literals of three bytes ("spf"), the others of six and more, and skipping
 * positions makes a scan of a long report text cheap next to the rules it spares. */
#define PREFILTER_STEP_REASON	1
#define PREFILTER_STEP_TEXT	4
/* Group nesting the reader follows; PCRE2 allows deeper, such a rule is simply always run. */
#define PREFILTER_DEPTH_MAX	32

/* "Any match contains one of v[0..n)" (folded), or, with any, nothing is known. */
struct litset {
	bool any;
	char **v;
	size_t n;
};

struct reader {
	const char *p, *end;
	bool fail;		/* a construct the reader does not know: no literals for the rule */
	int depth;
};

static void
litset_clear(struct litset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->any = true;
}

/* The weakest literal of a set: a set is only as selective as its shortest member. */
static size_t
litset_quality(const struct litset *s)
{
	if (s->any || s->n == 0)
		return 0;
	size_t q = strlen(s->v[0]);
	for (size_t i = 1; i < s->n; i++)
		if (strlen(s->v[i]) < q)
			q = strlen(s->v[i]);
	return q;
}

/* Keeps cand in best when it is more selective (longer shortest literal, then fewer). */
static void
litset_keep_better(struct litset *best, struct litset *cand)
{
	size_t qc = litset_quality(cand), qb = litset_quality(best);
	if (qc >= PREFILTER_LITERAL_MIN && (qc > qb || (qc == qb && cand->n < best->n))) {
		litset_clear(best);
		*best = *cand;
		cand->v = NULL;
		cand->n = 0;
	}
	litset_clear(cand);
}

static unsigned char
fold_ascii(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

enum atom { ATOM_CHAR, ATOM_ZERO, ATOM_OTHER };

static struct litset read_alt(struct reader *r);

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
read_group(struct reader *r, struct litset *sub)
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
		litset_clear(sub);	/* zero-width: what it looks at need not be in the match */
		return ATOM_ZERO;
	}
	return ATOM_OTHER;
}

/* One atom: a literal character (*c), a zero-width assertion, or anything else (*sub says what
 * its matches contain). */
static enum atom
read_atom(struct reader *r, unsigned char *c, struct litset *sub)
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
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && *n < 100000)
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
flush_run(struct strbuf *run, struct litset *best)
{
	if (run->len >= PREFILTER_LITERAL_MIN) {
		struct litset one = { false, xmalloc(sizeof(char *)), 1 };
		one.v[0] = xstrndup(run->s, run->len);
		litset_keep_better(best, &one);
	}
	strbuf_reset(run);
}

/* A concatenation: its most selective run of literal characters or mandatory group. */
static struct litset
read_seq(struct reader *r)
{
	struct litset best = { true, NULL, 0 };
	struct strbuf run = STRBUF_INIT;
	while (!r->fail && r->p < r->end && *r->p != '|' && *r->p != ')') {
		unsigned char c = 0;
		struct litset sub = { true, NULL, 0 };
		enum atom a = read_atom(r, &c, &sub);
		bool quantified = false;
		unsigned min = r->fail ? 0 : read_quantifier(r, &quantified);
		if (a == ATOM_CHAR && !quantified) {
			strbuf_putc(&run, (char)c);
			continue;
		}
		flush_run(&run, &best);
		if (a == ATOM_OTHER && min >= 1)
			litset_keep_better(&best, &sub);
		else
			litset_clear(&sub);
	}
	flush_run(&run, &best);
	strbuf_free(&run);
	return best;
}

/* Alternatives: a match contains a literal of whichever alternative matched. */
static struct litset
read_alt(struct reader *r)
{
	struct litset all = read_seq(r);
	while (!r->fail && r->p < r->end && *r->p == '|') {
		r->p++;
		struct litset s = read_seq(r);
		if (all.any || s.any || all.n + s.n > PREFILTER_LITERALS_MAX) {
			litset_clear(&s);
			litset_clear(&all);
			/* read on: the rest must still be consumed to find the closing ')' */
			continue;
		}
		all.v = xrealloc(all.v, (all.n + s.n) * sizeof *all.v);
		memcpy(all.v + all.n, s.v, s.n * sizeof *s.v);
		all.n += s.n;
		free(s.v);
	}
	return all;
}

bool
rules_prefilter_literals(const char *pattern, char ***lits_r, size_t *n_r)
{
	struct reader r = { pattern, pattern + strlen(pattern), false, 0 };
	struct litset s = read_alt(&r);
	if (r.fail || r.p != r.end || s.any || litset_quality(&s) < PREFILTER_LITERAL_MIN) {
		litset_clear(&s);
		return false;
	}
	*lits_r = s.v;
	*n_r = s.n;
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
	size_t total = 0;
	for (size_t i = 0; i < rules->n; i++)
		total += rules->v[i].nlits * ix->step;
	ix->v = xcalloc(total > 0 ? total : 1, sizeof *ix->v);
	for (size_t i = 0; i < rules->n; i++) {
		const struct rule *ru = &rules->v[i];
		if ((ru->type == RULE_REASON) != reason)
			continue;
		bool usable = ru->nlits > 0;
		for (size_t k = 0; k < ru->nlits; k++)
			if (strlen(ru->lits[k]) < ix->step + 2)
				usable = false;
		if (!usable) {
			ix->always[i / 64] |= (uint64_t)1 << (i % 64);
			continue;
		}
		for (size_t k = 0; k < ru->nlits; k++) {
			size_t first = rarest_window(ru->lits[k], ix->step);
			for (unsigned off = (unsigned)first; off < first + ix->step; off++) {
				struct rules_lit *l = &ix->v[ix->n];
				const unsigned char *q = (const unsigned char *)ru->lits[k] + off;
				l->s = ru->lits[k];
				l->len = (uint32_t)strlen(ru->lits[k]);
				l->off = off;
				l->rule = (uint32_t)i;
				l->key = key3(q[0], q[1], q[2]);
				uint32_t h = hash3(l->key);
				l->next = ix->head[h];
				ix->head[h] = (uint32_t)++ix->n;
			}
		}
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
	free(ix);
}

/* The text as the literals are written when it holds one of the two characters outside ASCII
 * that PCRE2's caseless UCP matching equates with an ASCII letter (U+212A KELVIN SIGN with k,
 * U+017F LONG S with s): those made that letter, ASCII lowercased, other bytes kept. */
static size_t
fold_text(struct rules_fold *f, const char *s, size_t len)
{
	if (f->cap < len + 1) {
		f->cap = len + 1;
		f->s = xrealloc(f->s, f->cap);
	}
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char *d = (unsigned char *)f->s;
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
	return (size_t)(d - (unsigned char *)f->s);
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

void
rules_index_scan(const struct rules *rules, const struct rules_index *ix, const char *s,
    size_t len, uint64_t *cand)
{
	size_t nwords = rules_cand_words(rules);
	memcpy(cand, ix->always, nwords * sizeof *cand);
	if (ix->n == 0 || len < 3)
		return;
	const unsigned char *t = (const unsigned char *)s;
	size_t n = len;
	if (has_foldable(s, len)) {
		n = fold_text(rules->fold, s, len);
		t = (const unsigned char *)rules->fold->s;
	}
	const unsigned char *ft = fold_table;
	for (size_t i = 0; i + 3 <= n; i += ix->step) {
		uint32_t key = key3(ft[t[i]], ft[t[i + 1]], ft[t[i + 2]]);
		for (uint32_t e = ix->head[hash3(key)]; e != 0; e = ix->v[e - 1].next) {
			const struct rules_lit *l = &ix->v[e - 1];
			if (l->key != key || rules_cand(cand, l->rule) || i < l->off ||
			    l->len > n - (i - l->off))
				continue;
			const unsigned char *a = t + i - l->off, *b = (const unsigned char *)l->s;
			size_t k = 0;
			while (k < l->len && ft[a[k]] == b[k])
				k++;
			if (k == l->len)
				cand[l->rule / 64] |= (uint64_t)1 << (l->rule % 64);
		}
	}
}
