/* The heuristic rule engine: loading and compiling rule files, and matching them with bounded
 * work. What the rules mean for a message (families, recipients) is in rules_extract.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules.h"
#include "rules_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "limits.h"
#include "strbuf.h"

/* A rule file larger than this is refused: the shipped ones are a few KiB. */
#define RULES_FILE_MAX_BYTES	(4u * 1024 * 1024)
/* Rules in one set, all files together: bounds compile time and memory at start-up. */
#define RULES_MAX		10000
/* Longest pattern after joining continuation lines. */
#define RULES_PATTERN_MAX	8192
/* The JIT stack of a scratch (struct rules_scratch), which JIT-compiled matches backtrack on instead of the depth
 * LIMIT_REGEX_DEPTH bounds: it starts at PCRE2's own default (32 KiB) and may grow to 512 KiB.
 * The shipped rules give the same results on the corpus, the fixtures (hostile ones included)
 * and the fuzz corpus with 8 KiB; the room is for operators' rules. A match that needs more is
 * a limit hit (no match, flagged): this bounds memory per scratch, not what a bounce says. */
#define RULES_JIT_STACK_START	(32 * 1024)
#define RULES_JIT_STACK_MAX	(512 * 1024)

struct rules_embedded { const char *name; const char *text; size_t len; };
extern const struct rules_embedded rules_embedded[];
extern const size_t rules_embedded_count;

static const struct {
	const char *name;
	enum rule_type type;
} type_names[] = {
	{ "family", RULE_FAMILY },
	{ "sender", RULE_SENDER },
	{ "cut", RULE_CUT },
	{ "forward", RULE_FORWARD },
	{ "recipient", RULE_RECIPIENT },
	{ "delayed", RULE_DELAYED },
	{ "reason", RULE_REASON },
};

/* Header fields a rule may read by name, besides any X- field (extension fields, which no list
 * can name): a name outside them is a typo that would make the rule never match. */
static const char *const known_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
	"References", "Received", "Return-Path", "Content-Type", "MIME-Version", "User-Agent",
	"Auto-Submitted", "Precedence", "List-Id", "List-Unsubscribe", "Delivered-To", "Organization",
	"Envelope-To",
};

/* The named groups a rule may capture (rules_extract.c reads them). */
static const char *const known_groups[] = { "addr", "code", "status", "diag", "action" };

/* Words that start a statement other than a rule: a rule cannot be named so. */
#define KW_DEFINE	"define"
#define KW_REPLACE	"replace"
#define KW_DISABLE	"disable"

static void
rule_clear(struct rule *ru)
{
	free(ru->name);
	free(ru->field);
	free(ru->value);
	free(ru->origin);
	rules_filter_free(ru->filter);
	pcre2_code_free(ru->re);
	for (size_t i = 0; i < ru->ntests; i++)
		free(ru->tests[i].text);
	free(ru->tests);
	memset(ru, 0, sizeof *ru);
}

void
rules_free(struct rules *rules)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < rules->n; i++)
		rule_clear(&rules->v[i]);
	free(rules->v);
	rules_index_free(rules->ix_reason);
	rules_index_free(rules->ix_other);
	for (size_t i = 0; i < rules->nfiles; i++)
		free(rules->files[i]);
	free(rules->files);
	free(rules);
}

struct rules_scratch *
rules_scratch_new(void)
{
	return xcalloc(1, sizeof(struct rules_scratch));
}

void
rules_scratch_free(struct rules_scratch *sc)
{
	if (sc == NULL)
		return;
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mctx);
	pcre2_jit_stack_free(sc->jit_stack);
	free(sc->fold);
	free(sc->hit);
	free(sc->found);
	free(sc->cand_reason);
	free(sc);
}

void
rules_scratch_fit(struct rules_scratch *sc, const struct rules *rules)
{
	if (sc->mctx == NULL) {
		sc->mctx = pcre2_match_context_create(NULL);
		if (sc->mctx == NULL)
			abort();
		/* Every match is bounded: a hostile bounce must not make a rule backtrack for ever. */
		pcre2_set_match_limit(sc->mctx, LIMIT_REGEX_MATCH);
		pcre2_set_depth_limit(sc->mctx, LIMIT_REGEX_DEPTH);
		sc->jit_stack = pcre2_jit_stack_create(RULES_JIT_STACK_START, RULES_JIT_STACK_MAX, NULL);
		if (sc->jit_stack != NULL)
			pcre2_jit_stack_assign(sc->mctx, NULL, sc->jit_stack);
	}
	if (sc->md == NULL || sc->md_pairs < rules->max_captures + 1) {
		pcre2_match_data_free(sc->md);
		sc->md_pairs = rules->max_captures + 1;
		sc->md = pcre2_match_data_create(sc->md_pairs, NULL);
		if (sc->md == NULL)
			abort();
	}
	size_t words = rules_cand_words(rules) + 1;
	if (sc->cand_words < words) {
		sc->cand_words = words;
		sc->cand_reason = xrealloc(sc->cand_reason, words * sizeof *sc->cand_reason);
	}
}

