/* placeholder: replaced by its owner */
#include "autoreply.h"
bool autoreply_parse(const struct mime_message *m, struct bounce_report *r) { return false; }
bool mdn_parse(const struct mime_message *m, struct bounce_report *r) { return false; }
