/* bounced.conf: INI read with inih (Debian libinih), every key checked. The file format and
 * each key are documented in doc/bounced.conf.5. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"

#include "allow.h"
#include "imap.h"
#include "imap_poll.h"
#include "strbuf.h"

/* Longest line of bounced.conf: an [lmtp] allow list of many addresses fits; longer is a typo. */
#define CONFIG_LINE_MAX		4096
/* Largest number any key takes (busy_timeout_ms of an hour is already absurd). */
#define CONFIG_NUMBER_MAX	3600000u

struct load {
	struct config *c;
	const char *path;
	FILE *f;
	unsigned int line;		/* line the reader returned last */
	unsigned int err_line;		/* first error, 0 = none */
	char *err;
	struct config_imap *imap;	/* current [imap NAME] section, or NULL */
	unsigned int imap_line[CONFIG_MAX_IMAP];
	bool listen_set;		/* the first listen of the file replaces the default */
	bool verp_require_set;
	/* Keys given so far, "SECTION\nKEY", with their lines: a key given twice is an error. */
	char **seen;
	unsigned int *seen_line;
	size_t nseen, seen_cap;
	char *value;			/* the handler's value with its comment cut or unquoted */
};

static void
fail(struct load *l, unsigned int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fail(struct load *l, unsigned int line, const char *fmt, ...)
{
	if (l->err_line != 0 && l->err_line <= line)
		return;	/* keep the first error of the file */
	va_list ap;
	free(l->err);
	va_start(ap, fmt);
	error_setv(&l->err, fmt, ap);
	va_end(ap);
	l->err_line = line;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static bool
parse_bool(const char *v, bool *b_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*b_r = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*b_r = false;
			return true;
		}
	}
	return false;
}

static bool
parse_uint(const char *v, int base, unsigned int min, unsigned int max, unsigned int *u_r)
{
	if (*v == '\0' || *v == '-' || *v == '+')
		return false;
	errno = 0;
	char *end;
	unsigned long n = strtoul(v, &end, base);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return false;
	*u_r = (unsigned int)n;
	return true;
}

static bool
one_of(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(v, *set) == 0)
			return true;
	return false;
}

#define BOOL(key, field) \
	if (strcmp(name, key) == 0) { \
		if (!parse_bool(v, &(field))) \
			fail(l, l->line, "%s: '%s' is not a boolean (yes or no)", name, v); \
		return 1; \
	}
#define UINT(key, field, min, max) \
	if (strcmp(name, key) == 0) { \
		if (!parse_uint(v, 10, min, max, &(field))) \
			fail(l, l->line, "%s: '%s' is not a number from %u to %u", name, v, \
			    (unsigned int)(min), (unsigned int)(max)); \
		return 1; \
	}
#define STR(key, field) \
	if (strcmp(name, key) == 0) { \
		if (*v == '\0') \
			fail(l, l->line, "%s: empty value", name); \
		else \
			set_str(&(field), v); \
		return 1; \
	}

/* The ranges below catch typos (seconds where days are meant, a stray digit), not choices: each
 * bound is far beyond any sensible setting, and bounced.conf(5) lists them. */

static int
store_key(struct load *l, const char *name, const char *v)
{
	struct config *c = l->c;
	STR("db", c->db_path)
	UINT("busy_timeout_ms", c->busy_timeout_ms, 0, CONFIG_NUMBER_MAX)
	UINT("keep_raw_days", c->keep_raw_days, 0, 36500)
	UINT("keep_events_days", c->keep_events_days, 0, 36500)
	return 0;
}

static int
policy_key(struct load *l, const char *name, const char *v)
{
	struct config *c = l->c;
	BOOL("suppress_hard", c->suppress_hard)
	BOOL("suppress_complaint", c->suppress_complaint)
	UINT("soft_threshold", c->soft_threshold, 0, 1000)
	UINT("soft_reset_days", c->soft_reset_days, 1, 3650)
	UINT("soft_suppress_days", c->soft_suppress_days, 1, 36500)
	return 0;
}

