/* placeholder: replaced by its owner */
#include "classify.h"
void classify_extract_codes(const char *text, size_t len, char status[16], char smtp_code[4]) { }
void classify_recipient(struct bounce_recipient *rc, const char *context, size_t context_len, const struct rules *rules) { }
