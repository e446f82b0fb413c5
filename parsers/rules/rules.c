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

#include "bounced-config.h"
#include "limits.h"
#include "strbuf.h"

/* A rule file larger than this is refused: the shipped ones are a few KiB. */
#define RULES_FILE_MAX_BYTES	(4u * 1024 * 1024)
/* Rules in one set, all files together: bounds compile time and memory at start-up. */
#define RULES_MAX		10000
/* Longest pattern after joining continuation lines. */
#define RULES_PATTERN_MAX	8192
/* The JIT stack of a rule set, which JIT-compiled matches backtrack on instead of the depth
 * LIMIT_REGEX_DEPTH bounds: it starts at PCRE2's own default (32 KiB) and may grow to 512 KiB.
 * The shipped rules give the same results on the corpus, the fixtures (hostile ones included)
 * and the fuzz corpus with 8 KiB; the room is for operators' rules. A match that needs more is
 * a limit hit (no match, flagged): this bounds memory per rule set, not what a bounce says. */
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

static void
rule_clear(struct rule *ru)
{
	free(ru->name);
	free(ru->field);
	free(ru->value);
	free(ru->origin);
	rules_filter_free(ru->filter);
	pcre2_code_free(ru->re);
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
	pcre2_match_context_free(rules->mctx);
	pcre2_jit_stack_free(rules->jit_stack);
	pcre2_match_data_free(rules->md);
	rules_index_free(rules->ix_reason);
	rules_index_free(rules->ix_other);
	if (rules->fold != NULL)
		free(rules->fold->s);
	free(rules->fold);
	free(rules->cand_reason);
	free(rules);
}

static struct rules *
rules_new(void)
{
	struct rules *rules = xcalloc(1, sizeof *rules);
	rules->mctx = pcre2_match_context_create(NULL);
	if (rules->mctx == NULL)
		abort();
	/* Every match is bounded: a hostile bounce must not make a rule backtrack for ever. */
	pcre2_set_match_limit(rules->mctx, LIMIT_REGEX_MATCH);
	pcre2_set_depth_limit(rules->mctx, LIMIT_REGEX_DEPTH);
	rules->jit_stack = pcre2_jit_stack_create(RULES_JIT_STACK_START, RULES_JIT_STACK_MAX, NULL);
	if (rules->jit_stack != NULL)
		pcre2_jit_stack_assign(rules->mctx, NULL, rules->jit_stack);
	return rules;
}

/* A loaded set gets the match data all its rules share. */
static struct rules *
rules_ready(struct rules *rules)
{
	rules->md = pcre2_match_data_create(rules->max_captures + 1, NULL);
	if (rules->md == NULL)
		abort();
	rules->ix_reason = rules_index_build(rules, true);
	rules->ix_other = rules_index_build(rules, false);
	rules->fold = xcalloc(1, sizeof *rules->fold);
	rules->cand_reason = xcalloc(rules_cand_words(rules) + 1, sizeof *rules->cand_reason);
	return rules;
}

/* Sets *error_r to "ORIGIN:LINE: what", or "ORIGIN: what" when line is 0 (the whole file). */
static void set_error(char **error_r, const char *origin, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
set_error(char **error_r, const char *origin, int line, const char *fmt, ...)
{
	if (error_r == NULL)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';	/* a cut message is still a useful one */
	struct strbuf b = STRBUF_INIT;
	if (line > 0)
		strbuf_printf(&b, "%s:%d: %s", origin, line, msg);
	else
		strbuf_printf(&b, "%s: %s", origin, msg);	/* about the whole file */
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

static int
group(const pcre2_code *re, const char *name)
{
	int n = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
	return n > 0 ? n : -1;
}

/* One physical line's share of a rule's pattern: a compile error is reported at the line and
 * column where PCRE2's offset in the joined pattern falls, not at the rule's first line. */
struct piece {
	size_t off;		/* where the piece starts in the joined pattern (or in cont) */
	int line;		/* the file's line it comes from */
	size_t col;		/* the byte of that line it starts at, from 0 */
};

struct pieces {
	struct piece *v;
	size_t n, cap;
};

static void
pieces_add(struct pieces *ps, size_t off, int line, size_t col)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 8;
		ps->v = xrealloc(ps->v, ps->cap * sizeof *ps->v);
	}
	ps->v[ps->n++] = (struct piece){ .off = off, .line = line, .col = col };
}

/* The line and 1-based column of offset off of the joined pattern: in the last piece that
 * starts at or before it (an offset at the very end falls at the end of the last line). */
