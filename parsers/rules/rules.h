/* The heuristic rule engine: PCRE2 rules loaded from files (parsers/rules/, installed under the
 * data dir; bounced-rules(5)) and compiled once. A loaded set is read-only: what a match writes
 * is kept in a struct rules_scratch, one per thread, as PCRE2 keeps match data apart from the
 * compiled code. Pure once loaded: matching does no I/O. */
#ifndef BOUNCED_RULES_H
#define BOUNCED_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "mime.h"
#include "report.h"

struct rules;
struct rules_scratch;

/* Loads and compiles a rule set: the shipped rules, from dir (the *.rules files of a directory,
 * in name order: [rules] dir) or, when dir is NULL, from the copies built into the binary; then
 * local (may be NULL: [rules] local), an operator's file or a directory of *.rules files. The
 * operator's rules are tried before the shipped ones, except that "replace NAME ..." takes the
 * place of the rule it replaces, and "disable NAME" removes one. On error returns NULL and sets
 * *error_r (caller frees) to "FILE:LINE: what" for a bad statement (the line of the file where
 * the error is: a rule name defined twice, an unknown field, group or definition, a pattern
 * PCRE2 refuses...), or "PATH: what" for a path that cannot be read ("FILE: cannot open:
 * REASON") or a dir that is missing, not a directory or holds no *.rules file. */
struct rules *rules_load(const char *dir, const char *local, char **error_r);
void rules_free(struct rules *rules);	/* NULL-safe */
/* The shipped rules built into the binary (rules_load(NULL, NULL)), compiled on first use and
 * kept; never NULL. Not thread-safe on the first call: make it before starting threads. */
const struct rules *rules_builtin(void);

/* `bounced rules check PATH...`: loads paths with the shipped rules built into the binary (a
 * file named as a shipped file, such as reasons.rules, stands in for its built-in copy; the
 * others are operators' files read after them, as at start-up), then lints the rules of paths
 * (each needs an example) and runs their examples: "# test: TEXT" must be matched by the rule
 * (a reason rule must decide TEXT as a diagnostic: be the first reason rule that matches it; a
 * recipient rule must capture an address), "# test-not: TEXT" must not. Sets *report_r (caller
 * frees) to one line "FILE:LINE: what" per problem, or to a summary line when there is none.
 * Returns the number of problems: 0 when all is well. */
size_t rules_check(const char *const *paths, size_t npaths, char **report_r);

/* Room for what matching writes, for any rule set: one per thread, reused across messages.
 * rules_scratch_new never fails (aborts on out-of-memory); rules_scratch_free is NULL-safe.
 * Every function below that takes a scratch accepts NULL and then makes one for the call. */
struct rules_scratch *rules_scratch_new(void);
void rules_scratch_free(struct rules_scratch *sc);

/* Reads a free-form bounce: recognises the MTA family from the headers, finds failed recipients
 * and their SMTP code, enhanced code and diagnostic in the human-readable parts (never from the
 * returned original), and appends them to r (kind KIND_HEURISTIC when any were found, setting
 * mta_family and each recipient's rule and rule_at), adding the rules that matched to
 * r->rules_matched. Also fills diagnostic/status of recipients
 * already present (a DSN whose recipient group lacks Status or Diagnostic-Code). rules NULL:
 * the built-in set. Returns the number of recipients added. */
size_t rules_extract(const struct rules *rules, struct rules_scratch *sc,
    const struct mime_message *m, struct bounce_report *r);

/* Matches diagnostic wording against the reason rules. On a hit, sets *reason_r and *rule_r
 * (the rule's name, owned by rules) and returns true. A regex limit hit is "no match" and sets
 * *limit_hit_r (may be NULL). */
bool rules_reason(const struct rules *rules, struct rules_scratch *sc, const char *text,
    size_t len, enum bounce_reason *reason_r, const char **rule_r, bool *limit_hit_r);

/* Where the report's own words end in text (a text part of a report): the first place a cut
 * rule says the returned message starts ("--- Below this line is a copy of the message",
 * "Received: ..."), else len. rules NULL: the built-in set. A cut rule that hit a regex limit
 * counts as not matching and sets *limit_hit_r (may be NULL). */
size_t rules_report_end(const struct rules *rules, struct rules_scratch *sc, const char *text,
    size_t len, bool *limit_hit_r);

/* True when the message looks like a bounce sent by a mail system (mailer-daemon/postmaster
 * sender, bounce subjects in the common languages). The rule that matched is added to
 * r->rules_matched (r may be NULL). */
bool rules_is_bounce_sender(const struct rules *rules, struct rules_scratch *sc,
    const struct mime_message *m, struct bounce_report *r);

#endif
