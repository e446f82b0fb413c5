/* bounced: one binary, subcommands. See doc/bounced.8. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounced-config.h"
#include "commands.h"
#include "log.h"
#include "setup.h"

static const struct command {
	const char *name;
	int (*run)(int, char **);
	const char *summary;
} commands[] = {
	{ "parse",	cmd_parse,	"read messages and print what they are, as JSON Lines" },
	{ "ingest",	cmd_ingest,	"parse messages and record them in the database" },
	{ "serve",	cmd_serve,	"run the LMTP server Postfix delivers bounces to" },
	{ "fetch",	cmd_fetch,	"process new mail in an IMAP mailbox (for cron)" },
	{ "suppress",	cmd_suppress,	"list, check, add or remove suppressions" },
	{ "stats",	cmd_stats,	"counts by class, reason and receiving domain" },
	{ "db",		cmd_db,		"database maintenance (migrate, prune, backup)" },
	{ "config",	cmd_config,	"check the configuration and the permissions serve needs" },
	{ "verp",	cmd_verp,	"encode or decode (signed) VERP return paths" },
	{ "rules",	cmd_rules,	"check rule files and run the examples beside their rules" },
};

static void
usage(FILE *f)
{
	fputs("usage: bounced [--help] [--version] COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'bounced COMMAND --help' describes a command; man bounced(8) has the details.\n", f);
}

/* The version, and the files a command run without --config and --db would use. */
static int
version(void)
{
	printf("bounced %s\n", BOUNCED_VERSION);
	struct config c;
	char *error = NULL;
	if (setup_config(&c, NULL, &error) != 0) {
		printf("configuration: %s (error: %s)\n", CONFIG_DEFAULT_FILE, error);
		free(error);
	} else {
		printf("configuration: %s\n", c.path != NULL ? c.path :
		    CONFIG_DEFAULT_FILE " (absent: built-in defaults)");
	}
	printf("database: %s\n", c.db_path != NULL ? c.db_path : CONFIG_DEFAULT_DB);
	config_free(&c);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* Parsing a message allocates and frees a few MB at most; returning that to the system
	 * after each message (glibc's default trim threshold) costs ~8% of parse time. */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
		return version();
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (cmd[0] == '-')
		log_warnx("unknown option '%s' (try 'bounced --help')", cmd);
	else
		log_warnx("unknown command '%s' (try 'bounced --help')", cmd);
	return EXIT_USAGE;
}
