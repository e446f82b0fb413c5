/* Internal to the rule engine (rules.c, rules_extract.c, rules_text.c) and its tests: the
 * compiled form of a rule set. Not a contract for other modules. */
#ifndef BOUNCED_RULES_INT_H
#define BOUNCED_RULES_INT_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

struct strbuf;

enum rule_type {
	RULE_FAMILY,		/* names the MTA family (value) when it matches */
	RULE_SENDER,		/* the message was sent by a mail system (rules_is_bounce_sender) */
	RULE_CUT,		/* in text: the returned message starts at the match */
	RULE_FORWARD,		/* in text: a forwarded bounce starts after the match (and its header block) */
	RULE_RECIPIENT,		/* in text: a failed recipient (addr) and why (code, status, diag) */
	RULE_DELAYED,		/* the report is a delay warning, not a failure */
	RULE_REASON,		/* in a diagnostic: the wording that decides the reason (value) */
};

enum rule_where {
	WHERE_TEXT,		/* the human-readable text before the returned message */
	WHERE_DIAG,		/* a recipient's diagnostic */
	WHERE_HEADERS,		/* the whole top-level header block */
	WHERE_FIELD,		/* each value of one top-level header field (field) */
};

/* An example written beside a rule: "# test: TEXT" must be matched by it (for a reason rule:
 * decided by it, the first reason rule of the set that matches), "# test-not: TEXT" must not. */
struct rule_test {
	char *text;		/* the example, \n and \\ unescaped */
	size_t len;
	bool want;		/* test: true; test-not: false */
	int line;		/* the file's line of the example */
};

struct rule {
	char *name;
	enum rule_type type;
	enum rule_where where;
	char *field;		/* WHERE_FIELD: the field name */
	char *value;		/* family name, "*" or "-" */
	enum bounce_reason reason;	/* RULE_REASON */
	bool rcpt_only;		/* RULE_REASON "REASON/rcpt": only at RCPT or under an x.1.x code */
	bool any_family;	/* "*" is among the families of value (a generic recipient rule) */
	bool local;		/* from an operator's file: tried before the shipped rules */
	bool builtin;		/* from a copy of a shipped file built into the binary */
	pcre2_code *re;
	struct rules_filter *filter;	/* what any match holds; NULL: the rule is always run */
	int g_addr, g_code, g_status, g_diag, g_action;	/* capture group numbers, -1 when absent */
	char *origin;		/* "FILE:LINE" */
	const char *file;	/* FILE of origin (owned by the set's list of files) */
	struct rule_test *tests;
	size_t ntests;
};

/* Bits of a rule set to the rule (v[i]): the candidates a scan left for one text. */
#define RULES_INDEX_BITS	12	/* 4096 buckets: a few per literal of the shipped rules */

/* rules_prefilter.c: any match of the rule holds, for one of its terms, a literal (folded) of
 * each of the term's sets. */
struct rules_filter {
	char **lits;
	uint32_t *lit_set;	/* the set of each literal */
	size_t nlits;
	uint32_t *term_first;	/* term t's sets are term_first[t] .. term_first[t + 1] - 1 */
	size_t nterms, nsets;
};

struct rules_lit {
	const char *s;		/* folded, owned by the rule's filter */
	uint32_t len;
	uint32_t set;		/* the set it belongs to, numbered across the index */
	uint32_t off;		/* the bytes hashed start here in s */
	uint32_t key;		/* those three bytes */
	uint32_t next;		/* 1 + next literal of the bucket, 0 at the end */
};

/* The literals of one kind of rule (reason rules, or all the others), hashed for a scan. */
struct rules_index {
	unsigned step;		/* the scan hashes every step-th position */
	uint32_t head[1u << RULES_INDEX_BITS];	/* 1 + first literal of a bucket, 0: none */
	struct rules_lit *v;
	size_t n;
	uint64_t *always;	/* bits of this kind's rules without literals */
	size_t nfrules;		/* rules with literals */
	struct rules_set {
		uint32_t rule;		/* index in rules->v */
		uint32_t first, end;	/* the sets of its term */
	} *sets;
	uint64_t *hit_init;	/* sets taken as found before a scan */
	size_t nsetwords, nsets;
};

/* A compiled rule set: read-only once loaded, so one set may serve any number of matches at
 * once, each with its own struct rules_scratch. */
struct rules {
	struct rule *v;		/* in the order they are tried */
	size_t n, cap;
	uint32_t max_captures;	/* the most capture groups of any rule */
	/* The prefilter (rules_prefilter.c): literal indexes built once the set is loaded. */
	struct rules_index *ix_reason, *ix_other;
	char **files;		/* the names of the files the rules came from */
	size_t nfiles;
};

/* What one match at a time writes: PCRE2's match data and match context (with its JIT stack,
 * which a JIT-compiled match backtracks on), and the prefilter's folded text and found sets.
 * Grown on use to fit whichever set it matches with. */
struct rules_scratch {
	pcre2_match_context *mctx;	/* LIMIT_REGEX_MATCH / LIMIT_REGEX_DEPTH on every match */
	pcre2_jit_stack *jit_stack;
	pcre2_match_data *md;
	uint32_t md_pairs;		/* md holds this many ovector pairs */
	char *fold;			/* rules_prefilter.c: the text folded, when it must be */
	size_t fold_cap;
	uint64_t *hit;			/* the sets a scan found, as bits */
	size_t hit_words;
	uint32_t *found;		/* and in order */
	size_t found_cap;
	uint64_t *cand_reason;		/* the reason rules a scan of a diagnostic left */
	size_t cand_words;
};