static int
lmtp_key(struct load *l, const char *name, const char *v)
{
	struct config *c = l->c;
	if (strcmp(name, "listen") == 0) {
		if (strncmp(v, "unix:", 5) != 0 && strncmp(v, "tcp:", 4) != 0) {
			fail(l, l->line, "listen: '%s' is not unix:PATH or tcp:HOST:PORT", v);
			return 1;
		}
		if (!l->listen_set) {
			for (size_t i = 0; i < c->nlisten; i++) {
				free(c->listen[i]);
				c->listen[i] = NULL;
			}
			c->nlisten = 0;
			l->listen_set = true;
		}
		if (c->nlisten == CONFIG_MAX_LISTEN) {
			fail(l, l->line, "listen: more than %d listeners", CONFIG_MAX_LISTEN);
			return 1;
		}
		c->listen[c->nlisten++] = xstrdup(v);
		return 1;
	}
	if (strcmp(name, "socket_mode") == 0) {
		if (!parse_uint(v, 8, 0, 0777, &c->socket_mode))
			fail(l, l->line, "socket_mode: '%s' is not an octal mode from 0 to 0777", v);
		return 1;
	}
	STR("socket_group", c->socket_group)
	if (strcmp(name, "allow") == 0) {
		/* Parsed here so a wrong entry is reported with its line, and again by the server. */
		struct allow_list *list = NULL;
		char *why = NULL;
		if (allow_list_parse(v, &list, &why) != 0)
			fail(l, l->line, "allow: %s", why);
		else
			set_str(&c->allow, v);
		free(why);
		allow_list_free(list);
		return 1;
	}
	UINT("max_sessions", c->max_sessions, 1, 100000)
	UINT("workers", c->workers, 1, 256)
	UINT("timeout_command", c->timeout_command_s, 1, 86400)
	UINT("timeout_data", c->timeout_data_s, 1, 86400)
	UINT("worker_cpu", c->worker_cpu_s, 1, 3600)
	UINT("worker_mem_mb", c->worker_mem_mb, 16, 65536)
	if (strcmp(name, "log") == 0) {
		static const char *const logs[] = { "stderr", "syslog", NULL };
		if (!one_of(v, logs))
			fail(l, l->line, "log: '%s' is not stderr or syslog", v);
		else
			set_str(&c->log, v);
		return 1;
	}
	return 0;
}

static int
rules_key(struct load *l, const char *name, const char *v)
{
	struct config *c = l->c;
	STR("dir", c->rules_dir)
	STR("local", c->rules_local)
	return 0;
}

static int
verp_char(struct load *l, const char *name, const char *v, char *ch)
{
	/* Must survive in a local part unquoted and not be a letter or digit of the address. */
	if (strlen(v) != 1 || strchr("+-=._#%~", v[0]) == NULL)
		fail(l, l->line, "%s: '%s' is not one of + - = . _ # %% ~", name, v);
	else
		*ch = v[0];
	return 1;
}

static int
verp_key(struct load *l, const char *name, const char *v)
{
	struct config *c = l->c;
	STR("prefix", c->verp_prefix)
	if (strcmp(name, "separator") == 0)
		return verp_char(l, name, v, &c->verp_separator);
	if (strcmp(name, "at") == 0)
		return verp_char(l, name, v, &c->verp_at);
	STR("key_file", c->verp_key_file)
	if (strcmp(name, "require_signature") == 0) {
		l->verp_require_set = true;
		if (!parse_bool(v, &c->verp_require_signature))
			fail(l, l->line, "%s: '%s' is not a boolean (yes or no)", name, v);
		return 1;
	}
	return 0;
}

