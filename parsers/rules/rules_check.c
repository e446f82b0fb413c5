/* `bounced rules check`: the examples written beside each rule (# test:, # test-not:), run
 * against the rule set as it loads at start-up. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules.h"
#include "rules_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Bytes of an example quoted in a problem line. */
#define CHECK_QUOTE_BYTES	80

struct check {
	const struct rules *rules;
	struct rules_scratch *sc;
	struct strbuf out;
	size_t problems;
};

/* The example, one line, cut and with its line breaks written as \n. */
static void
quote(struct strbuf *out, const struct rule_test *t)
{
	strbuf_putc(out, '\'');
	for (size_t i = 0; i < t->len && i < CHECK_QUOTE_BYTES; i++) {
		if (t->text[i] == '\n')
			strbuf_puts(out, "\\n");
		else
			strbuf_putc(out, t->text[i]);
	}
	strbuf_puts(out, t->len > CHECK_QUOTE_BYTES ? "...'" : "'");
}

static void problem(struct check *c, const struct rule *ru, int line, const struct rule_test *t,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
problem(struct check *c, const struct rule *ru, int line, const struct rule_test *t,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';	/* the place and the rule still say where to look */
	strbuf_printf(&c->out, "%s:%d: rule '%s': %s", ru->file, line, ru->name, msg);
	if (t != NULL) {
		strbuf_puts(&c->out, ": ");
		quote(&c->out, t);
	}
	strbuf_putc(&c->out, '\n');
	c->problems++;
}

/* The line a rule starts on, from its origin "FILE:LINE". */
static int
rule_line(const struct rule *ru)
{
	const char *colon = strrchr(ru->origin, ':');
	return colon != NULL ? atoi(colon + 1) : 0;
}

static void
check_example(struct check *c, const struct rule *ru, const struct rule_test *t)
{
	size_t i = (size_t)(ru - c->rules->v);
	bool limit = false;
	bool hit = rules_match(c->sc, ru, t->text, t->len, 0, &limit) > 0;
	if (limit) {
		problem(c, ru, t->line, t, "the example hits the regex limit");
		return;
	}
	if (!t->want) {
		if (hit)
			problem(c, ru, t->line, t, "matches what it must not (# test-not:)");
		return;
	}
	if (!hit) {
		problem(c, ru, t->line, t, "does not match its example");
		return;
	}
	if (ru->type == RULE_RECIPIENT) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->sc->md);
		size_t a0 = ov[2 * ru->g_addr], a1 = ov[2 * ru->g_addr + 1];
		struct strbuf addr = STRBUF_INIT;
		size_t ll;
		/* a capture without '@' is a bare local part (rules_text_local_part) */
		if (a0 == PCRE2_UNSET || (memchr(t->text + a0, '@', a1 - a0) != NULL ?
		    !rules_text_address(t->text + a0, a1 - a0, &addr) :
		    !rules_text_local_part(t->text + a0, a1 - a0, &ll)))
			problem(c, ru, t->line, t, "its example captures no address in (?<addr>...)");
		strbuf_free(&addr);
	}
	if (ru->type == RULE_REASON) {
		/* the reason rules are tried in order: the first that matches decides */
		const struct rule *first = rules_reason_rule(c->rules, c->sc, t->text, t->len, NULL,
		    NULL, NULL);
		if (first != ru)
			problem(c, ru, t->line, t, "its example is decided by rule '%s' (%s), tried "
			    "first", first != NULL ? first->name : "-", first != NULL ? first->origin : "-");
		return;
	}
	/* the prefilter must leave the rule to run where it matches */
	uint64_t *cand = xmalloc((rules_cand_words(c->rules) + 1) * sizeof *cand);
	rules_index_scan(c->rules, c->rules->ix_other, c->sc, t->text, t->len, cand);
	if (!rules_cand(cand, i))
		problem(c, ru, t->line, t, "the prefilter skips the rule on its example");
	free(cand);
}

size_t
rules_check(const char *const *paths, size_t npaths, char **report_r)
{
	char *err = NULL;
	struct rules *rules = rules_load_files(paths, npaths, &err);
	if (rules == NULL) {
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "%s\n", err);
		free(err);
		*report_r = strbuf_detach(&b);
		return 1;
	}
	struct check c = { .rules = rules, .sc = rules_scratch_new(), .out = STRBUF_INIT };
	rules_scratch_fit(c.sc, rules);
	size_t nrules = 0, nexamples = 0;
	for (size_t i = 0; i < rules->n; i++) {
		const struct rule *ru = &rules->v[i];
		if (ru->builtin)
			continue;	/* only the files given are checked */
		nrules++;
		bool any = false;
		for (size_t k = 0; k < ru->ntests; k++)
			any = any || ru->tests[k].want;
		if (!any)
			problem(&c, ru, rule_line(ru), NULL, "no example it must match (write "
			    "'# test: TEXT' under it)");
		for (size_t k = 0; k < ru->ntests; k++) {
			nexamples++;
			check_example(&c, ru, &ru->tests[k]);
		}
	}
	if (c.problems == 0)
		strbuf_printf(&c.out, "%zu rules, %zu examples: ok\n", nrules, nexamples);
	rules_scratch_free(c.sc);
	rules_free(rules);
	*report_r = strbuf_detach(&c.out);
	return c.problems;
}
