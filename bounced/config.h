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

/* [webhook NAME] sections at most: one per provider (webhook.h). */
#define CONFIG_MAX_WEBHOOK	8
/* topic_arn lines of one [webhook ses] at most: an account has a topic or two per region. */
#define CONFIG_MAX_TOPICS	16

/* [webhook PROVIDER]: a provider's path /webhooks/PROVIDER is answered only with its section.
 * Secrets are named by file, never written here. */
struct config_webhook {
	char *name;			/* the provider: ses, sendgrid, postmark, mailgun, ... */
	unsigned int line;		/* of the section header, for errors found later */
	char *signing_key_file;		/* mailgun: the HTTP webhook signing key */
	char *public_key_file;		/* sendgrid (base64 DER or PEM), postal (PEM or base64) */
	char *user;			/* basic auth: postmark, sparkpost, brevo, mailjet */
	char *password_file;
	char *token_file;		/* bearer token: sparkpost, brevo, mailjet */
	char *topic_arn[CONFIG_MAX_TOPICS];	/* ses: the SNS topics accepted */
	size_t ntopics;
	char *allow;			/* source addresses let in (any provider; postmark's IPs) */
	unsigned int max_age_s;		/* sendgrid, mailgun: older signed timestamps are refused,
					 * default 300 */
	char *cert_host;		/* ses: host pattern of SigningCertURL and SubscribeURL,
					 * default sns.*.amazonaws.com */
	char *tls_ca;			/* ses: CA file to verify them; NULL = the system's */
	bool subscribe;			/* ses: confirm subscriptions to allowed topics, default yes */
};

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
	unsigned int max_sessions_per_peer;	/* TCP sessions from one address, default 50 */
	unsigned int timeout_command_s;	/* a whole command line, default 300 */
	unsigned int timeout_data_s;	/* DATA idle, and its grace before data_min_rate, default 600 */
	unsigned int data_min_rate;	/* bytes per second DATA must average, default 8192; 0 = none */
	unsigned int slow_after_s;	/* a session late this long may be closed for a new one, default 10 */
	unsigned int message_memory_mb;	/* message bytes held by all sessions at once, default 256 */
	unsigned int worker_cpu_s;	/* CPU seconds per parse worker message, default 10 */
	unsigned int worker_mem_mb;	/* address space of a parse worker, default 512 */
	char *log;			/* "stderr" (default) or "syslog" */
	/* [http] (the HTTP listener of serve: webhooks; off without a listen) */
	char *http_listen[CONFIG_MAX_LISTEN];	/* "unix:PATH" or "tcp:HOST:PORT" */
	size_t nhttp_listen;
	char *http_allow;		/* non-loopback clients let in, as [lmtp] allow */
	unsigned int http_max_connections;	/* default 64 */
	unsigned int http_timeout_s;	/* idle or slow request, default 30 */
	unsigned int http_max_body_kb;	/* largest request body, default 1024 */
	struct config_webhook webhook[CONFIG_MAX_WEBHOOK];
	size_t nwebhook;
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
/* The [webhook NAME] section of provider name, or NULL when there is none. */
const struct config_webhook *config_webhook(const struct config *c, const char *name);
/* An HTTP listen spec as listen.h takes it ("tcp:HOST:PORT", "unix:PATH") from [http] listen
 * or --listen ("http:HOST:PORT", "http:unix:PATH", or the listen.h forms); NULL when v is none
 * of them. Caller frees. */
char *config_http_spec(const char *v);
/* Warnings about secrets others can read: a password file, a VERP key, or the configuration
 * file when it holds a password, readable by every user. One line each, or NULL when none
 * (caller frees). */
char *config_secret_warnings(const struct config *c);
/* Frees what c owns (not c itself). */
void config_free(struct config *c);

#endif
