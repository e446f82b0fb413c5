/* bounced fetch [--config FILE] [--db PATH] [--imap URL] [--password-file F] [--tls-ca FILE]
 *               [--account NAME] [--verbose]
 * Processes new mail of one or more IMAP mailboxes, for cron (doc/fetch.md). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "imap.h"
#include "imap_poll.h"
#include "log.h"
#include "options.h"
#include "setup.h"
#include "store.h"
#include "store_access.h"
#include "store_cli.h"
#include "strbuf.h"

/* A password file is read up to this size: passwords are short, the file is not trusted to be. */
#define PASSWORD_FILE_MAX	4096
/* Suffix of the lock file next to the database that keeps two fetch runs apart. */
#define FETCH_LOCK_SUFFIX	".fetch.lock"

static const char fetch_usage[] =
    "usage: bounced fetch [--config FILE] [--db PATH] [--imap URL] [--password-file FILE]\n"
    "                     [--tls-ca FILE] [--account NAME] [--verbose]\n"
    "\n"
    "Logs in to IMAP mailboxes, records new bounces in the database and moves (or deletes, or\n"
    "flags) what it recorded, only after the database commit. Made for cron: silent on\n"
    "success, safe to kill and to run twice at once. Accounts come from the [imap NAME]\n"
    "sections of the config file, or from --imap.\n"
    "\n"
    "  --config FILE         configuration (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH             database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "  --imap URL            imaps://USER@HOST[:PORT]/MAILBOX, or imap://... with STARTTLS\n"
    "  --password-file FILE  password for --imap (first line); never on the command line\n"
    "  --tls-ca FILE         trust this CA file instead of the system trust store\n"
    "  --account NAME        only this [imap NAME] section of the config\n"
    "  --verbose             one summary line per account\n"
    "\n"
    "Exit status: 0 done, 2 usage, 70 internal error, 73 the database, its -wal, -shm,\n"
    "directory or the lock file DB.fetch.lock not writable by this user (the message names\n"
    "the file, its owner and the user), 75 temporary failure (server unreachable, database\n"
    "busy, another fetch running), 77 login or TLS certificate refused, 78 bad configuration\n"
    "or a foreign or newer database.\n";

static const struct options_cmd fetch_cmd = { "fetch", fetch_usage, true, 0, -1, NULL };

/* Reads the first line of path. Returns 0, or -1 with *error_r. */
static int
read_password(const char *path, char **pw_r, char **error_r)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		error_set(error_r, "cannot read password file %s: %s", path, strerror(errno));
		return -1;
	}
	char buf[PASSWORD_FILE_MAX + 1];
	size_t n = fread(buf, 1, PASSWORD_FILE_MAX + 1, f);
	fclose(f);
	if (n > PASSWORD_FILE_MAX) {
		error_set(error_r, "password file %s is larger than %d bytes", path,
		    PASSWORD_FILE_MAX);
		return -1;
	}
	size_t len = 0;
	while (len < n && buf[len] != '\n' && buf[len] != '\r' && buf[len] != '\0')
		len++;
	if (len == 0) {
		error_set(error_r, "password file %s is empty", path);
		return -1;
	}
	*pw_r = xstrndup(buf, len);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

static bool
parse_action(const char *s, bool nonbounce, enum imap_action *a_r)
{
	if (s == NULL || strcmp(s, "move") == 0)
		*a_r = IMAP_ACT_MOVE;
	else if (strcmp(s, "delete") == 0)
		*a_r = IMAP_ACT_DELETE;
	else if (!nonbounce && strcmp(s, "flag") == 0)
		*a_r = IMAP_ACT_FLAG;
	else if (nonbounce && strcmp(s, "leave") == 0)
		*a_r = IMAP_ACT_LEAVE;
	else
		return false;
	return true;
}

/* Fills a from a config section; *password_r is an owned copy read from password_file. */
static int
account_from_config(const struct config_imap *ci, struct imap_account *a, char **password_r,
    char **error_r)
{
	memset(a, 0, sizeof *a);
	a->name = ci->name ? ci->name : "imap";
	a->url = ci->url;
	if (a->url == NULL) {
		error_set(error_r, "[imap %s]: no url", a->name);
		return -1;
	}
	a->password = ci->password;
	if (a->password == NULL && ci->password_file != NULL) {
		if (read_password(ci->password_file, password_r, error_r) != 0)
			return -1;
		a->password = *password_r;
	}
	a->tls_ca = ci->tls_ca;
	a->allow_plaintext = ci->allow_plaintext;
	if (!parse_action(ci->action, false, &a->action)) {
		error_set(error_r, "[imap %s]: action must be move, delete or flag", a->name);
		return -1;
	}
	if (!parse_action(ci->nonbounce_action, true, &a->nonbounce_action)) {
		error_set(error_r, "[imap %s]: nonbounce_action must be move, leave or delete",
		    a->name);
		return -1;
	}
	a->move_to = ci->move_to ? ci->move_to : "bounced/processed";
	a->nonbounce_move_to = ci->nonbounce_move_to ? ci->nonbounce_move_to :
	    "bounced/not-bounces";
	a->batch = ci->batch;
	a->timeout_s = ci->timeout_s;
	return 0;
}

