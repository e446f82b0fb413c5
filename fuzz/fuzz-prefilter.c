/* Differential: the literal prefilter (rules_prefilter.c) against plain PCRE2. The input is an
 * operator-written pattern, a newline, and a text. The pattern is loaded as a local rule file
 * would load it, twice (a reason rule on diagnostics, scanned every byte, and a family rule on
 * texts, scanned every PREFILTER_STEP_TEXT bytes); the text is then scanned by each index. When
 * PCRE2, compiled with the options the rule engine uses, finds a match in the text, the scan
 * must have kept the rule as a candidate: a rule the prefilter skips must be one PCRE2 would not
 * have matched. Anything else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longest pattern tried: operators' patterns are a few hundred bytes; longer ones only slow the
 * fuzzer down in pcre2_compile. */
#define FUZZ_PATTERN_MAX	1024
/* The oracle's match limit: a pattern that backtracks past it is no finding (the engine stops
 * there too, with LIMIT_REGEX_MATCH). */
#define FUZZ_MATCH_LIMIT	100000

/* The options rules.c compiles every rule with. */
#define FUZZ_RE_OPTS (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS | PCRE2_MULTILINE | \
		      PCRE2_UCP)

/* Plain PCRE2 (no JIT, no rule engine): 1 when pattern matches text, 0 when not, -1 when it
 * cannot tell (no compile, match limit). */
static int
oracle(const char *pattern, const char *text, size_t len)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, FUZZ_RE_OPTS,
	    &err, &off, NULL);
	if (re == NULL)
		return -1;
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (mc == NULL || md == NULL)
		abort();
	pcre2_set_match_limit(mc, FUZZ_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, FUZZ_MATCH_LIMIT);
	int rc = pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, md, mc);
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	pcre2_code_free(re);
	return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL || nl == data || (size_t)(nl - data) > FUZZ_PATTERN_MAX)
		return 0;
	size_t plen = (size_t)(nl - data);
	/* The pattern is a continuation line of a rule file, which the loader takes whole after its
	 * leading white space: it cannot start with white space or '#' (a comment), hold a NUL, or
	 * end with CR (taken as the line's end). */
	if (data[0] == ' ' || data[0] == '\t' || data[0] == '#' || nl[-1] == '\r' ||
	    memchr(data, '\0', plen) != NULL)
		return 0;
	/* %{NAME} is written out by the loader (a definition): the oracle would see another
	 * pattern than the engine. */
	for (size_t i = 0; i + 1 < plen; i++)
		if (data[i] == '%' && data[i + 1] == '{')
			return 0;
	char *pattern = malloc(plen + 1);
	if (pattern == NULL)
		abort();
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';
	const char *text = (const char *)nl + 1;
	size_t tlen = size - plen - 1;

	struct strbuf file = STRBUF_INIT;
	strbuf_printf(&file, "fz-reason reason diag user_unknown\n  %s\nfz-family family text fz\n  %s\n",
	    pattern, pattern);
	char *error = NULL;
	struct rules *rules = rules_load_text("fuzz.rules", file.s, file.len, &error);
	strbuf_free(&file);
	free(error);
	if (rules == NULL || rules->n != 2) {
		rules_free(rules);
		free(pattern);
		return 0;
	}
	if (strcmp(rules->v[0].name, "fz-reason") != 0 || rules->v[0].type != RULE_REASON ||
	    strcmp(rules->v[1].name, "fz-family") != 0 || rules->v[1].type == RULE_REASON) {
		fprintf(stderr, "fuzz-prefilter: the rule file did not load as written\n");
		abort();
	}
	int want = oracle(pattern, text, tlen);
	if (want == 1) {
		const struct rules_index *ix[2] = { rules->ix_reason, rules->ix_other };
		struct rules_scratch *sc = rules_scratch_new();
		rules_scratch_fit(sc, rules);
		for (size_t i = 0; i < 2; i++) {
			uint64_t cand[1];
			rules_index_scan(rules, ix[i], sc, text, tlen, cand);
			if (!rules_cand(cand, i)) {
				struct strbuf d = STRBUF_INIT;
				bool some = rules_filter_describe(pattern, &d);
				fprintf(stderr, "fuzz-prefilter: PCRE2 matches, the %s scan skipped the rule\n"
				    "  pattern  %s\n  literals %s\n", i == 0 ? "reason" : "text", pattern,
				    some ? d.s : "(none)");
				strbuf_free(&d);
				abort();
			}
		}
		rules_scratch_free(sc);
	}
	rules_free(rules);
	free(pattern);
	return 0;
}
