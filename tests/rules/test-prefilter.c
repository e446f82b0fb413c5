/* The literal prefilter (rules_prefilter.c): which literals a pattern is read for, that a rule
 * left out by a scan never matches (so the first matching reason rule is the same as when every
 * rule is run), and that the text folding covers every character PCRE2 matches caselessly with
 * an ASCII letter. */
#include <stdlib.h>
#include <string.h>

#include "../core/test.h"
#include "rules.h"
#include "rules_int.h"
#include "strbuf.h"

struct lit_case {
	const char *pattern;
	const char *literals;	/* rules_filter_describe; NULL: none (the rule is always run) */
};

static const struct lit_case lit_cases[] = {
	{ "quota", "quota" },
	{ "Over\\ Quota", "over quota" },
	{ "mail\\ ?box\\ full", "mail&box full" },
	{ "(?:no\\ such|unknown)\\ user", "no such,unknown& user" },
	{ "spam|virus", "spam|virus" },
	{ "spam|\\bxy\\b", NULL },			/* an alternative too short to index */
	{ "spam|", NULL },
	/* each alternative asks for all it holds; a group of alternatives for one of their best */
	{ "(?:refused|rejected)\\ by\\ (?:the\\ )?recipient|recipient\\ preferences",
	  "refused,rejected&recipient|recipient preferences" },
	{ "x(?:abc\\ def|ghi\\ jkl)yz", "abc def,ghi jkl" },
	{ "(?:abc|de)fgh", "fgh" },
	{ "(?<diag>abc\\ def.*ghi)", "abc def&ghi" },				/* the empty alternative matches anywhere */
	{ "(?=s)\\bspf\\b", "spf" },
	{ "(?!spam)ham\\ and\\ eggs", "ham and eggs" },
	{ "(?:abc)?defg", "defg" },
	{ "(?:abcd)+x", "abcd" },
	{ "(?:abcd){0,2}x", NULL },
	{ "(?:abcd){2}x", "abcd" },
	{ "abc+def", "def" },				/* c+ ends the run "ab" */
	{ "exceed(?:ed|s)?\\ (?:\\S+\\ ){0,4}quota", "exceed&quota" },
	{ "[a-z]+@example\\.com", "@example.com" },
	{ "[]x]+abc", "abc" },
	{ "(?<addr>[^\\s@]+@[^\\s@]+)\\ rejected", " rejected" },
	{ "überfüllt", "berf&llt" },
	{ "(?i)quota", NULL },				/* option settings are not read */
	{ "\\x{41}bcd", NULL },
	{ "\\Qa.b\\E", NULL },
	{ "(a)\\1bcd", NULL },
	{ "[[:alpha:]]quota", NULL },
	{ "a{,3}bcd", NULL },				/* a literal '{' in PCRE2 10.42 */
	{ "(*UTF)quota", NULL },
	{ "用户不存在", NULL },
	{ "line\\nnext", "line\nnext" },
};

static void
test_literals(void)
{
	for (size_t i = 0; i < sizeof lit_cases / sizeof lit_cases[0]; i++) {
		struct strbuf b = STRBUF_INIT;
		bool some = rules_filter_describe(lit_cases[i].pattern, &b);
		CHECK_STR(lit_cases[i].pattern, some ? b.s : NULL, lit_cases[i].literals);
		strbuf_free(&b);
	}
}

/* Diagnostics read by the shipped reason rules, with and without the prefilter. The first rule
 * that matches must be the same; the Unicode rows are the characters PCRE2 folds into ASCII. */
static const char *const diags[] = {
	"550 5.1.1 <joe@example.com>: Recipient address rejected: User unknown in local recipient table",
	"452 4.2.2 Mailbox full",
	"552 5.2.2 Over Quota",
	"550 5.7.1 Message rejected as ſpam by Content Filtering",		/* U+017F */
	"550 5.7.1 \xC5\xBFpam",						/* only U+017F says spam */
	"554 5.7.1 Sender address rejected: blocked using zen.ſpamhau\xC5\xBF.org",
	"550 Mailbox is loc\xE2\x84\xAA""ed",					/* U+212A */
	"421 4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred",
	"550 Requested action not taken: mailbox unavailable",
	"Benutzer unbekannt",
	"Postfach ist überfüllt",
	"用户不存在",
	"ящик переполнен",
	"Delivery time expired",
	"Host or domain name not found. Name service error for name=example.invalid type=A",
	"554 5.4.14 Hop count exceeded - possible mail loop",
	"\xff\xfe invalid \xC5 UTF-8 \xE2\x84 quota",
	"nothing a rule knows",
	"",
};

