/* bounced config check [--config FILE] [--user NAME]: reads the configuration as serve and fetch
 * will, checks the files and permissions they will need as the user they will run as, and
 * prints the effective settings (like `postfix check` and `postconf -n`). */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "options.h"
#include "setup.h"
#include "store_access.h"
#include "strbuf.h"

/* The user the shipped systemd unit runs bounced as (contrib/bounced.service). */
#define CONFIG_SERVICE_USER	"bounced"

static const char config_usage[] =
    "usage: bounced config check [--config FILE] [--user NAME]\n"
    "\n"
    "Reads the configuration (default " CONFIG_DEFAULT_FILE "; built-in defaults when that\n"
    "file does not exist) and checks every value, then checks as user NAME what serve and\n"
    "fetch will need: the database, its -wal and -shm and its directory writable, the fetch\n"
    "lock file, the directory of each unix socket, socket_group, the rules, the VERP key, the\n"
    "IMAP password files and CA files readable. Warns when a password or key is readable by\n"
    "every user. Prints the effective settings.\n"
    "\n"
    "  --config FILE  the configuration file to check\n"
    "  --user NAME    the user serve and fetch run as (default: " CONFIG_SERVICE_USER " when run\n"
    "                 as root and that user exists, else the user running the command)\n"
    "\n"
    "Exit status: 0 ready, 2 usage, 78 a value, a file or a permission is wrong (each\n"
    "problem is printed as FILE: what is wrong).\n";

static const struct options_cmd config_cmd = { "config", config_usage, false, 1, 1,
	"expected check" };

/* Counts a problem and says it. */
static void
problem(int *n, const char *text)
{
	log_warnx("%s", text);
	(*n)++;
}

/* path must be readable (what: for the message) by u. */
static void
readable(int *n, const struct store_user *u, const char *path, const char *what)
{
	struct stat st;
	struct strbuf b = STRBUF_INIT;
	if (path == NULL)
		return;
	if (stat(path, &st) != 0)
		strbuf_printf(&b, "%s: %s: %m", path, what);
	else if (!store_user_may(u, &st, R_OK))
		strbuf_printf(&b, "%s: %s: user %s cannot read it (mode %04o)", path, what, u->name,
		    (unsigned int)(st.st_mode & 07777));
	if (b.len > 0)
		problem(n, b.s);
	strbuf_free(&b);
}

static void
check_socket(int *n, const struct store_user *u, const struct config *c, const char *spec)
{
	if (strncmp(spec, "unix:", 5) != 0)
		return;
	const char *path = spec + 5;
	char *error = NULL;
	/* serve removes a stale socket and creates its own: what matters is the directory. */
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	if (slash == NULL)
		strcpy(d, ".");
	else if (slash == d)
		d[1] = '\0';
	else
		*slash = '\0';
	struct stat st;
	if (stat(d, &st) != 0) {
		printf("note: %s does not exist yet: the unit's RuntimeDirectory= creates "
		    "/run/bounced; else serve creates it when it may write its parent\n", d);
	} else if (lstat(path, &st) != 0) {
		if (store_access_file(path, u, &error) != 0)
			problem(n, error);
	} else if (stat(d, &st) == 0 && !store_user_may(u, &st, W_OK | X_OK)) {
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "%s: user %s cannot replace the socket %s in it (mode %04o)", d,
		    u->name, path, (unsigned int)(st.st_mode & 07777));
		problem(n, b.s);
		strbuf_free(&b);
	}
	free(error);
	free(d);
	if (c->socket_group != NULL) {
		const struct group *gr = getgrnam(c->socket_group);
		struct strbuf b = STRBUF_INIT;
		if (gr == NULL) {
			strbuf_printf(&b, "%s: socket_group: no such group '%s'",
			    c->path != NULL ? c->path : "[lmtp]", c->socket_group);
		} else if (u->uid != 0) {
			bool member = u->gid == gr->gr_gid;
			for (int i = 0; i < u->ngroups && !member; i++)
				member = u->groups[i] == gr->gr_gid;
			if (!member)
				strbuf_printf(&b, "socket_group: user %s is not in group %s, so it cannot "
				    "give the socket to it (the unit adds it: SupplementaryGroups=%s)",
				    u->name, c->socket_group, c->socket_group);
		}
		if (b.len > 0 && gr == NULL)
			problem(n, b.s);
		else if (b.len > 0)
			printf("note: %s\n", b.s);
		strbuf_free(&b);
	}
}