static void
pieces_locate(const struct pieces *ps, size_t off, int *line_r, size_t *col_r)
{
	size_t i = 0;
	while (i + 1 < ps->n && ps->v[i + 1].off <= off)
		i++;
	*line_r = ps->v[i].line;
	*col_r = ps->v[i].col + (off - ps->v[i].off) + 1;
}

static bool compile_rule(struct rules *rules, const char *name, const char *type,
    const char *where, const char *value, const char *p, const struct pieces *map,
    const char *origin, int lineno, char **error_r);

/* Compiles one rule "NAME TYPE WHERE VALUE PATTERN" (line, the file's line lineno) whose
 * pattern goes on in cont, whose pieces say where each of its lines starts in it. */
static bool
add_rule(struct rules *rules, char *line, const char *cont, const struct pieces *cont_pieces,
    const char *origin, int lineno, char **error_r)
{
	char *p = line;
	char *name = next_word(&p), *type = next_word(&p), *where = next_word(&p);
	char *value = next_word(&p);
	while (*p == ' ' || *p == '\t')
		p++;
	if (name == NULL || type == NULL || where == NULL || value == NULL ||
	    (*p == '\0' && *cont == '\0')) {
		set_error(error_r, origin, lineno, "expected NAME TYPE WHERE VALUE PATTERN");
		return false;
	}
	struct strbuf pat = STRBUF_INIT;
	strbuf_puts(&pat, p);
	struct pieces map = { 0 };
	pieces_add(&map, 0, lineno, (size_t)(p - line));
	for (size_t i = 0; i < cont_pieces->n; i++)
		pieces_add(&map, pat.len + cont_pieces->v[i].off, cont_pieces->v[i].line,
		    cont_pieces->v[i].col);
	strbuf_puts(&pat, cont);
	bool ok = compile_rule(rules, name, type, where, value, pat.s, &map, origin, lineno,
	    error_r);
	free(map.v);
	strbuf_free(&pat);
	return ok;
}

static bool
compile_rule(struct rules *rules, const char *name, const char *type, const char *where,
    const char *value, const char *p, const struct pieces *map, const char *origin, int lineno,
    char **error_r)
{
	struct rule ru;
	memset(&ru, 0, sizeof ru);
	if (!parse_type(type, &ru.type)) {
		set_error(error_r, origin, lineno, "unknown rule type '%s'", type);
		return false;
	}
	/* "user_unknown/rcpt": the wording names the address only when the refusal came before
	 * DATA or the code is about the address (x.1.x); after DATA it is a filter (classify.c). */
	char reason_name[64];
	const char *slash = strchr(value, '/');
	size_t rlen = slash != NULL ? (size_t)(slash - value) : strlen(value);
	if (ru.type == RULE_REASON && slash != NULL && strcmp(slash, "/rcpt") == 0)
		ru.rcpt_only = true;
	else if (slash != NULL)
		rlen = sizeof reason_name;	/* an unknown qualifier: refused below */
	if (rlen < sizeof reason_name) {
		memcpy(reason_name, value, rlen);
		reason_name[rlen] = '\0';
	} else
		reason_name[0] = '\0';
	if (ru.type == RULE_REASON && !bounce_reason_from_name(reason_name, &ru.reason)) {
		set_error(error_r, origin, lineno, "unknown reason '%s'", value);
		return false;
	}
	if (rules->n >= RULES_MAX) {
		set_error(error_r, origin, lineno, "too many rules");
		return false;
	}
	if (strcasecmp(where, "text") == 0)
		ru.where = WHERE_TEXT;
	else if (strcasecmp(where, "diag") == 0)
		ru.where = WHERE_DIAG;
	else if (strcasecmp(where, "headers") == 0)
		ru.where = WHERE_HEADERS;
	else
		ru.where = WHERE_FIELD;
	if ((ru.type == RULE_REASON) != (ru.where == WHERE_DIAG) ||
	    ((ru.type == RULE_CUT || ru.type == RULE_FORWARD) && ru.where != WHERE_TEXT)) {
		set_error(error_r, origin, lineno, "a %s rule cannot read '%s'", type, where);
		return false;
	}
	if (ru.where == WHERE_FIELD)
		ru.field = xstrdup(where);

	int errcode;
	PCRE2_SIZE erroff;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS | PCRE2_MULTILINE |
	    PCRE2_UCP;
	ru.re = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED, opts, &errcode, &erroff, NULL);
	if (ru.re == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof msg);
		int eline;
		size_t ecol;
		pieces_locate(map, (size_t)erroff, &eline, &ecol);
		set_error(error_r, origin, eline, "%s at column %zu", (const char *)msg, ecol);
		free(ru.field);
		return false;
	}
	(void)pcre2_jit_compile(ru.re, PCRE2_JIT_COMPLETE);	/* without JIT it still works */
	ru.g_addr = group(ru.re, "addr");
	ru.g_code = group(ru.re, "code");
	ru.g_status = group(ru.re, "status");
	ru.g_diag = group(ru.re, "diag");
	ru.g_action = group(ru.re, "action");
	uint32_t ncap = 0;
	if (pcre2_pattern_info(ru.re, PCRE2_INFO_CAPTURECOUNT, &ncap) == 0 && ncap > rules->max_captures)
		rules->max_captures = ncap;
	if (ru.type == RULE_RECIPIENT && ru.g_addr < 0) {
		set_error(error_r, origin, lineno, "recipient rule '%s' needs a (?<addr>...) group", name);
		pcre2_code_free(ru.re);
		free(ru.field);
		return false;
	}
	ru.filter = rules_filter_new(p);
	ru.any_family = rules_text_in_list(value, "*");
	ru.name = xstrdup(name);
	ru.value = xstrdup(value);
	struct strbuf o = STRBUF_INIT;
	strbuf_printf(&o, "%s:%d", origin, lineno);
	ru.origin = strbuf_detach(&o);
	if (rules->n == rules->cap) {
		rules->cap = rules->cap ? rules->cap * 2 : 64;
		rules->v = xrealloc(rules->v, rules->cap * sizeof *rules->v);
	}
	rules->v[rules->n++] = ru;
	return true;
}

