/* bounced db migrate [--config FILE] [--db PATH]: creates the database or brings its schema up
 * to this binary's version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "options.h"
#include "store_cli.h"

static const char db_usage[] =
    "usage: bounced db migrate [--config FILE] [--db PATH]\n"
    "\n"
    "Creates the database (and its directory) when missing and applies the schema migrations\n"
    "it lacks, each in one transaction. Other commands migrate on their own; this one is for\n"
    "installing and upgrading. A database newer than this binary is refused.\n"
    "\n"
    "  --config FILE  read [store] from FILE\n"
    "  --db PATH      the database (default: [store] db, ./var/bounced.db)\n"
    "\n"
    "Exit status: 0 done, 2 usage, 75 database busy, 78 configuration or foreign database.\n";

static const struct options_cmd db_cmd = { "db", db_usage, false, 0, -1, NULL };

int
cmd_db(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL;
	const struct option_spec specs[] = {
		OPTIONS_CONFIG_DB(&config_path, &db), OPTIONS_END,
	};
	int first, st = options_parse(&db_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	if (first >= argc || strcmp(argv[first], "migrate") != 0 || first + 1 != argc) {
		log_warnx("db: expected 'migrate' (try 'bounced db --help')");
		return EXIT_USAGE;
	}
	struct config cfg;
	int status = store_cli_config(&cfg, config_path, db);
	struct store *s = NULL;
	if (status == EXIT_OK)
		status = store_cli_open(&cfg, STORE_OPEN_CREATE | STORE_OPEN_NO_MIGRATE, &s);
	if (status == EXIT_OK) {
		int from = 0, to = 0;
		char *error = NULL;
		int rc = store_migrate(s, &from, &to, &error);
		if (rc != STORE_OK) {
			log_warnx("%s", error);
			free(error);
			status = store_cli_exit(rc);
		} else if (from == to) {
			printf("%s: schema is current (version %d)\n", cfg.db_path, to);
		} else {
			printf("%s: schema migrated from version %d to %d\n", cfg.db_path, from, to);
		}
	}
	store_close(s);
	config_free(&cfg);
	return status;
}
