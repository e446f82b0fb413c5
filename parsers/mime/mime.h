/* The MIME layer: guards the input, walks it with libetpan, and hands the other parsers a flat
 * list of parts with decoded, UTF-8, LF-terminated text. Pure: no I/O, no logging. */
#ifndef BOUNCED_MIME_H
#define BOUNCED_MIME_H

#include <stdbool.h>
#include <stddef.h>

struct mime_part {
	char *content_type;	/* lowercased "type/subtype"; "text/plain" when absent */
	char *charset;		/* lowercased charset parameter as declared, or NULL */
	char *report_type;	/* lowercased report-type parameter of a multipart/report, or NULL */
	char *filename;		/* from Content-Disposition/Content-Type name, or NULL */
	int depth;		/* 0 = top-level body */
	int index;		/* position in mime_message.parts */
	int parent;		/* index of the enclosing part, -1 at top level */
	/* Inside the returned original (a message/rfc822 or text/rfc822-headers part of a report, or
	 * anything under it). Addresses found there are never failed recipients. */
	bool in_returned;
	/* Header block of this part with LF line endings: the MIME headers of a leaf, or, for a
	 * message/rfc822 or message/global part, the headers of the embedded message. */
	char *headers;
	size_t headers_len;
	/* Body after Content-Transfer-Encoding decoding; text/ parts (and the report parts
	 * message/delivery-status, message/global-delivery-status, message/feedback-report,
	 * message/disposition-notification, text/rfc822-headers) converted to UTF-8 with LF line
	 * endings. Multipart containers have an empty body. NUL-terminated. */
	char *body;
	size_t body_len;
};

struct mime_message {
	unsigned int flags;	/* BOUNCE_F_* from report.h: limits hit, damage seen */
	/* Top-level header block of the message, LF line endings, NUL-terminated. */
	char *headers;
	size_t headers_len;
	/* Leaf and container parts in document order. A message that could not be walked (a guard
	 * tripped, or libetpan failed) has one part: its body as text/plain, as much as was safe. */
	struct mime_part *parts;
	size_t nparts;
	/* Header block of the returned original (first message/rfc822, message/global,
	 * text/rfc822-headers part, or message/rfc822-headers), LF endings; NULL when none. */
	char *returned_headers;
	size_t returned_headers_len;
};

/* Parses msg (any line endings, any bytes). Always returns a message (never NULL); limits and
 * damage show in ->flags. The caller frees it with mime_message_free. */
struct mime_message *mime_parse(const char *msg, size_t len);
void mime_message_free(struct mime_message *m);	/* NULL-safe */

/* Returns the first part whose content type equals ctype (lowercase), or NULL. */
const struct mime_part *mime_find(const struct mime_message *m, const char *ctype);

/* The guard that runs before libetpan (exported for tests and the fuzz target).
 * Normalizes line endings to CRLF, cuts overlong lines and an overlong header block, replaces NUL
 * bytes (with a space at the start of a line, where it folds as before, else with MIME_NUL_MARK), truncates at LIMIT_PARSE_BYTES, and measures the MIME nesting depth, part count and
 * boundary parameters. Sets BOUNCE_F_* bits in *flags_r. Returns the normalized copy (owned by
 * the caller, NUL-terminated) and its length. *safe_r says whether libetpan may parse it. */
char *mime_guard(const char *msg, size_t len, size_t *out_len, unsigned int *flags_r, bool *safe_r);
/* What a NUL inside a line becomes: ASCII SUB, one byte for one (the guard's measurements hold),
 * not white space, so a word holding a NUL stays one word and no parser splits it there
 * ("joe<NUL>evil@example.com" is no address, not evil@example.com: header.h). */
#define MIME_NUL_MARK '\x1a'

#endif
