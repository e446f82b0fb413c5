/* What every command that parses mail sets up from the configuration: the compiled rules and
 * the VERP settings, bundled as bounce_options. */
#ifndef BOUNCED_SETUP_H
#define BOUNCED_SETUP_H

#include "bounce.h"
#include "config.h"
#include "verp.h"

struct rules;
struct rules_scratch;

struct parse_setup {
	struct bounce_options opt;
	struct rules *rules;		/* owned; NULL = built-in set */
	struct rules_scratch *scratch;	/* owned: what matching the rules writes, per process */
	struct verp_config verp;
	unsigned char *verp_key;	/* owned */
	size_t verp_key_len;
};

/* Loads the rules (every *.rules file of rules_dir, or the built-in set, plus rules_local) and the VERP key
 * named in c. Returns 0, or -1 with *error_r naming the file and what is wrong (caller frees). */
int setup_load(struct parse_setup *s, const struct config *c, char **error_r);
void setup_free(struct parse_setup *s);

/* Reads the configuration for a command: path may be NULL (built-in defaults, or
 * BOUNCED_SYSCONFDIR/bounced.conf when that exists). Returns 0 or -1 with *error_r. */
int setup_config(struct config *c, const char *path, char **error_r);

/* Reads a VERP key file (see doc/verp.md). Returns 0 or -1 with *error_r. */
int setup_read_key(const char *path, unsigned char **key_r, size_t *len_r, char **error_r);

#endif