/* Sets *error_r to "ORIGIN:LINE: what", or "ORIGIN: what" when line is 0 (the whole file). */
static void set_error(char **error_r, const char *origin, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
set_error(char **error_r, const char *origin, int line, const char *fmt, ...)
{
	if (error_r == NULL)
		return;
	struct strbuf b = STRBUF_INIT;
	if (line > 0)
		strbuf_printf(&b, "%s:%d: ", origin, line);
	else
		strbuf_printf(&b, "%s: ", origin);	/* about the whole file */
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		char *msg = xmalloc((size_t)n + 1);
		vsnprintf(msg, (size_t)n + 1, fmt, ap2);
		strbuf_append(&b, msg, (size_t)n);
		free(msg);
	}
	va_end(ap2);
	*error_r = strbuf_detach(&b);
}

static bool
parse_type(const char *s, enum rule_type *t)
{
	for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
		if (strcmp(s, type_names[i].name) == 0) {
			*t = type_names[i].type;
			return true;
		}
	return false;
}

/* Splits the next whitespace-separated word off *p (modified in place). */
static char *
next_word(char **p)
{
	char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	char *w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* One load of rule files: the rules so far, what the files define, and the file being read. */
struct load {
	struct rules *rules;
	struct def {
		char *name, *body, *origin;
	} *defs;
	size_t ndefs, capdefs;
	struct gone {
		char *name, *origin;	/* a rule a disable removed, and where */
	} *gone;
	size_t ngone, capgone;
	const char *file;	/* the file being read, as the rules' origins name it */
	bool local;		/* it is an operator's file */
	bool builtin;		/* it is a copy built into the binary */
	char **error_r;
};

static void
load_free(struct load *ld)
{
	for (size_t i = 0; i < ld->ndefs; i++) {
		free(ld->defs[i].name);
		free(ld->defs[i].body);
		free(ld->defs[i].origin);
	}
	free(ld->defs);
	for (size_t i = 0; i < ld->ngone; i++) {
		free(ld->gone[i].name);
		free(ld->gone[i].origin);
	}
	free(ld->gone);
}

/* Remembers the name of a file rules come from; their origins point into the list. */
static const char *
load_file_name(struct load *ld, const char *name)
{
	struct rules *rules = ld->rules;
	rules->files = xrealloc(rules->files, (rules->nfiles + 1) * sizeof *rules->files);
	rules->files[rules->nfiles] = xstrdup(name);
	return rules->files[rules->nfiles++];
}

static struct rule *
find_rule(const struct rules *rules, const char *name)
{
	for (size_t i = 0; i < rules->n; i++)
		if (strcmp(rules->v[i].name, name) == 0)
			return &rules->v[i];
	return NULL;
}

static const struct gone *
find_gone(const struct load *ld, const char *name)
{
	for (size_t i = 0; i < ld->ngone; i++)
		if (strcmp(ld->gone[i].name, name) == 0)
			return &ld->gone[i];
	return NULL;
}

static const struct def *
find_def(const struct load *ld, const char *name, size_t len)
{
	for (size_t i = 0; i < ld->ndefs; i++)
		if (strlen(ld->defs[i].name) == len && memcmp(ld->defs[i].name, name, len) == 0)
			return &ld->defs[i];
	return NULL;
}

static bool
def_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

/* Appends p[0..len) to out with each %{NAME} written out as the pattern defined for NAME. */
static bool
expand(struct load *ld, const char *p, size_t len, struct strbuf *out, int lineno)
{
	const char *end = p + len;
	while (p < end) {
		const char *m = memchr(p, '%', (size_t)(end - p));
		if (m == NULL || m + 1 >= end || m[1] != '{') {
			const char *upto = m != NULL ? m + 1 : end;
			strbuf_append(out, p, (size_t)(upto - p));
			p = upto;
			continue;
		}
		strbuf_append(out, p, (size_t)(m - p));
		const char *n = m + 2, *q = n;
		while (q < end && def_name_char(*q))
			q++;
		const struct def *d = q < end && *q == '}' ? find_def(ld, n, (size_t)(q - n)) : NULL;
		if (d == NULL) {
			struct strbuf names = STRBUF_INIT;
			for (size_t i = 0; i < ld->ndefs; i++)
				strbuf_printf(&names, "%s%s", i ? ", " : "", ld->defs[i].name);
			const char *close = memchr(n, '}', (size_t)(end - n));
			int shown = close != NULL && close - m < 80 ? (int)(close - m + 1) : 2;
			set_error(ld->error_r, ld->file, lineno,
			    "unknown definition '%.*s' (defined before this line: %s; write '%%\\{' for a "
			    "literal '%%{')", shown, m, names.len ? names.s : "none");
			strbuf_free(&names);
			return false;
		}
		strbuf_puts(out, d->body);
		p = q + 1;
	}
	return true;
}

/* One physical line's share of a rule's pattern: a compile error is reported at the line and
 * column where PCRE2's offset in the joined pattern falls, not at the rule's first line. */
struct piece {
	size_t off;		/* where the piece starts in the joined pattern (or in cont) */
	int line;		/* the file's line it comes from */
	size_t col;		/* the byte of that line it starts at, from 0 */
};

/* A statement being read: its first line, the lines that continue it, and the examples
 * written beside it. */
struct stmt {
	struct strbuf first;	/* its first line, definitions written out */
	int line;
	struct strbuf cont;	/* the continuation lines joined, definitions written out */
	struct piece *pieces;	/* where each continuation line starts in cont */
	size_t npieces, cappieces;
	struct rule_test *tests;
	size_t ntests, captests;
};

static void
pieces_add(struct piece **v, size_t *n, size_t *cap, size_t off, int line, size_t col)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = (struct piece){ .off = off, .line = line, .col = col };
}

