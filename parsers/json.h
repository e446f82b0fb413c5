/* JSON string output. Invalid UTF-8 becomes U+FFFD so output is always valid JSON. */
#ifndef BOUNCED_JSON_H
#define BOUNCED_JSON_H
#include <stddef.h>
#include "strbuf.h"

/* Appends "..." (with quotes); s may be NULL, giving "". */
void json_string(struct strbuf *out, const char *s, size_t len);
void json_cstring(struct strbuf *out, const char *s);
/* Appends "key": then the string value. */
void json_kv(struct strbuf *out, const char *key, const char *val);
/* Copies p into out as valid UTF-8, replacing each invalid sequence with U+FFFD and NUL with
 * U+FFFD. */
void utf8_sanitize(struct strbuf *out, const char *p, size_t len);
/* Returns 1 when p is valid UTF-8 (no NUL). */
int utf8_valid(const char *p, size_t len);
#endif
