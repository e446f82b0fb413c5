/* Message sources for `parse` and `ingest`: a file, a directory of files (Maildir cur/ and new/
 * included), an mbox file, or "-" for standard input. */
#ifndef BOUNCED_INPUT_H
#define BOUNCED_INPUT_H

#include <stddef.h>

/* Called once per message. source names it ("dir/file.eml", "box.mbox:3", "-"). Returning
 * non-zero stops the walk and is returned by input_each. */
typedef int (*input_fn)(const char *source, const char *data, size_t len, void *ctx);

/* Walks path. Messages larger than LIMIT_MESSAGE_BYTES are passed cut at that size. In a
 * directory (walked in name order, at most INPUT_MAX_DEPTH levels), names starting with '.' and
 * Maildir tmp/ are skipped, and so are symbolic links and special files (a path given here is
 * followed); an entry that cannot be read does not stop the walk. Returns 0, the callback's
 * non-zero value (the walk stops), or -1 when path or entries of it could not be read: *error_r
 * then holds one "PATH: why" line per entry, '\n' between them (caller frees). */
int input_each(const char *path, input_fn fn, void *ctx, char **error_r);

/* True when data looks like an mbox (starts with "From "). */
int input_is_mbox(const char *data, size_t len);

#endif