/* Parses a whole rule file held in memory. A line that starts with white space continues the
 * pattern of the rule above it (joined without the leading white space). */
static bool
add_text(struct rules *rules, const char *origin, const char *text, size_t len, char **error_r)
{
	struct strbuf cur = STRBUF_INIT, cont = STRBUF_INIT;
	struct pieces cont_pieces = { 0 };	/* where each continuation line starts in cont */
	int cur_line = 0, lineno = 0;
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
			set_error(error_r, origin, lineno, "NUL byte in rule");
			ok = false;
			break;
		}
		bool cont_line = ll > 0 && (p[0] == ' ' || p[0] == '\t');
		const char *q = p;
		while (q < p + ll && (*q == ' ' || *q == '\t'))
			q++;
		bool blank = q == p + ll || *q == '#';
		if (blank) {
			/* comments and blank lines neither end nor continue a rule */
		} else if (cont_line && cur.len == 0) {
			set_error(error_r, origin, lineno, "continuation line without a rule");
			ok = false;
		} else if (cont_line) {
			pieces_add(&cont_pieces, cont.len, lineno, (size_t)(q - p));
			strbuf_append(&cont, q, (size_t)(p + ll - q));
			if (cur.len + cont.len > RULES_PATTERN_MAX) {
				set_error(error_r, origin, cur_line, "rule too long");
				ok = false;
			}
		} else {
			if (cur.len > 0)
				ok = add_rule(rules, cur.s, cont.s != NULL ? cont.s : "", &cont_pieces,
				    origin, cur_line, error_r);
			strbuf_reset(&cur);
			strbuf_reset(&cont);
			cont_pieces.n = 0;
			strbuf_append(&cur, p, ll);
			cur_line = lineno;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (ok && cur.len > 0)
		ok = add_rule(rules, cur.s, cont.s != NULL ? cont.s : "", &cont_pieces, origin,
		    cur_line, error_r);
	strbuf_free(&cur);
	strbuf_free(&cont);
	free(cont_pieces.v);
	return ok;
}

static bool
add_file(struct rules *rules, const char *path, char **error_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		set_error(error_r, path, 0, "cannot open: %s", strerror(errno));
		return false;
	}
	struct strbuf b = STRBUF_INIT;
	char buf[8192];
	size_t n;
	bool ok = true;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		strbuf_append(&b, buf, n);
		if (b.len > RULES_FILE_MAX_BYTES) {
			set_error(error_r, path, 0, "file larger than %u bytes", RULES_FILE_MAX_BYTES);
			ok = false;
			break;
		}
	}
	if (ok && ferror(f)) {
		set_error(error_r, path, 0, "cannot read: %s", strerror(errno));
		ok = false;
	}
	fclose(f);
	if (ok)
		ok = add_text(rules, path, b.s != NULL ? b.s : "", b.len, error_r);
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
add_path(struct rules *rules, const char *path, bool want_dir, char **error_r)
{
	DIR *d = opendir(path);
	if (d == NULL && want_dir) {
		if (errno == ENOTDIR)
			set_error(error_r, path, 0, "not a directory (%s)", RULES_DIR_EXPECTED);
		else
			set_error(error_r, path, 0, "cannot open: %s (%s)", strerror(errno),
			    RULES_DIR_EXPECTED);
		return false;
	}
	if (d == NULL)
		return add_file(rules, path, error_r);
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
		set_error(error_r, path, 0, "no *.rules file in this directory (%s)", RULES_DIR_EXPECTED);
		return false;
	}
	qsort(names, n, sizeof *names, cmp_str);
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (ok)
			ok = add_file(rules, names[i], error_r);
		free(names[i]);
	}
	free(names);
	return ok;
}