/* The line and 1-based column of offset off of the joined pattern: in the last piece that
 * starts at or before it (an offset at the very end falls at the end of the last line). */
static void
pieces_locate(const struct piece *v, size_t n, size_t off, int *line_r, size_t *col_r)
{
	size_t i = 0;
	while (i + 1 < n && v[i + 1].off <= off)
		i++;
	*line_r = v[i].line;
	*col_r = v[i].col + (off - v[i].off) + 1;
}

static void
stmt_reset(struct stmt *st)
{
	strbuf_reset(&st->first);
	strbuf_reset(&st->cont);
	st->npieces = 0;
	for (size_t i = 0; i < st->ntests; i++)
		free(st->tests[i].text);
	st->ntests = 0;
	st->line = 0;
}

static void
stmt_free(struct stmt *st)
{
	stmt_reset(st);
	strbuf_free(&st->first);
	strbuf_free(&st->cont);
	free(st->pieces);
	free(st->tests);
}

static bool
known_field(const char *where)
{
	if (strncasecmp(where, "X-", 2) == 0 && where[2] != '\0')
		return true;
	for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
		if (strcasecmp(where, known_fields[i]) == 0)
			return true;
	return false;
}

/* The named groups of re outside known_groups, for an error; NULL when there are none. */
static char *
unknown_groups(const pcre2_code *re)
{
	uint32_t count = 0, size = 0;
	PCRE2_SPTR table = NULL;
	if (pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count) != 0 || count == 0 ||
	    pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &size) != 0 ||
	    pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table) != 0)
		return NULL;
	struct strbuf b = STRBUF_INIT;
	for (uint32_t i = 0; i < count; i++) {
		const char *name = (const char *)(table + (size_t)i * size + 2);
		bool known = false;
		for (size_t k = 0; k < sizeof known_groups / sizeof known_groups[0]; k++)
			known = known || strcmp(name, known_groups[k]) == 0;
		if (!known)
			strbuf_printf(&b, "%s(?<%s>...)", b.len ? ", " : "", name);
	}
	return strbuf_detach(&b);
}

static int
group(const pcre2_code *re, const char *name)
{
	int n = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
	return n > 0 ? n : -1;
}

/* Compiles rule NAME TYPE WHERE VALUE with pattern p (its pieces say where each line of it
 * starts) into *ru. */
