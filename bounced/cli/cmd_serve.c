/* bounced serve [--config FILE] [--db PATH] [--listen unix:PATH|tcp:HOST:PORT]... */
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
    "                     [--hostname NAME] [--workers N]\n\n"
    "Runs the LMTP server Postfix delivers bounces to. Each recipient is answered 250 only\n"
    "after the message is committed to the database; database trouble is answered 451.\n"
    "SIGTERM stops after in-flight messages; SIGHUP reloads the configuration and rules.\n"
    "\n"
    "  --config FILE        the configuration (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH            the database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "  --listen SPEC        unix:PATH or tcp:HOST:PORT, repeatable (default: [lmtp] listen,\n"
    "                       unix:" CONFIG_DEFAULT_SOCKET ", mode 0660)\n"
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
	for (size_t i = 0; i < nlisten; i++) {
		if (strncmp(listen[i], "unix:", 5) != 0 && strncmp(listen[i], "tcp:", 4) != 0) {
			log_warnx("serve: --listen %s: expected unix:PATH or tcp:HOST:PORT", listen[i]);
			return EXIT_USAGE;
		}
	}
	struct config *cfg = xcalloc(1, sizeof *cfg);
	char *err = NULL;
	if (setup_config(cfg, config_path, &err) != 0) {
		log_warnx("%s", err);
		free(err);
		free(cfg);
		return EXIT_CONFIG;
	}
	/* A database this user may not write would be answered 451 on every delivery: refuse to
	 * start instead, naming the file, its owner and the user. */
	int access = store_cli_access(db != NULL ? db : cfg->db_path, true);
	if (access != EXIT_OK) {
		config_free(cfg);
		free(cfg);
		return access;
	}
	struct serve_options o = {
		.config_path = config_path, .cfg = cfg, .db_path = db,
		.listen = nlisten > 0 ? listen : NULL, .nlisten = nlisten, .hostname = hostname,
		.workers = (unsigned int)workers,
	};
	return lmtp_server_run(&o);
}
