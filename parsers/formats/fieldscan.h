/* "Name: value" lines in the body of a report part (an ARF feedback report, a read receipt)
 * that may mix prose and fields, unlike a header block (header.h). */
#ifndef BOUNCED_FIELDSCAN_H
#define BOUNCED_FIELDSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Finds the next line of text[0, len), from *cursor on (NULL: the start), that starts with
 * "name:" at column 0 (name compared without case) and appends its value to out: continuation
 * lines (starting with a blank) unfolded with one space, blanks and CR trimmed at both ends, at
 * most LIMIT_FIELD_BYTES bytes before trimming (the rest is cut, as header.c cuts a header
 * field). *cursor moves past the field's last line. Returns false, with *cursor at the end,
 * when no line has the field. */
bool fieldscan_next(const char *text, size_t len, const char **cursor, const char *name,
    struct strbuf *out);

/* The first such field: fieldscan_next from the start. */
bool fieldscan_first(const char *text, size_t len, const char *name, struct strbuf *out);

#endif