static bool
compile_rule(struct load *ld, struct rule *ru, const char *name, const char *type,
    const char *where, const char *value, const char *p, const struct piece *map, size_t nmap,
    int lineno)
{
	char **error_r = ld->error_r;
	memset(ru, 0, sizeof *ru);
	if (!parse_type(type, &ru->type)) {
		set_error(error_r, ld->file, lineno, "unknown rule type '%s' (types: family, sender, "
		    "cut, forward, recipient, delayed, reason)", type);
		return false;
	}
	/* "user_unknown/rcpt": the wording names the address only when the refusal came before
	 * DATA or the code is about the address (x.1.x); after DATA it is a filter (classify.c). */
	char reason_name[64];
	const char *slash = strchr(value, '/');
	size_t rlen = slash != NULL ? (size_t)(slash - value) : strlen(value);
	if (ru->type == RULE_REASON && slash != NULL && strcmp(slash, "/rcpt") == 0)
		ru->rcpt_only = true;
	else if (slash != NULL)
		rlen = sizeof reason_name;	/* an unknown qualifier: refused below */
	if (rlen < sizeof reason_name) {
		memcpy(reason_name, value, rlen);
		reason_name[rlen] = '\0';
	} else
		reason_name[0] = '\0';
	if (ru->type == RULE_REASON && !bounce_reason_from_name(reason_name, &ru->reason)) {
		set_error(error_r, ld->file, lineno, "unknown reason '%s'", value);
		return false;
	}
	if (strcasecmp(where, "text") == 0)
		ru->where = WHERE_TEXT;
	else if (strcasecmp(where, "diag") == 0)
		ru->where = WHERE_DIAG;
	else if (strcasecmp(where, "headers") == 0)
		ru->where = WHERE_HEADERS;
	else if (known_field(where))
		ru->where = WHERE_FIELD;
	else {
		struct strbuf names = STRBUF_INIT;
		for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
			strbuf_printf(&names, "%s%s", i ? ", " : "", known_fields[i]);
		set_error(error_r, ld->file, lineno, "unknown field '%s' (fields: text, diag, headers, "
		    "or a header field: %s, or any X- field)", where, names.s);
		strbuf_free(&names);
		return false;
	}
	if ((ru->type == RULE_REASON) != (ru->where == WHERE_DIAG) ||
	    ((ru->type == RULE_CUT || ru->type == RULE_FORWARD) && ru->where != WHERE_TEXT)) {
		set_error(error_r, ld->file, lineno, "a %s rule cannot read '%s'", type, where);
		return false;
	}

	int errcode;
	PCRE2_SIZE erroff;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS | PCRE2_MULTILINE |
	    PCRE2_UCP;
	ru->re = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED, opts, &errcode, &erroff, NULL);
	if (ru->re == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof msg);
		int eline;
		size_t ecol;
		pieces_locate(map, nmap, (size_t)erroff, &eline, &ecol);
		set_error(error_r, ld->file, eline, "%s at column %zu", (const char *)msg, ecol);
		return false;
	}
	char *unknown = unknown_groups(ru->re);
	if (unknown != NULL && unknown[0] != '\0') {
		set_error(error_r, ld->file, lineno, "unknown group %s (groups: (?<addr>...), "
		    "(?<code>...), (?<status>...), (?<diag>...), (?<action>...))", unknown);
		free(unknown);
		rule_clear(ru);
		return false;
	}
	free(unknown);
	ru->g_addr = group(ru->re, "addr");
	if (ru->type == RULE_RECIPIENT && ru->g_addr < 0) {
		set_error(error_r, ld->file, lineno, "recipient rule '%s' needs a (?<addr>...) group",
		    name);
		rule_clear(ru);
		return false;
	}
	(void)pcre2_jit_compile(ru->re, PCRE2_JIT_COMPLETE);	/* without JIT it still works */
	ru->g_code = group(ru->re, "code");
	ru->g_status = group(ru->re, "status");
	ru->g_diag = group(ru->re, "diag");
	ru->g_action = group(ru->re, "action");
	if (ru->where == WHERE_FIELD)
		ru->field = xstrdup(where);
	ru->filter = rules_filter_new(p);
	ru->any_family = rules_text_in_list(value, "*");
	ru->name = xstrdup(name);
	ru->value = xstrdup(value);
	ru->file = ld->file;
	ru->local = ld->local;
	ru->builtin = ld->builtin;
	struct strbuf o = STRBUF_INIT;
	strbuf_printf(&o, "%s:%d", ld->file, lineno);
	ru->origin = strbuf_detach(&o);
	return true;
}

static void
add_compiled(struct rules *rules, struct rule *ru)
{
	uint32_t ncap = 0;
	if (pcre2_pattern_info(ru->re, PCRE2_INFO_CAPTURECOUNT, &ncap) == 0 &&
	    ncap > rules->max_captures)
		rules->max_captures = ncap;
	if (rules->n == rules->cap) {
		rules->cap = rules->cap ? rules->cap * 2 : 64;
		rules->v = xrealloc(rules->v, rules->cap * sizeof *rules->v);
	}
	rules->v[rules->n++] = *ru;
}

/* "Rule 'x' is already defined at FILE:LINE", with what to write instead. */
static void
duplicate_error(struct load *ld, int lineno, const char *what, const char *name,
    const char *where, bool gone)
{
	if (gone)
		set_error(ld->error_r, ld->file, lineno, "%s '%s' was disabled at %s", what, name,
		    where);
	else
		set_error(ld->error_r, ld->file, lineno, "%s '%s' is already defined at %s (write "
		    "'replace %s ...' to replace it, or 'disable %s')", what, name, where, name, name);
}