static void
test_same_first_match(void)
{
	const struct rules *rules = rules_builtin();
	struct rules_scratch *sc = rules_scratch_new();
	rules_scratch_fit(sc, rules);
	for (size_t i = 0; i < sizeof diags / sizeof diags[0]; i++) {
		const char *d = diags[i];
		const struct rule *want = NULL;
		for (size_t k = 0; k < rules->n && d[0] != '\0' && want == NULL; k++)
			if (rules->v[k].type == RULE_REASON &&
			    rules_match(sc, &rules->v[k], d, strlen(d), 0, NULL) > 0)
				want = &rules->v[k];
		const struct rule *got = rules_reason_rule(rules, sc, d, strlen(d), NULL, NULL, NULL);
		CHECK_STR(d, got != NULL ? got->name : NULL, want != NULL ? want->name : NULL);
	}
	rules_scratch_free(sc);
}

/* Every character of the Basic Multilingual Plane that a caseless ASCII letter matches is the
 * letter in either case or one the scan folds (U+017F, U+212A); if PCRE2 adds one, this fails. */
static void
test_fold_complete(void)
{
	for (char c = 'a'; c <= 'z'; c++) {
		char pat[2] = { c, '\0' };
		int err;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF |
		    PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS | PCRE2_MULTILINE | PCRE2_UCP, &err, &off,
		    NULL);
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		int extra = 0;
		for (unsigned u = 0x80; u < 0x10000; u++) {
			if (u >= 0xD800 && u < 0xE000)
				continue;
			unsigned char b[3];
			size_t n;
			if (u < 0x800) {
				b[0] = (unsigned char)(0xC0 | u >> 6);
				b[1] = (unsigned char)(0x80 | (u & 0x3F));
				n = 2;
			} else {
				b[0] = (unsigned char)(0xE0 | u >> 12);
				b[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
				b[2] = (unsigned char)(0x80 | (u & 0x3F));
				n = 3;
			}
			if (pcre2_match(re, b, n, 0, 0, md, NULL) >= 0)
				extra = (int)u;
		}
		int want = c == 's' ? 0x017F : c == 'k' ? 0x212A : 0;
		CHECK_INT(pat, extra, want);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
}

/* The scan of long texts hashes every few positions: a literal is found at any alignment, in
 * any case, and through the characters PCRE2 folds into ASCII. */
struct scan_case {
	const char *text;
	bool candidate;
};

static const struct scan_case scan_cases[] = {
	{ "this is the qmail-send program", true },
	{ "x: This is the qmail-send program", true },
	{ "xy: THIS IS THE QMAIL-SEND PROGRAM.", true },
	{ "xyz: this is the qmail-send program", true },
	{ "\nHi. This is the qmail-send program at example.com.", true },
	{ "thi\xC5\xBF is the qmail-\xC5\xBF" "end program", true },	/* U+017F */
	{ "this is the qmail-send progra", false },
	{ "this is the qmail send program", false },
	{ "", false },
};

static void
test_scan(void)
{
	const char *rules_text = "qmail family text qmail this\\ is\\ the\\ qmail-send\\ program\n";
	char *err = NULL;
	struct rules *r = rules_load_text("t.rules", rules_text, strlen(rules_text), &err);
	CHECK_STR("load", err, NULL);
	if (r == NULL)
		return;
	CHECK_INT("filter", r->v[0].filter != NULL, 1);
	struct rules_scratch *sc = rules_scratch_new();
	rules_scratch_fit(sc, r);
	for (size_t i = 0; i < sizeof scan_cases / sizeof scan_cases[0]; i++) {
		/* every alignment of the text against the scan's step */
		for (size_t pad = 0; pad < 16; pad++) {
			struct strbuf b = STRBUF_INIT;
			for (size_t k = 0; k < pad; k++)
				strbuf_putc(&b, '.');
			strbuf_puts(&b, scan_cases[i].text);
			uint64_t cand[1];
			rules_index_scan(r, r->ix_other, sc, b.s, b.len, cand);
			CHECK_INT(scan_cases[i].text, rules_cand(cand, 0), scan_cases[i].candidate);
			bool hit = rules_match(sc, &r->v[0], b.s, b.len, 0, NULL) > 0;
			CHECK_INT(scan_cases[i].text, hit, scan_cases[i].candidate);
			strbuf_free(&b);
		}
	}
	rules_scratch_free(sc);
	rules_free(r);
}

int
main(void)
{
	test_literals();
	test_scan();
	test_same_first_match();
	test_fold_complete();
	return TEST_DONE();
}
