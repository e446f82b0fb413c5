/* Header fields and addresses. Header blocks use LF line endings (see mime.h). Pure. */
#ifndef BOUNCED_HEADER_H
#define BOUNCED_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Finds the first field called name (case-insensitive) in block, unfolds it (a line break
 * followed by WSP becomes one space), trims surrounding space, and appends the raw value to
 * out (RFC 2047 words NOT decoded). Returns true when the field is present. */
bool header_get(const char *block, size_t len, const char *name, struct strbuf *out);
/* Same, then decodes RFC 2047 encoded words to UTF-8. */
bool header_get_decoded(const char *block, size_t len, const char *name, struct strbuf *out);

/* Iterates the fields of a block in order. */
struct header_iter {
	const char *p;
	const char *end;
};
void header_iter_init(struct header_iter *it, const char *block, size_t len);
/* Returns false at the end. name points into the block (not NUL-terminated); value is the
 * unfolded, trimmed raw value, replacing what out held. */
bool header_next(struct header_iter *it, const char **name_r, size_t *name_len_r, struct strbuf *value);

/* Decodes RFC 2047 encoded words in value to UTF-8 (invalid input is copied as is). */
void header_decode_2047(const char *value, size_t len, struct strbuf *out);

/* Extracts one addr-spec from text such as "Joe <joe@Example.COM>", "rfc822; joe@example.com",
 * "<joe@example.com>" or "joe@example.com (comment)": strips the address type, angle brackets,
 * comments and surrounding quotes of the whole, and lowercases the domain part. Returns false
 * when no plausible address (local@domain, within LIMIT_ADDRESS_BYTES) is found. A NUL or
 * MIME_NUL_MARK is part of the word it is in, never a separator, and no address holds one:
 * "joe<NUL>evil@example.com" gives no address, not evil@example.com. */
bool address_extract(const char *p, size_t len, struct strbuf *out);
/* Lowercases the domain part of addr in place. */
void address_lower_domain(char *addr);

#endif