/* Reads a statement: a rule, "replace" and a rule, "disable NAME" or "define NAME PATTERN". */
static bool
add_stmt(struct load *ld, struct stmt *st)
{
	struct rules *rules = ld->rules;
	char *line = st->first.s;
	int lineno = st->line;
	char *p = line;
	const char *cont = st->cont.s != NULL ? st->cont.s : "";
	char *word = next_word(&p);
	bool replace = strcmp(word, KW_REPLACE) == 0;
	if (strcmp(word, KW_DISABLE) == 0 || strcmp(word, KW_DEFINE) == 0) {
		bool define = word[1] == 'e' && word[2] == 'f';
		char *name = next_word(&p);
		while (*p == ' ' || *p == '\t')
			p++;
		if (st->ntests > 0) {
			set_error(ld->error_r, ld->file, st->tests[0].line, "an example belongs to a "
			    "rule, not to '%s'", word);
			return false;
		}
		if (!define) {
			if (name == NULL || *p != '\0' || cont[0] != '\0') {
				set_error(ld->error_r, ld->file, lineno, "expected 'disable NAME'");
				return false;
			}
			struct rule *old = find_rule(rules, name);
			const struct gone *g = find_gone(ld, name);
			if (old == NULL) {
				if (g != NULL)
					duplicate_error(ld, lineno, "rule", name, g->origin, true);
				else
					set_error(ld->error_r, ld->file, lineno, "disable: no rule '%s' "
					    "is defined before this line", name);
				return false;
			}
			ld->gone = xrealloc(ld->gone, (ld->ngone + 1) * sizeof *ld->gone);
			struct strbuf o = STRBUF_INIT;
			strbuf_printf(&o, "%s:%d", ld->file, lineno);
			ld->gone[ld->ngone].name = xstrdup(name);
			ld->gone[ld->ngone++].origin = strbuf_detach(&o);
			size_t i = (size_t)(old - rules->v);
			rule_clear(old);
			memmove(&rules->v[i], &rules->v[i + 1], (rules->n - i - 1) * sizeof *rules->v);
			rules->n--;
			return true;
		}
		if (name == NULL || (*p == '\0' && cont[0] == '\0')) {
			set_error(ld->error_r, ld->file, lineno, "expected 'define NAME PATTERN'");
			return false;
		}
		for (const char *c = name; *c != '\0'; c++)
			if (!def_name_char(*c)) {
				set_error(ld->error_r, ld->file, lineno, "a definition's name is letters, "
				    "digits, '-' and '_': '%s'", name);
				return false;
			}
		const struct def *d = find_def(ld, name, strlen(name));
		if (d != NULL) {
			set_error(ld->error_r, ld->file, lineno, "'%s' is already defined at %s", name,
			    d->origin);
			return false;
		}
		struct strbuf body = STRBUF_INIT, o = STRBUF_INIT;
		strbuf_printf(&body, "%s%s", p, cont);
		strbuf_printf(&o, "%s:%d", ld->file, lineno);
		ld->defs = xrealloc(ld->defs, (ld->ndefs + 1) * sizeof *ld->defs);
		ld->defs[ld->ndefs++] = (struct def){ .name = xstrdup(name), .body = strbuf_detach(&body),
			.origin = strbuf_detach(&o) };
		return true;
	}
	char *name = replace ? next_word(&p) : word;
	char *type = next_word(&p), *where = next_word(&p), *value = next_word(&p);
	while (*p == ' ' || *p == '\t')
		p++;
	if (name == NULL || type == NULL || where == NULL || value == NULL ||
	    (*p == '\0' && cont[0] == '\0')) {
		set_error(ld->error_r, ld->file, lineno, replace ?
		    "expected 'replace NAME TYPE WHERE VALUE PATTERN'" :
		    "expected NAME TYPE WHERE VALUE PATTERN");
		return false;
	}
	struct rule *old = find_rule(rules, name);
	const struct gone *g = find_gone(ld, name);
	if (replace && old == NULL) {
		if (g != NULL)
			duplicate_error(ld, lineno, "rule", name, g->origin, true);
		else
			set_error(ld->error_r, ld->file, lineno, "replace: no rule '%s' is defined "
			    "before this line", name);
		return false;
	}
	if (!replace && (old != NULL || g != NULL)) {
		duplicate_error(ld, lineno, "rule", name, old != NULL ? old->origin : g->origin,
		    old == NULL);
		return false;
	}
	if (!replace && rules->n >= RULES_MAX) {
		set_error(ld->error_r, ld->file, lineno, "more than %d rules", RULES_MAX);
		return false;
	}
	/* the pattern: the rest of the first line, then the continuation lines */
	struct strbuf pat = STRBUF_INIT;
	strbuf_puts(&pat, p);
	struct piece *map = NULL;
	size_t nmap = 0, capmap = 0;
	pieces_add(&map, &nmap, &capmap, 0, lineno, (size_t)(p - line));
	for (size_t i = 0; i < st->npieces; i++)
		pieces_add(&map, &nmap, &capmap, pat.len + st->pieces[i].off, st->pieces[i].line,
		    st->pieces[i].col);
	strbuf_puts(&pat, cont);
	struct rule ru;
	bool ok = compile_rule(ld, &ru, name, type, where, value, pat.s, map, nmap, lineno);
	free(map);
	strbuf_free(&pat);
	if (!ok)
		return false;
	ru.tests = st->tests;
	ru.ntests = st->ntests;
	st->tests = NULL;
	st->ntests = st->captests = 0;
	if (replace) {
		/* in the place of the rule it replaces: where it stood in the order it is tried */
		ru.local = old->local;
		rule_clear(old);
		*old = ru;
		uint32_t ncap = 0;
		if (pcre2_pattern_info(ru.re, PCRE2_INFO_CAPTURECOUNT, &ncap) == 0 &&
		    ncap > rules->max_captures)
			rules->max_captures = ncap;
	} else
		add_compiled(rules, &ru);
	return true;
}