static int
imap_key(struct load *l, const char *name, const char *v)
{
	struct config_imap *m = l->imap;
	if (strcmp(name, "url") == 0) {
		if (strncmp(v, "imaps://", 8) != 0 && strncmp(v, "imap://", 7) != 0)
			fail(l, l->line, "url: '%s' is not imaps://USER@HOST[:PORT]/MAILBOX or imap://...", v);
		set_str(&m->url, v);	/* kept even when wrong: the url is not missing */
		return 1;
	}
	STR("password", m->password)
	STR("password_file", m->password_file)
	STR("tls_ca", m->tls_ca)
	BOOL("allow_plaintext", m->allow_plaintext)
	static const char *const actions[] = { "move", "delete", "flag", NULL };
	static const char *const nb_actions[] = { "move", "leave", "delete", NULL };
	if (strcmp(name, "action") == 0) {
		if (!one_of(v, actions))
			fail(l, l->line, "action: '%s' is not move, delete or flag", v);
		else
			set_str(&m->action, v);
		return 1;
	}
	STR("move_to", m->move_to)
	if (strcmp(name, "nonbounce_action") == 0) {
		if (!one_of(v, nb_actions))
			fail(l, l->line, "nonbounce_action: '%s' is not move, leave or delete", v);
		else
			set_str(&m->nonbounce_action, v);
		return 1;
	}
	STR("nonbounce_move_to", m->nonbounce_move_to)
	if (strcmp(name, "batch") == 0) {
		unsigned int n;
		if (!parse_uint(v, 10, 1, IMAP_BATCH_MAX, &n))
			fail(l, l->line, "batch: '%s' is not a number from 1 to %d", v, IMAP_BATCH_MAX);
		else
			m->batch = n;
		return 1;
	}
	if (strcmp(name, "timeout") == 0) {
		unsigned int n;
		if (!parse_uint(v, 10, IMAP_TIMEOUT_MIN_S, IMAP_TIMEOUT_MAX_S, &n))
			fail(l, l->line, "timeout: '%s' is not a number of seconds from %d to %d", v,
			    IMAP_TIMEOUT_MIN_S, IMAP_TIMEOUT_MAX_S);
		else
			m->timeout_s = n;
		return 1;
	}
	return 0;
}

static void
imap_defaults(struct config_imap *m, const char *name)
{
	memset(m, 0, sizeof *m);
	m->name = xstrdup(name);
	m->action = xstrdup("move");
	m->move_to = xstrdup("bounced/processed");
	m->nonbounce_action = xstrdup("move");
	m->nonbounce_move_to = xstrdup("bounced/not-bounces");
	m->batch = 100;
	m->timeout_s = IMAP_COMMAND_TIMEOUT_S;
}

/* A section header seen by the reader: checked here, so an empty or unknown section is an error
 * even when no key follows it. Returns the name of the section as inih will report it. */
static void
section(struct load *l, const char *s)
{
	l->imap = NULL;
	static const char *const known[] = { "store", "policy", "lmtp", "rules", "verp", NULL };
	if (one_of(s, known))
		return;
	if (strncmp(s, "imap", 4) == 0 && (s[4] == ' ' || s[4] == '\0')) {
		const char *name = s + 4;
		while (*name == ' ')
			name++;
		if (*name == '\0') {
			fail(l, l->line, "[imap] needs a name: [imap NAME]");
			return;
		}
		for (size_t i = 0; i < l->c->nimap; i++)
			if (strcmp(l->c->imap[i].name, name) == 0) {
				fail(l, l->line, "[imap %s] appears twice", name);
				return;
			}
		if (l->c->nimap == CONFIG_MAX_IMAP) {
			fail(l, l->line, "more than %d [imap] sections", CONFIG_MAX_IMAP);
			return;
		}
		l->imap_line[l->c->nimap] = l->line;
		l->imap = &l->c->imap[l->c->nimap++];
		imap_defaults(l->imap, name);
		return;
	}
	fail(l, l->line, "unknown section [%s]", s);
}

/* The value as written after '=' (inih trims the blanks around it): a comment after a blank
 * (" # ..." or " ; ...") is cut, as in the examples of bounced.conf(5); a value in double quotes
 * is taken as it is between them (\" and \\ stand for " and \), so a password holding " #" or
 * leading blanks can be written. Sets *v_r (owned by l) or reports the error and returns false. */
