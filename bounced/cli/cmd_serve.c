/* bounced serve [--config FILE] [--db PATH] [--listen unix:PATH|tcp:HOST:PORT]... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "lmtp_server.h"
#include "log.h"
#include "setup.h"
#include "strbuf.h"

static void
usage(FILE *f)
{
	fputs("usage: bounced serve [--config FILE] [--db PATH] [--listen unix:PATH|tcp:HOST:PORT]...\n"
	    "                     [--hostname NAME] [--workers N]\n\n"
	    "Runs the LMTP server Postfix delivers bounces to. Each recipient is answered 250 only\n"
	    "after the message is committed to the database; database trouble is answered 451.\n"
	    "Defaults: --listen unix:./var/lmtp.sock (mode 0660), --db ./var/bounced.db.\n"
	    "SIGTERM stops after in-flight messages; SIGHUP reloads the configuration and rules.\n", f);
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *db = NULL, *hostname = NULL;
	const char *listen[CONFIG_MAX_LISTEN];
	size_t nlisten = 0;
	long workers = -1;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:d:l:H:w:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'l':
			if (nlisten >= CONFIG_MAX_LISTEN) {
				log_warnx("serve: at most %d --listen", CONFIG_MAX_LISTEN);
				return EXIT_USAGE;
			}
			if (strncmp(optarg, "unix:", 5) != 0 && strncmp(optarg, "tcp:", 4) != 0) {
				log_warnx("serve: --listen %s: expected unix:PATH or tcp:HOST:PORT", optarg);
				return EXIT_USAGE;
			}
			listen[nlisten++] = optarg;
			break;
		case 'H':
			hostname = optarg;
			break;
		case 'w': {
			char *end;
			workers = strtol(optarg, &end, 10);
			if (*end != '\0' || workers < 1 || workers > 256) {
				log_warnx("serve: --workers takes 1 to 256");
				return EXIT_USAGE;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			log_warnx("serve: unknown or incomplete option '%s' (try 'bounced serve --help')",
			    argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_warnx("serve: unexpected argument '%s' (try 'bounced serve --help')", argv[optind]);
		return EXIT_USAGE;
	}
	struct config *cfg = xcalloc(1, sizeof *cfg);
	char *err = NULL;
	if (setup_config(cfg, config_path, &err) != 0) {
		log_warnx("%s", err);
		free(err);
		free(cfg);
		return EXIT_CONFIG;
	}
	struct serve_options o = {
		.config_path = config_path, .cfg = cfg, .db_path = db,
		.listen = nlisten > 0 ? listen : NULL, .nlisten = nlisten, .hostname = hostname,
		.workers = workers > 0 ? (unsigned int)workers : 0,
	};
	return lmtp_server_run(&o);
}