/* "# test: TEXT" or "# test-not: TEXT" (q at the '#', ll the line's end): adds the example to
 * st. Returns 0 for another comment, 1 for an example, -1 on error. */
static int
add_example(struct load *ld, struct stmt *st, const char *q, const char *le, int lineno)
{
	const char *c = q + 1;
	while (c < le && (*c == ' ' || *c == '\t'))
		c++;
	bool want;
	if ((size_t)(le - c) >= 5 && memcmp(c, "test:", 5) == 0) {
		want = true;
		c += 5;
	} else if ((size_t)(le - c) >= 9 && memcmp(c, "test-not:", 9) == 0) {
		want = false;
		c += 9;
	} else
		return 0;
	while (c < le && (*c == ' ' || *c == '\t'))
		c++;
	const char *e = le;
	while (e > c && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (st->line == 0) {
		set_error(ld->error_r, ld->file, lineno, "an example (%s) with no rule above it",
		    want ? "# test:" : "# test-not:");
		return -1;
	}
	if (c == e) {
		set_error(ld->error_r, ld->file, lineno, "an empty example");
		return -1;
	}
	struct strbuf t = STRBUF_INIT;
	for (; c < e; c++) {
		if (*c == '\\' && c + 1 < e && (c[1] == 'n' || c[1] == 't' || c[1] == '\\')) {
			c++;
			strbuf_putc(&t, *c == 'n' ? '\n' : *c == 't' ? '\t' : '\\');
		} else
			strbuf_putc(&t, *c);
	}
	if (st->ntests == st->captests) {
		st->captests = st->captests ? st->captests * 2 : 4;
		st->tests = xrealloc(st->tests, st->captests * sizeof *st->tests);
	}
	size_t len = t.len;
	st->tests[st->ntests++] = (struct rule_test){ .text = strbuf_detach(&t), .len = len,
		.want = want, .line = lineno };
	return 1;
}

/* Parses a whole rule file held in memory. A line that starts with white space continues the
 * statement above it (joined without the leading white space). */
static bool
add_text(struct load *ld, const char *text, size_t len)
{
	struct stmt st;
	memset(&st, 0, sizeof st);
	int lineno = 0;
	bool ok = true;
	const char *p = text, *end = text + len;
	while (ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		lineno++;
		size_t ll = (size_t)(le - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (memchr(p, '\0', ll) != NULL) {
			set_error(ld->error_r, ld->file, lineno, "NUL byte in rule");
			ok = false;
			break;
		}
		bool cont_line = ll > 0 && (p[0] == ' ' || p[0] == '\t');
		const char *q = p;
		while (q < p + ll && (*q == ' ' || *q == '\t'))
			q++;
		if (q < p + ll && *q == '#') {
			/* comments neither end nor continue a statement; examples go with it */
			ok = add_example(ld, &st, q, p + ll, lineno) >= 0;
		} else if (q == p + ll) {
			/* a blank line */
		} else if (cont_line && st.line == 0) {
			set_error(ld->error_r, ld->file, lineno, "continuation line without a rule");
			ok = false;
		} else if (cont_line) {
			pieces_add(&st.pieces, &st.npieces, &st.cappieces, st.cont.len, lineno,
			    (size_t)(q - p));
			ok = expand(ld, q, (size_t)(p + ll - q), &st.cont, lineno);
			if (ok && st.first.len + st.cont.len > RULES_PATTERN_MAX) {
				set_error(ld->error_r, ld->file, st.line, "rule too long");
				ok = false;
			}
		} else {
			if (st.line > 0)
				ok = add_stmt(ld, &st);
			stmt_reset(&st);
			st.line = lineno;
			ok = ok && expand(ld, p, ll, &st.first, lineno);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (ok && st.line > 0)
		ok = add_stmt(ld, &st);
	stmt_free(&st);
	return ok;
}

static bool
add_file(struct load *ld, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		set_error(ld->error_r, path, 0, "cannot open: %s", strerror(errno));
		return false;
	}
	struct strbuf b = STRBUF_INIT;
	char buf[8192];
	size_t n;
	bool ok = true;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		strbuf_append(&b, buf, n);
		if (b.len > RULES_FILE_MAX_BYTES) {
			set_error(ld->error_r, path, 0, "file larger than %u bytes", RULES_FILE_MAX_BYTES);
			ok = false;
			break;
		}
	}
	if (ok && ferror(f)) {
		set_error(ld->error_r, path, 0, "cannot read: %s", strerror(errno));
		ok = false;
	}
	fclose(f);
	if (ok) {
		ld->file = load_file_name(ld, path);
		ok = add_text(ld, b.s != NULL ? b.s : "", b.len);
	}
	strbuf_free(&b);
	return ok;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What an operator is told a rules directory must be. */
#define RULES_DIR_EXPECTED	"expected a directory of rule files named *.rules"

/* A directory stands for its *.rules files in name order; one without any is an error (a
 * mistyped [rules] dir would otherwise turn every shipped rule off without a word). With
 * want_dir, path must be such a directory. */
static bool
add_path(struct load *ld, const char *path, bool want_dir)
{
	DIR *d = opendir(path);
	if (d == NULL && want_dir) {
		if (errno == ENOTDIR)
			set_error(ld->error_r, path, 0, "not a directory (%s)", RULES_DIR_EXPECTED);
		else
			set_error(ld->error_r, path, 0, "cannot open: %s (%s)", strerror(errno),
			    RULES_DIR_EXPECTED);
		return false;
	}
	if (d == NULL)
		return add_file(ld, path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 7 || de->d_name[0] == '.' || strcmp(de->d_name + l - 6, ".rules") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "%s/%s", path, de->d_name);
		names[n++] = strbuf_detach(&b);
	}
	closedir(d);
	if (n == 0) {
		set_error(ld->error_r, path, 0, "no *.rules file in this directory (%s)",
		    RULES_DIR_EXPECTED);
		return false;
	}
	qsort(names, n, sizeof *names, cmp_str);
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (ok)
			ok = add_file(ld, names[i]);
		free(names[i]);
	}
	free(names);
	return ok;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s != NULL ? s + 1 : path;
}

/* Where the rules of one load come from. */
struct sources {
	const char *dir;		/* the shipped rules' directory; NULL: the built-in copies */
	const char *const *local;	/* operators' files (or directories), in order */
	size_t nlocal;
	/* A local file named as a shipped file (reasons.rules) stands in for the built-in copy
	 * (`bounced rules check` of an edited copy of the shipped files). */
	bool stand_in;
	const char *text_origin;	/* instead of all the above, one file held in memory */
	const char *text;
	size_t text_len;
};

/* The one loader: the shipped rules (a directory, or the copies built into the binary), then
 * the operators' files, each statement in order; then the operators' rules are put first, to
 * be tried before the shipped ones, and the set gets its prefilter. */
static struct rules *
load_sources(const struct sources *src, char **error_r)
{
	struct rules *rules = xcalloc(1, sizeof *rules);
	struct load ld;
	memset(&ld, 0, sizeof ld);
	ld.rules = rules;
	ld.error_r = error_r;
	bool ok = true;
	if (src->text != NULL) {
		ld.file = load_file_name(&ld, src->text_origin);
		ok = add_text(&ld, src->text, src->text_len);
	} else if (src->dir != NULL)
		ok = add_path(&ld, src->dir, true);
	else
		for (size_t i = 0; ok && i < rules_embedded_count; i++) {
			const char *path = NULL;
			for (size_t k = 0; src->stand_in && k < src->nlocal; k++)
				if (strcmp(base_name(src->local[k]), rules_embedded[i].name) == 0)
					path = src->local[k];
			if (path != NULL) {
				ok = add_file(&ld, path);
				continue;
			}
			ld.file = load_file_name(&ld, rules_embedded[i].name);
			ld.builtin = true;
			ok = add_text(&ld, rules_embedded[i].text, rules_embedded[i].len);
			ld.builtin = false;
		}
	ld.local = true;
	for (size_t k = 0; ok && k < src->nlocal; k++) {
		bool stood_in = false;
		for (size_t i = 0; src->stand_in && src->dir == NULL && i < rules_embedded_count; i++)
			stood_in = stood_in || strcmp(base_name(src->local[k]), rules_embedded[i].name) == 0;
		if (!stood_in)
			ok = add_path(&ld, src->local[k], false);
	}
	load_free(&ld);
	if (!ok) {
		rules_free(rules);
		return NULL;
	}
	/* a stable partition: the operators' rules first, each part in file order */
	struct rule *v = xmalloc((rules->n > 0 ? rules->n : 1) * sizeof *v);
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < rules->n; i++)
			if (rules->v[i].local == (pass == 0))
				v[k++] = rules->v[i];
	free(rules->v);
	rules->v = v;
	rules->cap = rules->n;
	rules->ix_reason = rules_index_build(rules, true);
	rules->ix_other = rules_index_build(rules, false);
	return rules;
}

