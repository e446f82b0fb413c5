/* Internal to the MIME layer (guard.c, mime.c): mime_guard, plus where the header blocks of the
 * embedded messages (message/rfc822 parts libetpan walks) are in the guard's output, so that
 * mime.c can hand libetpan those blocks reduced to their MIME fields. */
#ifndef BOUNCED_GUARD_H
#define BOUNCED_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "limits.h"

struct guard_block {
	size_t start, end;	/* [start, end) of the guard's output: the fields, blank line excluded */
};
/* Each embedded message is a part. */
#define GUARD_BLOCKS LIMIT_MIME_PARTS

/* mime_guard; blocks (GUARD_BLOCKS entries, may be NULL) receives the embedded header blocks
 * that libetpan will parse as headers, in document order. */
char *guard_run(const char *msg, size_t len, size_t *out_len, unsigned int *flags_r, bool *safe_r,
		struct guard_block *blocks, size_t *nblocks_r);

#endif
