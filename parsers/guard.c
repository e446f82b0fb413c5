/* placeholder: replaced by its owner */
#include "report.h"
#include "mime.h"
char *mime_guard(const char *msg, size_t len, size_t *out_len, unsigned int *flags_r, bool *safe_r) { *out_len = len; *flags_r = 0; *safe_r = false; return xstrndup(msg, len); }