/* Takes the fetch lock next to the database. Returns 0 when held, 1 when another run holds it,
 * -1 on error. */
static int
take_lock(const char *db_path, int *fd_r, char **error_r)
{
	struct strbuf p = STRBUF_INIT;
	strbuf_printf(&p, "%s%s", db_path, FETCH_LOCK_SUFFIX);
	int fd = open(p.s, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		/* A lock file left by root: say whose it is and who we are. */
		int e = errno;
		struct store_user u;
		store_user_self(&u);
		if ((e == EACCES || e == EPERM) && store_access_file(p.s, &u, error_r) != 0) {
			strbuf_free(&p);
			return -1;
		}
		error_set(error_r, "cannot open lock file %s: %s", p.s, strerror(e));
		strbuf_free(&p);
		return -1;
	}
	strbuf_free(&p);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		close(fd);
		if (err == EWOULDBLOCK)
			return 1;
		error_set(error_r, "cannot lock: %s", strerror(err));
		return -1;
	}
	*fd_r = fd;
	return 0;
}

/* The more serious of two exit statuses: configuration, then credentials, then internal,
 * then temporary. */
static int
worse(int a, int b)
{
	static const int order[] = { EXIT_OK, EXIT_TEMPFAIL, EXIT_SOFTWARE, EXIT_NOPERM,
	    EXIT_CONFIG };
	int ra = 0, rb = 0;
	for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++) {
		if (order[i] == a)
			ra = i;
		if (order[i] == b)
			rb = i;
	}
	return rb > ra ? b : a;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
print_summary(const struct imap_account *a, const struct imap_poll_stats *s, double secs)
{
	fprintf(stderr, "bounced fetch: %s: %zu messages (%zu bounces, %zu not bounces, "
	    "%zu duplicates, %zu truncated), %zu events, %zu suppressed, uidvalidity %u, "
	    "%.2f s", a->name, s->messages, s->bounces, s->nonbounces, s->duplicates,
	    s->truncated, s->events, s->suppressed, s->uidvalidity, secs);
	if (secs > 0 && s->messages > 0)
		fprintf(stderr, " (%.0f/s)", s->messages / secs);
	fputc('\n', stderr);
}

