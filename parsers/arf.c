/* placeholder: replaced by its owner */
#include "arf.h"
bool arf_parse(const struct mime_message *m, struct bounce_report *r) { return false; }