struct rules *
rules_load(const char *dir, const char *local, char **error_r)
{
	struct sources src = { .dir = dir, .local = &local, .nlocal = local != NULL ? 1 : 0 };
	return load_sources(&src, error_r);
}

struct rules *
rules_load_text(const char *origin, const char *text, size_t len, char **error_r)
{
	struct sources src = { .text_origin = origin, .text = text, .text_len = len };
	return load_sources(&src, error_r);
}

const struct rules *
rules_builtin(void)
{
	static struct rules *builtin;
	if (builtin != NULL)
		return builtin;
	char *err = NULL;
	struct sources src = { 0 };
	builtin = load_sources(&src, &err);
	/* The shipped rules are tested at build time (tests/rules); a failure here is a broken
	 * build, not bad input. */
	if (builtin == NULL) {
		fprintf(stderr, "bounced: built-in rules: %s\n", err);
		abort();
	}
	return builtin;
}

struct rules *
rules_load_files(const char *const *paths, size_t npaths, char **error_r)
{
	struct sources src = { .local = paths, .nlocal = npaths, .stand_in = true };
	return load_sources(&src, error_r);
}

int
rules_match(struct rules_scratch *sc, const struct rule *ru, const char *s, size_t len,
    size_t start, bool *limit_hit)
{
	int rc = pcre2_match(ru->re, (PCRE2_SPTR)s, len, start, 0, sc->md, sc->mctx);
	if (rc >= 0)
		return rc > 0 ? rc : 1;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
		if (limit_hit != NULL)
			*limit_hit = true;
	}
	return -1;
}

