/* JSON string output. Invalid UTF-8 becomes U+FFFD so output is always valid JSON. */
#ifndef BOUNCED_JSON_H
#define BOUNCED_JSON_H
#include <stddef.h>
#include "strbuf.h"

/* jansson (linked for the webhooks) exports json_* too: no name here may be one of its own, or
 * one definition silently replaces the other at link time (json_string was, and crashed). */

/* Appends the len bytes of s as a JSON string, quotes included, escaped as JSON needs; s may be
 * NULL, giving "". */
void json_lstring(struct strbuf *out, const char *s, size_t len);
/* The same for a NUL-terminated s (NULL giving ""). */
void json_cstring(struct strbuf *out, const char *s);
/* Appends "key": then val as a JSON string (key is written as is: a literal of the caller). */
void json_kv(struct strbuf *out, const char *key, const char *val);
/* Returns 1 when the len bytes of p are valid UTF-8 without NUL, else 0. */
int utf8_valid(const char *p, size_t len);
#endif
