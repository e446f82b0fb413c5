/* placeholder: replaced by its owner */
#include "verp.h"
void verp_config_default(struct verp_config *c) { c->prefix = "bounces"; c->separator = 0x2b; c->at_char = 0x3d; c->key = NULL; c->key_len = 0; c->require_signature = false; }
bool verp_decode(const struct verp_config *c, const char *addr, struct verp_result *res) { return false; }
void verp_result_clear(struct verp_result *res) { }
char *verp_encode(const struct verp_config *c, const char *return_path, const char *recipient, const char *tag) { return NULL; }