int
cmd_fetch(int argc, char **argv)
{
	const char *config_path = NULL, *db_opt = NULL, *url = NULL, *pwfile = NULL;
	const char *tls_ca = NULL, *only = NULL;
	bool verbose = false;
	const struct option_spec specs[] = {
		OPTIONS_CONFIG_DB(&config_path, &db_opt), OPTION_STRING("imap", 0, &url),
		OPTION_STRING("password-file", 0, &pwfile), OPTION_STRING("tls-ca", 0, &tls_ca),
		OPTION_STRING("account", 0, &only), OPTION_FLAG("verbose", 0, &verbose),
		OPTIONS_END,
	};
	int first, status = options_parse(&fetch_cmd, specs, argc, argv, &first);
	if (status >= 0)
		return status;
	log_init(LOG_TARGET_CLI, verbose);	/* --verbose: log_debug lines too */
	if (first < argc) {
		log_warnx("fetch: unexpected argument '%s' (the password never goes on the command "
		    "line; try 'bounced fetch --help')", argv[first]);
		return EXIT_USAGE;
	}
	if (url != NULL && only != NULL) {
		log_warnx("fetch: --imap and --account exclude each other");
		return EXIT_USAGE;
	}
	if (url == NULL && pwfile != NULL) {
		log_warnx("fetch: --password-file goes with --imap");
		return EXIT_USAGE;
	}

	struct config cfg;
	struct parse_setup ps;
	struct imap_account acc[CONFIG_MAX_IMAP];
	char *owned_pw[CONFIG_MAX_IMAP] = { NULL };
	size_t nacc = 0;
	char *err = NULL;
	int ret = EXIT_OK, lock_fd = -1;
	struct store *st = NULL;
	bool setup_done = false;
	char *url_name = NULL;	/* account name for --imap: USER@HOST */

	memset(&ps, 0, sizeof ps);
	/* A server that drops the connection must give an error, not kill us (GnuTLS writes with
	 * plain send()). */
	signal(SIGPIPE, SIG_IGN);
	if (setup_config(&cfg, config_path, &err) != 0) {
		log_warnx("fetch: %s", err);
		free(err);
		return EXIT_CONFIG;
	}
	if (setup_load(&ps, &cfg, &err) != 0) {
		ret = EXIT_CONFIG;
		goto out;
	}
	setup_done = true;
	if (url != NULL) {
		struct imap_url u;
		if (imap_url_parse(url, &u, &err) != 0) {
			ret = EXIT_CONFIG;
			goto out;
		}
		struct strbuf nm = STRBUF_INIT;
		strbuf_printf(&nm, "%s@%s", u.user, u.host);
		url_name = strbuf_detach(&nm);
		imap_url_clear(&u);
		struct imap_account *a = &acc[nacc];
		memset(a, 0, sizeof *a);
		a->name = url_name;
		for (size_t i = 0; i < cfg.nimap; i++)	/* same URL in the config: its settings */
			if (cfg.imap[i].url != NULL && strcmp(cfg.imap[i].url, url) == 0 &&
			    account_from_config(&cfg.imap[i], a, &owned_pw[nacc], &err) != 0) {
				ret = EXIT_CONFIG;
				goto out;
			}
		if (a->url == NULL) {
			a->url = url;
			a->move_to = "bounced/processed";
			a->nonbounce_move_to = "bounced/not-bounces";
		}
		if (pwfile != NULL) {
			free(owned_pw[nacc]);
			owned_pw[nacc] = NULL;
			if (read_password(pwfile, &owned_pw[nacc], &err) != 0) {
				ret = EXIT_CONFIG;
				goto out;
			}
			a->password = owned_pw[nacc];
		}
		nacc++;
	} else {
		for (size_t i = 0; i < cfg.nimap && nacc < CONFIG_MAX_IMAP; i++) {
			if (only != NULL && (cfg.imap[i].name == NULL ||
			    strcmp(cfg.imap[i].name, only) != 0))
				continue;
			if (account_from_config(&cfg.imap[i], &acc[nacc], &owned_pw[nacc], &err)) {
				ret = EXIT_CONFIG;
				goto out;
			}
			nacc++;
		}
		if (nacc == 0) {
			struct strbuf e = STRBUF_INIT;
			if (only != NULL)
				strbuf_printf(&e, "no [imap %s] section in the configuration", only);
			else
				strbuf_puts(&e, "no IMAP account: give --imap URL or [imap NAME] "
				    "sections in the config file");
			err = strbuf_detach(&e);
			ret = EXIT_CONFIG;
			goto out;
		}
	}
	if (tls_ca != NULL)
		for (size_t i = 0; i < nacc; i++)
			acc[i].tls_ca = tls_ca;

	const char *db_path = db_opt ? db_opt : cfg.db_path;
	char *warn = config_secret_warnings(&cfg);
	if (warn != NULL)
		log_warnx("fetch: warning: %s", warn);
	free(warn);
	if (store_cli_access(db_path, true) != EXIT_OK) {
		ret = EXIT_CANTCREAT;
		goto out;
	}
	int sr = store_open(db_path, &cfg, STORE_OPEN_CREATE, &st, &err);
	if (sr != STORE_OK) {
		ret = store_cli_exit(sr);
		goto out;
	}
	int lr = take_lock(db_path, &lock_fd, &err);
	if (lr != 0) {
		/* Another run holds the lock: it does this work; say so only when asked. */
		if (lr == 1)
			log_debug("fetch: another bounced fetch is running on %s", db_path);
		ret = lr == 1 ? EXIT_TEMPFAIL : EXIT_CANTCREAT;
		goto out;
	}
	bool progress = isatty(STDERR_FILENO);
	for (size_t i = 0; i < nacc; i++) {
		struct imap_poll_stats stats;
		char *e = NULL;
		double t0 = now_s();
		int r = imap_poll(st, &acc[i], &ps.opt, progress, &stats, &e);
		if (r != EXIT_OK)
			log_warnx("fetch: %s", e ? e : "failed");
		else if (verbose)
			print_summary(&acc[i], &stats, now_s() - t0);
		free(e);
		ret = worse(ret, r);
	}
out:
	if (err != NULL) {
		log_warnx("fetch: %s", err);
		free(err);
	}
	store_close(st);
	if (lock_fd >= 0)
		close(lock_fd);	/* releases the flock */
	for (size_t i = 0; i < CONFIG_MAX_IMAP; i++) {
		if (owned_pw[i] != NULL)
			explicit_bzero(owned_pw[i], strlen(owned_pw[i]));
		free(owned_pw[i]);
	}
	if (setup_done)
		setup_free(&ps);
	config_free(&cfg);
	free(url_name);
	return ret;
}
