/* Status code, SMTP reply code and diagnostic wording → reason, class and blame (the reason
 * table of DESIGN.md). Wording beats a generic code. Pure. */
#ifndef BOUNCED_CLASSIFY_H
#define BOUNCED_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

struct rules;
struct rules_scratch;

/* Sets rc->reason, class_, blame and evidence (and rule, rule_at when a wording rule decided)
 * from rc->action, status, smtp_code and diagnostic, consulting the wording rules of `rules`
 * (NULL: the built-in set) with scratch sc (NULL: one made for the call). context is extra
 * human-readable text that may explain the failure when the diagnostic is empty (may be NULL).
 * Delivered/relayed/expanded actions give class none; delayed gives soft with reason expired
 * unless the wording says otherwise. Does not touch recipients already classified by ARF or
 * auto-reply parsing (class complaint / autoreply). Returns true when a wording rule hit the
 * regex limit (it counted as no match, and the evidence says so): the caller flags the report
 * BOUNCE_F_REGEX_LIMIT. */
bool classify_recipient(struct bounce_recipient *rc, const char *context, size_t context_len,
    const struct rules *rules, struct rules_scratch *sc);

#endif
