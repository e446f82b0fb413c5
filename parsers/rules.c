/* placeholder: replaced by its owner */
#include "rules.h"
struct rules { int unused; };
struct rules *rules_load(const char *const *paths, size_t npaths, char **error_r) { return NULL; }
void rules_free(struct rules *rules) { }
static struct rules builtin;
const struct rules *rules_builtin(void) { return &builtin; }
const char *rules_default_dir(void) { return ""; }
size_t rules_extract(const struct rules *rules, const struct mime_message *m, struct bounce_report *r) { return 0; }
bool rules_reason(const struct rules *rules, const char *text, size_t len, enum bounce_reason *reason_r, const char **rule_r, bool *limit_hit_r) { return false; }
bool rules_is_bounce_sender(const struct rules *rules, const struct mime_message *m) { return false; }