/* Makes sc ready to match with rules: its match data holds any rule's captures. */
void rules_scratch_fit(struct rules_scratch *sc, const struct rules *rules);

/* Compiles the rules of one file held in memory, alone (origin names it in errors and in the
 * rules' origins), through the loader rules_load uses. For tests. */
struct rules *rules_load_text(const char *origin, const char *text, size_t len, char **error_r);

/* Compiles the shipped rules built into the binary and paths (files or directories) as
 * `bounced rules check` reads them: a file named as a shipped file (reasons.rules) stands in for
 * its built-in copy, the others are operators' files read after the shipped ones. Errors as
 * for rules_load. */
struct rules *rules_load_files(const char *const *paths, size_t npaths, char **error_r);

/* The first reason rule whose pattern matches text, or NULL (rules NULL: the built-in set).
 * *at_r and *match_len_r (may be NULL) say which part of text matched. sc as for
 * rules_reason. */
const struct rule *rules_reason_rule(const struct rules *rules, struct rules_scratch *sc,
    const char *text, size_t len, size_t *at_r, size_t *match_len_r, bool *limit_hit_r);

/* Runs one rule on s[start..len) with the limits of every match, into sc->md (sc fitted to the
 * rule's set). Returns the pcre2_match count (> 0) on a match, -1 otherwise; a limit hit is no
 * match and sets *limit_hit (may be NULL). */
int rules_match(struct rules_scratch *sc, const struct rule *ru, const char *s, size_t len,
    size_t start, bool *limit_hit);

/* rules_prefilter.c. What any match of pattern (compiled caseless, UTF, UCP) must contain; NULL
 * when the pattern holds something this reader does not follow or nothing selective enough to
 * be worth indexing (the rule is then always run). */
struct rules_filter *rules_filter_new(const char *pattern);
void rules_filter_free(struct rules_filter *f);	/* NULL-safe */
/* The filter of pattern for tests: terms joined by '|', their sets by '&', literals by ','.
 * False when there is none. */
bool rules_filter_describe(const char *pattern, struct strbuf *out);
/* Index of the literals of the reason rules (reason) or of all other rules. */
struct rules_index *rules_index_build(const struct rules *rules, bool reason);
void rules_index_free(struct rules_index *ix);	/* NULL-safe */
/* Sets in cand (rules_cand_words(rules) words) the rules of ix's kind that may match s: those
 * with a literal in s and those without literals. A rule left out cannot match anywhere in s.
 * Writes only sc. */
void rules_index_scan(const struct rules *rules, const struct rules_index *ix,
    struct rules_scratch *sc, const char *s, size_t len, uint64_t *cand);

static inline size_t
rules_cand_words(const struct rules *rules)
{
	return (rules->n + 63) / 64;
}

static inline bool
rules_cand(const uint64_t *cand, size_t i)
{
	return (cand[i / 64] >> (i % 64)) & 1;
}

/* rules_text.c: the text the rules read and what they capture. */
/* Appends each unfolded, RFC 2047-decoded, left-trimmed value of the field called name in a
 * header block to out, one per line. */
void rules_text_field_values(const char *block, size_t len, const char *name, struct strbuf *out);
/* Appends HTML reduced to text: style and script dropped, tags removed, block ends made line
 * breaks, a few entities decoded. */
void rules_text_html(struct strbuf *out, const char *p, size_t len);
/* An address as a rule captured it, brackets, quotes and trailing punctuation dropped, the
 * domain lowercased, into out. False when it is not a plausible local@domain. */
bool rules_text_address(const char *p, size_t len, struct strbuf *out);
/* The alias a report names right after a recipient's address, "<a@x> (expanded from <b@y>)"
 * (Postfix) or "a@x... (expanded from: b@y)" (Sendmail): p is the text just after the address.
 * Copies b@y into out as rules_text_address does; false when there is none. */
bool rules_text_expanded_from(const char *p, size_t len, struct strbuf *out);
/* A recipient rule's addr capture without '@': a mail system naming one of its own users by
 * the local part alone. True when p is one (trailing punctuation dropped: *len_r is what
 * remains); rules_extract finds its domain. */
bool rules_text_local_part(const char *p, size_t len, size_t *len_r);
/* Diagnostic text: white space collapsed, trimmed, cut at LIMIT_DIAGNOSTIC_BYTES on a character
 * boundary. NULL when empty; the caller frees. */
char *rules_text_diag(const char *p, size_t len);
/* The lines after s[from] up to a blank line (at most a few): a diagnostic. Caller frees. */
char *rules_text_paragraph_after(const char *s, size_t len, size_t from);
/* The paragraph around s[pos]; with extend, the paragraphs before and after it too. */
char *rules_text_paragraph_around(const char *s, size_t len, size_t pos, bool extend);
/* Is name in the comma-separated list? */
bool rules_text_in_list(const char *list, const char *name);
/* Is diag nothing but addr with brackets and punctuation? */
bool rules_text_only_address(const char *diag, const char *addr);

#endif
