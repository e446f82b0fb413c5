/* The heuristic rule engine: PCRE2 rules loaded from files (parsers/rules/, installed under the
 * data dir) and compiled once. Pure once loaded: matching does no I/O. */
#ifndef BOUNCED_RULES_H
#define BOUNCED_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "mime.h"
#include "report.h"

struct rules;

/* Loads and compiles rule files in order (later files are tried first: an operator's local file
 * overrides the shipped ones). A directory stands for its *.rules files in name order, and one
 * without any is an error. On error returns NULL and sets *error_r (caller frees) to
 * "FILE:LINE: what" for a bad rule (the line of the file where the error is), or "PATH: what"
 * for a path that cannot be read ("FILE: cannot open: REASON"). */
struct rules *rules_load(const char *const *paths, size_t npaths, char **error_r);
/* A rules directory ([rules] dir): its *.rules files, with local (may be NULL; a file or a
 * directory) tried first. dir that is missing, not a directory or holds no *.rules file is an
 * error naming it and what was expected. Errors as for rules_load. Addition (compatible). */
struct rules *rules_load_dir(const char *dir, const char *local, char **error_r);
/* The same, followed by the shipped rules built into the binary: what an operator's local rules
 * file adds to when no rules directory is configured. */
struct rules *rules_load_with_builtin(const char *const *paths, size_t npaths, char **error_r);
void rules_free(struct rules *rules);	/* NULL-safe */
/* The shipped rules, compiled on first use from the copies built into the binary; never NULL.
 * Not thread-safe on first call. */
const struct rules *rules_builtin(void);
/* Directory of shipped rule files as installed (for `rules_load`). */
const char *rules_default_dir(void);

/* Reads a free-form bounce: recognises the MTA family from the headers, finds failed recipients
 * and their SMTP code, enhanced code and diagnostic in the human-readable parts (never from the
 * returned original), and appends them to r (kind KIND_HEURISTIC when any were found, setting
 * rule and mta_family). Also fills diagnostic/status of recipients already present (a DSN whose
 * recipient group lacks Status or Diagnostic-Code). Returns the number of recipients added. */
size_t rules_extract(const struct rules *rules, const struct mime_message *m, struct bounce_report *r);

/* Matches diagnostic wording against the reason rules. On a hit, sets *reason_r and *rule_r
 * (the rule's name, owned by rules) and returns true. A regex limit hit is "no match" and sets
 * *limit_hit_r (may be NULL). */
bool rules_reason(const struct rules *rules, const char *text, size_t len,
    enum bounce_reason *reason_r, const char **rule_r, bool *limit_hit_r);

/* True when the message looks like a bounce sent by a mail system (mailer-daemon/postmaster
 * sender, bounce subjects in the common languages). */
bool rules_is_bounce_sender(const struct rules *rules, const struct mime_message *m);

#endif