static bool
value(struct load *l, const char *name, const char *raw, const char **v_r)
{
	struct strbuf b = STRBUF_INIT;
	const char *p = raw;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0') {
				fail(l, l->line, "%s: no closing '\"' in %s", name, raw);
				strbuf_free(&b);
				return false;
			}
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			strbuf_putc(&b, *p);
		}
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != '\0' && !((*p == '#' || *p == ';') && (p[-1] == ' ' || p[-1] == '\t'))) {
			fail(l, l->line, "%s: text after the closing '\"': %s", name, p);
			strbuf_free(&b);
			return false;
		}
	} else {
		/* A value that starts with a comment character is all comment. */
		if (*p == '#' || *p == ';') {
			fail(l, l->line, "%s: empty value ('%c' after blanks starts a comment: write "
			    "\"%s\" for a value that starts with it)", name, *p, raw);
			return false;
		}
		const char *end = NULL;
		for (const char *q = p; end == NULL && *q != '\0'; q++)
			if ((*q == '#' || *q == ';') && q > p && (q[-1] == ' ' || q[-1] == '\t'))
				end = q;
		if (end == NULL)
			end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		strbuf_append(&b, p, (size_t)(end - p));
	}
	free(l->value);
	l->value = b.s != NULL ? strbuf_detach(&b) : xstrdup("");
	*v_r = l->value;
	return true;
}

/* Reports a key given twice in the same section (listen, which adds a listener, excepted). */
static bool
once(struct load *l, const char *sec, const char *name)
{
	if (strcmp(sec, "lmtp") == 0 && strcmp(name, "listen") == 0)
		return true;
	struct strbuf k = STRBUF_INIT;
	strbuf_printf(&k, "%s\n%s", sec, name);
	for (size_t i = 0; i < l->nseen; i++)
		if (strcmp(l->seen[i], k.s) == 0) {
			fail(l, l->line, "%s given twice in [%s] (first on line %u)", name, sec,
			    l->seen_line[i]);
			strbuf_free(&k);
			return false;
		}
	if (l->nseen == l->seen_cap) {
		l->seen_cap = l->seen_cap ? 2 * l->seen_cap : 32;
		l->seen = xrealloc(l->seen, l->seen_cap * sizeof l->seen[0]);
		l->seen_line = xrealloc(l->seen_line, l->seen_cap * sizeof l->seen_line[0]);
	}
	l->seen[l->nseen] = strbuf_detach(&k);
	l->seen_line[l->nseen++] = l->line;
	return true;
}

static int
handler(void *user, const char *sec, const char *name, const char *raw)
{
	struct load *l = user;
	int known;
	const char *v;
	if (*sec == '\0') {
		fail(l, l->line, "'%s' outside a section", name);
		return 1;
	}
	if (!value(l, name, raw, &v) || !once(l, sec, name))
		return 1;
	if (strcmp(sec, "store") == 0)
		known = store_key(l, name, v);
	else if (strcmp(sec, "policy") == 0)
		known = policy_key(l, name, v);
	else if (strcmp(sec, "lmtp") == 0)
		known = lmtp_key(l, name, v);
	else if (strcmp(sec, "rules") == 0)
		known = rules_key(l, name, v);
	else if (strcmp(sec, "verp") == 0)
		known = verp_key(l, name, v);
	else if (l->imap != NULL)
		known = imap_key(l, name, v);
	else
		return 1;	/* unknown or broken section: already reported */
	if (!known)
		fail(l, l->line, "unknown key '%s' in [%s]", name, sec);
	/* Always go on: the first error is the one reported, with the right line. */
	return 1;
}

/* fgets-style reader for inih that counts lines and sees section headers. */
static char *
reader(char *str, int num, void *stream)
{
	struct load *l = stream;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, l->f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	l->line++;
	if (n + 1 > num || memchr(line, '\0', (size_t)n) != NULL) {
		if (n + 1 > num)
			fail(l, l->line, "line longer than %d bytes", num - 3);
		else
			fail(l, l->line, "NUL byte in line");
		free(line);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	memcpy(str, line, (size_t)n + 1);
	free(line);
	/* Section headers: "[name]" after optional blanks. */
	const char *p = str;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		const char *end = strchr(p, ']');
		if (end != NULL) {
			char *s = xstrndup(p + 1, (size_t)(end - p - 1));
			section(l, s);
			free(s);
		}
	}
	return str;
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->db_path = xstrdup(CONFIG_DEFAULT_DB);
	c->busy_timeout_ms = 5000;
	c->keep_raw_days = 30;
	c->keep_events_days = 400;
	c->suppress_hard = true;
	c->suppress_complaint = true;
	c->soft_threshold = 5;
	c->soft_reset_days = 7;
	c->soft_suppress_days = 30;
	c->listen[0] = xstrdup("unix:" CONFIG_DEFAULT_SOCKET);
	c->nlisten = 1;
	c->socket_mode = 0660;
	c->max_sessions = 200;
	c->workers = 2;
	c->timeout_command_s = 300;
	c->timeout_data_s = 600;
	c->worker_cpu_s = 10;
	c->worker_mem_mb = 512;
	c->log = xstrdup("stderr");
	c->verp_prefix = xstrdup("bounces");
	c->verp_separator = '+';
	c->verp_at = '=';
	c->verp_require_signature = false;
}