static void
print_settings(const struct config *c)
{
	printf("\n[store]\ndb = %s\nbusy_timeout_ms = %u\nkeep_raw_days = %u\n"
	    "keep_events_days = %u\n", c->db_path, c->busy_timeout_ms, c->keep_raw_days,
	    c->keep_events_days);
	printf("\n[policy]\nsuppress_hard = %s\nsuppress_complaint = %s\nsoft_threshold = %u\n"
	    "soft_reset_days = %u\nsoft_suppress_days = %u\n", c->suppress_hard ? "yes" : "no",
	    c->suppress_complaint ? "yes" : "no", c->soft_threshold, c->soft_reset_days,
	    c->soft_suppress_days);
	printf("\n[lmtp]\n");
	for (size_t i = 0; i < c->nlisten; i++)
		printf("listen = %s\n", c->listen[i]);
	printf("socket_mode = %04o\n", c->socket_mode);
	if (c->socket_group != NULL)
		printf("socket_group = %s\n", c->socket_group);
	if (c->allow != NULL)
		printf("allow = %s\n", c->allow);
	printf("max_sessions = %u\nworkers = %u\ntimeout_command = %u\ntimeout_data = %u\n"
	    "worker_cpu = %u\nworker_mem_mb = %u\nlog = %s\n", c->max_sessions, c->workers,
	    c->timeout_command_s, c->timeout_data_s, c->worker_cpu_s, c->worker_mem_mb, c->log);
	if (c->rules_dir != NULL || c->rules_local != NULL) {
		printf("\n[rules]\n");
		if (c->rules_dir != NULL)
			printf("dir = %s\n", c->rules_dir);
		if (c->rules_local != NULL)
			printf("local = %s\n", c->rules_local);
	}
	printf("\n[verp]\nprefix = %s\nseparator = %c\nat = %c\n", c->verp_prefix,
	    c->verp_separator, c->verp_at);
	if (c->verp_key_file != NULL)
		printf("key_file = %s\n", c->verp_key_file);
	printf("require_signature = %s\n", c->verp_require_signature ? "yes" : "no");
	for (size_t i = 0; i < c->nimap; i++) {
		const struct config_imap *m = &c->imap[i];
		printf("\n[imap %s]\nurl = %s\n", m->name, m->url);
		if (m->password != NULL)
			printf("password = (set)\n");
		if (m->password_file != NULL)
			printf("password_file = %s\n", m->password_file);
		if (m->tls_ca != NULL)
			printf("tls_ca = %s\n", m->tls_ca);
		printf("allow_plaintext = %s\naction = %s\nmove_to = %s\nnonbounce_action = %s\n"
		    "nonbounce_move_to = %s\nbatch = %zu\ntimeout = %u\n",
		    m->allow_plaintext ? "yes" : "no", m->action, m->move_to, m->nonbounce_action,
		    m->nonbounce_move_to, m->batch, m->timeout_s);
	}
}

int
cmd_config(int argc, char **argv)
{
	const char *config_path = NULL, *user = NULL;
	const struct option_spec specs[] = {
		OPTION_STRING("config", 'c', &config_path), OPTION_STRING("user", 'u', &user),
		OPTIONS_END,
	};
	int first, st = options_parse(&config_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	if (strcmp(argv[first], "check") != 0) {
		log_warnx("config: expected check (try 'bounced config --help')");
		return EXIT_USAGE;
	}
	struct store_user u;
	char *error = NULL;
	if (user == NULL && geteuid() == 0 && store_user_named(CONFIG_SERVICE_USER, &u, NULL) == 0)
		user = CONFIG_SERVICE_USER;
	if (user != NULL && store_user_named(user, &u, &error) != 0) {
		log_warnx("config check: --user %s: %s", user, error);
		free(error);
		return EXIT_USAGE;
	}
	if (user == NULL)
		store_user_self(&u);

	struct config c;
	if (setup_config(&c, config_path, &error) != 0) {
		log_warnx("%s", error);
		free(error);
		config_free(&c);
		return EXIT_CONFIG;
	}
	printf("configuration: %s\n", c.path != NULL ? c.path :
	    "built-in defaults (" CONFIG_DEFAULT_FILE " does not exist)");
	printf("database: %s\n", c.db_path);
	printf("checked for user: %s\n", u.name);
	int n = 0;
	/* Rules and the VERP key are read as serve reads them. */
	struct parse_setup ps;
	if (setup_load(&ps, &c, &error) != 0) {
		problem(&n, error);
		free(error);
		error = NULL;
	} else {
		setup_free(&ps);
	}
	readable(&n, &u, c.verp_key_file, "VERP key");
	readable(&n, &u, c.rules_local, "local rules");
	if (store_access_check(c.db_path, &u, true, &error) != 0) {
		problem(&n, error);
		free(error);
		error = NULL;
	}
	if (c.nimap > 0) {
		struct strbuf lock = STRBUF_INIT;
		strbuf_printf(&lock, "%s.fetch.lock", c.db_path);
		struct stat lst;
		if (lstat(lock.s, &lst) == 0 && store_access_file(lock.s, &u, &error) != 0) {
			problem(&n, error);
			free(error);
			error = NULL;
		}
		strbuf_free(&lock);
	}
	for (size_t i = 0; i < c.nlisten; i++)
		check_socket(&n, &u, &c, c.listen[i]);
	for (size_t i = 0; i < c.nimap; i++) {
		readable(&n, &u, c.imap[i].password_file, "password file");
		readable(&n, &u, c.imap[i].tls_ca, "CA file");
	}
	char *warn = config_secret_warnings(&c);
	if (warn != NULL)
		log_warnx("warning: %s", warn);
	free(warn);
	print_settings(&c);
	config_free(&c);
	if (n > 0) {
		log_warnx("config check: %d problem%s", n, n == 1 ? "" : "s");
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}