const struct rule *
rules_reason_rule(const struct rules *rules, struct rules_scratch *sc, const char *text,
    size_t len, size_t *at_r, size_t *match_len_r, bool *limit_hit_r)
{
	if (rules == NULL)
		rules = rules_builtin();
	if (text == NULL || len == 0)
		return NULL;
	struct rules_scratch *own = sc == NULL ? (sc = rules_scratch_new()) : NULL;
	rules_scratch_fit(sc, rules);
	/* Only the rules whose literals the text holds can match: the first of them that does is
	 * the first rule that matches at all. */
	rules_index_scan(rules, rules->ix_reason, sc, text, len, sc->cand_reason);
	const struct rule *hit = NULL;
	for (size_t i = 0; i < rules->n && hit == NULL; i++) {
		const struct rule *ru = &rules->v[i];
		if (ru->type != RULE_REASON || !rules_cand(sc->cand_reason, i))
			continue;
		if (rules_match(sc, ru, text, len, 0, limit_hit_r) > 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
			if (at_r != NULL)
				*at_r = ov[0];
			if (match_len_r != NULL)
				*match_len_r = ov[1] > ov[0] ? ov[1] - ov[0] : 0;
			hit = ru;
		}
	}
	rules_scratch_free(own);
	return hit;
}

bool
rules_reason(const struct rules *rules, struct rules_scratch *sc, const char *text, size_t len,
    enum bounce_reason *reason_r, const char **rule_r, bool *limit_hit_r)
{
	bool hit = false;
	const struct rule *ru = rules_reason_rule(rules, sc, text, len, NULL, NULL, &hit);
	if (limit_hit_r != NULL && hit)
		*limit_hit_r = true;
	if (ru == NULL)
		return false;
	*reason_r = ru->reason;
	*rule_r = ru->name;
	return true;
}