static void
check_imap(struct load *l)
{
	for (size_t i = 0; i < l->c->nimap; i++) {
		struct config_imap *m = &l->c->imap[i];
		if (m->url == NULL)
			fail(l, l->imap_line[i], "[imap %s] has no url", m->name);
		else if (m->password != NULL && m->password_file != NULL)
			fail(l, l->imap_line[i], "[imap %s] has both password and password_file",
			    m->name);
	}
}

int
config_load(struct config *c, const char *path, char **error_r)
{
	struct load l = { .c = c, .path = path };
	l.f = fopen(path, "r");
	if (l.f == NULL) {
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "%s: %s", path, strerror(errno));
		*error_r = strbuf_detach(&b);
		return -1;
	}
	/* inih hands values over whole: value() cuts end-of-line comments and reads quotes, the
	 * same for every key; an indented line is not a continuation. */
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_initial_alloc = CONFIG_LINE_MAX;
	ini_max_line = CONFIG_LINE_MAX;
	int rc = ini_parse_stream(reader, &l, handler, &l);
	fclose(l.f);
	for (size_t i = 0; i < l.nseen; i++)
		free(l.seen[i]);
	free(l.seen);
	free(l.seen_line);
	free(l.value);
	if (rc > 0)
		fail(&l, (unsigned int)rc, "syntax error: expected 'key = value' or '[section]'");
	else if (rc < 0)
		fail(&l, l.line, "cannot read the file");
	if (!l.verp_require_set)
		c->verp_require_signature = c->verp_key_file != NULL;
	check_imap(&l);
	free(c->path);
	c->path = xstrdup(path);
	if (l.err_line != 0) {
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "%s:%u: %s", path, l.err_line, l.err);
		free(l.err);
		*error_r = strbuf_detach(&b);
		return -1;
	}
	return 0;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->db_path);
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->socket_group);
	free(c->allow);
	free(c->log);
	free(c->rules_dir);
	free(c->rules_local);
	free(c->verp_prefix);
	free(c->verp_key_file);
	for (size_t i = 0; i < c->nimap; i++) {
		struct config_imap *m = &c->imap[i];
		free(m->name);
		free(m->url);
		free(m->password);
		free(m->password_file);
		free(m->tls_ca);
		free(m->action);
		free(m->move_to);
		free(m->nonbounce_action);
		free(m->nonbounce_move_to);
	}
	memset(c, 0, sizeof *c);
}

/* Appends to b a warning when path (holding a secret) can be read by others than its owner's
 * group. */
static void
secret_readable(struct strbuf *b, const char *path, const char *what)
{
	struct stat st;
	if (path == NULL || stat(path, &st) != 0 || (st.st_mode & S_IROTH) == 0)
		return;
	strbuf_printf(b, "%s: %s is readable by every user (mode %04o): chmod o-r %s\n", path,
	    what, (unsigned int)(st.st_mode & 07777), path);
}

char *
config_secret_warnings(const struct config *c)
{
	struct strbuf b = STRBUF_INIT;
	bool inline_pw = false;
	for (size_t i = 0; i < c->nimap; i++) {
		inline_pw |= c->imap[i].password != NULL;
		secret_readable(&b, c->imap[i].password_file, "the password file");
	}
	if (inline_pw)
		secret_readable(&b, c->path, "the configuration, which holds a password,");
	secret_readable(&b, c->verp_key_file, "the VERP key");
	if (b.len > 0)
		b.s[--b.len] = '\0';
	return b.s;
}
