/* bounced serve [--config FILE] [--db PATH] [--listen unix:PATH|tcp:HOST:PORT|http:HOST:PORT|
 * http:unix:PATH]... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "lmtp_server.h"
#include "log.h"
#include "options.h"
#include "setup.h"
#include "store_cli.h"
#include "strbuf.h"

static const char serve_usage[] =
    "usage: bounced serve [--config FILE] [--db PATH] [--listen unix:PATH|tcp:HOST:PORT]...\n"
    "                     [--listen http:HOST:PORT|http:unix:PATH]... [--hostname NAME]\n"
    "                     [--workers N]\n\n"
    "Runs the LMTP server Postfix delivers bounces to. Each recipient is answered 250 only\n"
    "after the message is committed to the database; database trouble is answered 451.\n"
    "With an http: listen (or [http] listen), also takes ESP webhooks at /webhooks/PROVIDER\n"
    "for each [webhook PROVIDER] section: 200 only after the commit, 503 on database trouble.\n"
    "SIGTERM stops after in-flight messages; SIGHUP reloads the configuration and rules.\n"
    "\n"
    "  --config FILE        the configuration (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH            the database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "  --listen SPEC        unix:PATH or tcp:HOST:PORT, repeatable (default: [lmtp] listen,\n"
    "                       unix:" CONFIG_DEFAULT_SOCKET ", mode 0660); http:HOST:PORT or\n"
    "                       http:unix:PATH for the HTTP listener (default: [http] listen, none)\n"
    "  --hostname NAME      the name in the LMTP greeting (default: the host name)\n"
    "  --workers N          parse worker processes (default: [lmtp] workers, 2)\n"
    "\n"
    "Exit status: 0 stopped by SIGTERM, 2 usage, 70 internal error, 73 the database, its\n"
    "-wal, -shm or directory not writable by this user (the message names the file, its\n"
    "owner and the user), or a directory where the database should be, 75 database busy or\n"
    "I/O error at start, 78 bad configuration, rules or VERP key, a socket that cannot be\n"
    "created, or a foreign or newer database.\n";

static const struct options_cmd serve_cmd = { "serve", serve_usage, false, 0, 0, NULL };

/* Parse workers at most: each is a process; more than the cores only adds memory. */
#define SERVE_WORKERS_MAX	256

int
cmd_serve(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *hostname = NULL;
	const char *listen[CONFIG_MAX_LISTEN];
	size_t nlisten = 0;
	unsigned long workers = 0;
	const struct option_spec specs[] = {
		OPTION_STRING("config", 'c', &config_path), OPTION_STRING("db", 'd', &db),
		OPTION_LIST("listen", 'l', listen, CONFIG_MAX_LISTEN, &nlisten),
		OPTION_STRING("hostname", 'H', &hostname),
		OPTION_NUMBER("workers", 'w', &workers, 1, SERVE_WORKERS_MAX), OPTIONS_END,
	};
	int first, st = options_parse(&serve_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	/* http: specs go to the HTTP listener, the others to LMTP. */
	const char *lmtp[CONFIG_MAX_LISTEN];
	char *http[CONFIG_MAX_LISTEN];
	size_t nlmtp = 0, nhttp = 0;
	for (size_t i = 0; i < nlisten; i++) {
		if (strncmp(listen[i], "http:", 5) == 0) {
			if ((http[nhttp] = config_http_spec(listen[i])) == NULL) {
				log_warnx("serve: --listen %s: expected http:HOST:PORT or "
				    "http:unix:PATH", listen[i]);
				for (size_t k = 0; k < nhttp; k++)
					free(http[k]);
				return EXIT_USAGE;
			}
			nhttp++;
		} else if (strncmp(listen[i], "unix:", 5) != 0 && strncmp(listen[i], "tcp:", 4) != 0) {
			log_warnx("serve: --listen %s: expected unix:PATH, tcp:HOST:PORT or "
			    "http:HOST:PORT", listen[i]);
			for (size_t k = 0; k < nhttp; k++)
				free(http[k]);
			return EXIT_USAGE;
		} else
			lmtp[nlmtp++] = listen[i];
	}
	struct config *cfg = xcalloc(1, sizeof *cfg);
	char *err = NULL;
	int ret;
	if (setup_config(cfg, config_path, &err) != 0) {
		log_warnx("%s", err);
		free(err);
		free(cfg);
		ret = EXIT_CONFIG;
	} else if ((ret = store_cli_access(db != NULL ? db : cfg->db_path, true)) != EXIT_OK) {
		/* A database this user may not write would be answered 451 on every delivery (and
		 * 503 on every webhook): refuse to start instead, naming the file, its owner and the
		 * user. */
		config_free(cfg);
		free(cfg);
	} else {
		struct serve_options o = {
			.config_path = config_path, .cfg = cfg, .db_path = db,
			.listen = nlmtp > 0 ? lmtp : NULL, .nlisten = nlmtp,
			.http_listen = nhttp > 0 ? (const char *const *)http : NULL,
			.nhttp_listen = nhttp, .hostname = hostname, .workers = (unsigned int)workers,
		};
		ret = lmtp_server_run(&o);
	}
	for (size_t k = 0; k < nhttp; k++)
		free(http[k]);
	return ret;
}
