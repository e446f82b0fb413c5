/* placeholder: replaced by its owner */
#include "header.h"
bool header_get(const char *block, size_t len, const char *name, struct strbuf *out) { return false; }
bool header_get_decoded(const char *block, size_t len, const char *name, struct strbuf *out) { return false; }
void header_iter_init(struct header_iter *it, const char *block, size_t len) { it->p = block; it->end = block + len; }
bool header_next(struct header_iter *it, const char **name_r, size_t *name_len_r, struct strbuf *value) { return false; }
void header_decode_2047(const char *value, size_t len, struct strbuf *out) { strbuf_append(out, value, len); }
bool address_extract(const char *p, size_t len, struct strbuf *out) { return false; }
void address_lower_domain(char *addr) { }
