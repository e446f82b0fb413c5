#include "setup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounced-config.h"
#include "rules.h"
#include "strbuf.h"

/* Largest VERP key file. */
#define SETUP_MAX_KEY_BYTES	4096

/* Sets *error_r to "WHAT PATH: DETAIL". */
static int
fail(char **error_r, const char *what, const char *path, const char *detail)
{
	error_set(error_r, "%s %s: %s", what, path, detail);
	return -1;
}

static int
load_rules(struct parse_setup *s, const struct config *c, char **error_r)
{
	s->scratch = rules_scratch_new();
	s->opt.scratch = s->scratch;
	if (c->rules_dir == NULL && c->rules_local == NULL)
		return 0;
	/* Without a rules directory the shipped rules are the copies built into the binary; the
	 * local file (or directory) is read after them (bounced-rules(5)). */
	s->rules = rules_load(c->rules_dir, c->rules_local, error_r);
	if (s->rules == NULL)
		return -1;
	s->opt.rules = s->rules;
	return 0;
}

int
setup_read_key(const char *path, unsigned char **key_r, size_t *len_r, char **error_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fail(error_r, "VERP key file", path, strerror(errno));
	unsigned char buf[SETUP_MAX_KEY_BYTES + 1];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (n > SETUP_MAX_KEY_BYTES)
		return fail(error_r, "VERP key file", path, "larger than 4096 bytes");
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < 16)
		return fail(error_r, "VERP key file", path,
		    "key shorter than 16 bytes (make one with: head -c 32 /dev/urandom | base64 > FILE)");
	*key_r = xmalloc(n);
	memcpy(*key_r, buf, n);
	*len_r = n;
	return 0;
}

int
setup_load(struct parse_setup *s, const struct config *c, char **error_r)
{
	memset(s, 0, sizeof *s);
	verp_config_default(&s->verp);
	if (c->verp_prefix != NULL)
		s->verp.prefix = c->verp_prefix;
	if (c->verp_separator != '\0')
		s->verp.separator = c->verp_separator;
	if (c->verp_at != '\0')
		s->verp.at_char = c->verp_at;
	if (c->verp_key_file != NULL) {
		if (setup_read_key(c->verp_key_file, &s->verp_key, &s->verp_key_len, error_r) < 0)
			return -1;
		s->verp.key = s->verp_key;
		s->verp.key_len = s->verp_key_len;
	}
	/* config_load defaults require_signature to true when a key file is set; an explicit
	 * "require_signature = false" (a deployment moving to signed VERP) is honoured. */
	s->verp.require_signature = c->verp_require_signature;
	const char *why = NULL;
	if (!verp_config_check(&s->verp, &why)) {
		error_set(error_r, "%s: [verp] %s", c->path != NULL ? c->path : "built-in defaults",
		    why != NULL ? why : "invalid settings");
		setup_free(s);
		return -1;
	}
	s->opt.verp = &s->verp;
	if (load_rules(s, c, error_r) < 0) {
		setup_free(s);
		return -1;
	}
	return 0;
}

void
setup_free(struct parse_setup *s)
{
	rules_free(s->rules);
	rules_scratch_free(s->scratch);
	free(s->verp_key);
	memset(s, 0, sizeof *s);
}

int
setup_config(struct config *c, const char *path, char **error_r)
{
	memset(c, 0, sizeof *c);
	config_defaults(c);
	if (path == NULL) {
		static const char def[] = CONFIG_DEFAULT_FILE;
		/* Absent: the built-in defaults. Present but unreadable: an error, not silently
		 * the defaults (a service user not allowed to read it would run with another
		 * database than the one configured). */
		struct stat st;
		if (stat(def, &st) != 0 && errno == ENOENT)
			return 0;
		path = def;
	}
	return config_load(c, path, error_r);
}
