/* placeholder: replaced by its owner */
#include "store.h"
int store_open(const char *path, const struct config *cfg, int flags, struct store **store_r, char **error_r) { return STORE_ERR_INTERNAL; }
void store_close(struct store *s) { }
