/* bounced.conf (see doc/bounced.conf.5), read with inih. Every field has a built-in default so
 * bounced runs without a config file. */
#ifndef BOUNCED_CONFIG_H
#define BOUNCED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced-config.h"

/* Where bounced looks for its files unless told otherwise: set by the build from --sysconfdir
 * and --localstatedir (Debian: meson setup --prefix=/usr --sysconfdir=/etc gives
 * /etc/bounced/bounced.conf and /var/lib/bounced/bounced.db); the socket is under /run. */
#define CONFIG_DEFAULT_FILE	BOUNCED_CONFIG_FILE
#define CONFIG_DEFAULT_DB	BOUNCED_DB_DEFAULT
#define CONFIG_DEFAULT_SOCKET	"/run/bounced/lmtp.sock"

/* [lmtp] listen lines at most: a server listens on a socket or two; more is a mistake. */
#define CONFIG_MAX_LISTEN	8
/* [imap NAME] sections at most: each is polled in turn by one `fetch` run. */
#define CONFIG_MAX_IMAP		16

struct config_imap {
	char *name;		/* [imap NAME] section name */
	char *url;		/* imaps://user@host:port/MAILBOX or imap://... */
	char *password;		/* or password_file */
	char *password_file;
	char *tls_ca;		/* CA file; NULL = system trust store */
	bool allow_plaintext;	/* plain imap:// without STARTTLS only when true */
	char *action;		/* "move" (default), "delete", "flag" */
	char *move_to;		/* folder for processed bounces, default "bounced/processed" */
	char *nonbounce_action;	/* "move" (default), "leave", "delete" */
	char *nonbounce_move_to;	/* default "bounced/not-bounces" */
	size_t batch;		/* messages per transaction, default 100 */
	unsigned int timeout_s;	/* seconds per IMAP command, default IMAP_COMMAND_TIMEOUT_S */
};

struct config {
	char *path;		/* file read, or NULL for defaults */
	/* [store] */
	char *db_path;		/* default CONFIG_DEFAULT_DB */
	unsigned int busy_timeout_ms;	/* default 5000 */
	unsigned int keep_raw_days;	/* raw messages kept for re-parsing, default 30; 0 = forever */
	unsigned int keep_events_days;	/* messages and events kept, default 400; 0 = forever */
	/* [policy] */
	bool suppress_hard;		/* default true */
	bool suppress_complaint;	/* default true */
	unsigned int soft_threshold;	/* default 5 */
	unsigned int soft_reset_days;	/* default 7 */
	unsigned int soft_suppress_days;	/* default 30 */
	/* [lmtp] */
	char *listen[CONFIG_MAX_LISTEN];	/* "unix:PATH" or "tcp:HOST:PORT"; default unix:CONFIG_DEFAULT_SOCKET */
	size_t nlisten;
	unsigned int socket_mode;	/* default 0660 */
	char *socket_group;		/* NULL = leave as is */
	char *allow;			/* clients let in on non-loopback TCP, as written: IP
					 * addresses and CIDR prefixes (checked at load, allow.h) */
	unsigned int max_sessions;	/* default 200 */
	unsigned int workers;		/* parse workers, default 2 */
	unsigned int timeout_command_s;	/* default 300 */
	unsigned int timeout_data_s;	/* default 600 */
	unsigned int worker_cpu_s;	/* CPU seconds per parse worker message, default 10 */
	unsigned int worker_mem_mb;	/* address space of a parse worker, default 512 */
	char *log;			/* "stderr" (default) or "syslog" */
	/* [rules] */
	char *rules_dir;		/* shipped rules; NULL = built-in copies */
	char *rules_local;		/* operator's additional rules file, or NULL */
	/* [verp] */
	char *verp_prefix;		/* default "bounces" */
	char verp_separator;		/* default '+' */
	char verp_at;			/* default '=' */
	char *verp_key_file;		/* NULL = unsigned */
	bool verp_require_signature;	/* default: true when a key file is set */
	/* [imap NAME] sections */
	struct config_imap imap[CONFIG_MAX_IMAP];
	size_t nimap;
};

/* Fills c with the defaults; c owns its strings from then on (config_free). */
void config_defaults(struct config *c);
/* Reads path over the defaults. On error returns -1 and sets *error_r to
 * "PATH:LINE: what is wrong" (caller frees). A missing file is an error. */
int config_load(struct config *c, const char *path, char **error_r);
/* Warnings about secrets others can read: a password file, a VERP key, or the configuration
 * file when it holds a password, readable by every user. One line each, or NULL when none
 * (caller frees). */
char *config_secret_warnings(const struct config *c);
/* Frees what c owns (not c itself). */
void config_free(struct config *c);

#endif