struct rules *
rules_load(const char *const *paths, size_t npaths, char **error_r)
{
	struct rules *rules = rules_new();
	/* Later files first: an operator's local file overrides the shipped ones. */
	for (size_t i = npaths; i-- > 0;)
		if (!add_path(rules, paths[i], false, error_r)) {
			rules_free(rules);
			return NULL;
		}
	return rules_ready(rules);
}

struct rules *
rules_load_dir(const char *dir, const char *local, char **error_r)
{
	struct rules *rules = rules_new();
	/* The local file first: it is tried before the shipped rules. */
	if ((local != NULL && !add_path(rules, local, false, error_r)) ||
	    !add_path(rules, dir, true, error_r)) {
		rules_free(rules);
		return NULL;
	}
	return rules_ready(rules);
}

struct rules *
rules_load_text(const char *origin, const char *text, size_t len, char **error_r)
{
	struct rules *rules = rules_new();
	if (!add_text(rules, origin, text, len, error_r)) {
		rules_free(rules);
		return NULL;
	}
	return rules_ready(rules);
}

const struct rules *
rules_builtin(void)
{
	static struct rules *builtin;
	if (builtin != NULL)
		return builtin;
	struct rules *rules = rules_new();
	for (size_t i = 0; i < rules_embedded_count; i++) {
		char *err = NULL;
		/* The shipped rules are tested at build time (tests/rules); a failure here is a
		 * broken build, not bad input. */
		if (!add_text(rules, rules_embedded[i].name, rules_embedded[i].text,
		    rules_embedded[i].len, &err)) {
			fprintf(stderr, "bounced: built-in rules: %s\n", err);
			abort();
		}
	}
	builtin = rules_ready(rules);
	return builtin;
}

const char *
rules_default_dir(void)
{
	return BOUNCED_DATADIR "/rules";
}

int
rules_match(const struct rules *rules, const struct rule *ru, const char *s, size_t len,
    size_t start, pcre2_match_data *md, bool *limit_hit)
{
	int rc = pcre2_match(ru->re, (PCRE2_SPTR)s, len, start, 0, md, rules->mctx);
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
rules_reason_rule(const struct rules *rules, const char *text, size_t len, size_t *at_r,
    size_t *match_len_r, bool *limit_hit_r)
{
	if (rules == NULL)
		rules = rules_builtin();
	if (text == NULL || len == 0)
		return NULL;
	/* Only the rules whose literals the text holds can match: the first of them that does is
	 * the first rule that matches at all. */
	rules_index_scan(rules, rules->ix_reason, text, len, rules->cand_reason);
	for (size_t i = 0; i < rules->n; i++) {
		const struct rule *ru = &rules->v[i];
		if (ru->type != RULE_REASON || !rules_cand(rules->cand_reason, i))
			continue;
		if (rules_match(rules, ru, text, len, 0, rules->md, limit_hit_r) > 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rules->md);
			if (at_r != NULL)
				*at_r = ov[0];
			if (match_len_r != NULL)
				*match_len_r = ov[1] > ov[0] ? ov[1] - ov[0] : 0;
			return ru;
		}
	}
	return NULL;
}

bool
rules_reason(const struct rules *rules, const char *text, size_t len,
    enum bounce_reason *reason_r, const char **rule_r, bool *limit_hit_r)
{
	bool hit = false;
	const struct rule *ru = rules_reason_rule(rules, text, len, NULL, NULL, &hit);
	if (limit_hit_r != NULL && hit)
		*limit_hit_r = true;
	if (ru == NULL)
		return false;
	*reason_r = ru->reason;
	*rule_r = ru->name;
	return true;
}

struct rules *
rules_load_with_builtin(const char *const *paths, size_t npaths, char **error_r)
{
	struct rules *rules = rules_new();
	/* The operator's files first (tried first), then the shipped rules built into the binary. */
	for (size_t i = npaths; i-- > 0;)
		if (!add_path(rules, paths[i], false, error_r)) {
			rules_free(rules);
			return NULL;
		}
	for (size_t i = 0; i < rules_embedded_count; i++)
		if (!add_text(rules, rules_embedded[i].name, rules_embedded[i].text,
		    rules_embedded[i].len, error_r)) {
			rules_free(rules);
			return NULL;
		}
	return rules_ready(rules);
}
