/* placeholder: replaced by its owner */
#include "config.h"
void config_defaults(struct config *c) { }
int config_load(struct config *c, const char *path, char **error_r) { return -1; }
void config_free(struct config *c) { }
