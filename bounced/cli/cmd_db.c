/* bounced db migrate|prune|backup: installing, upgrading and keeping the database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "options.h"
#include "store_cli.h"
#include "strbuf.h"

/* Rows deleted per transaction by `db prune`: serve waits for the write lock at most this
 * long (a few milliseconds), so pruning a large backlog does not delay deliveries. */
#define DB_PRUNE_BATCH		2000

static const char db_usage[] =
    "usage: bounced db migrate [--config FILE] [--db PATH]\n"
    "       bounced db prune [--older-than AGE] [--config FILE] [--db PATH]\n"
    "       bounced db backup FILE [--config FILE] [--db PATH]\n"
    "\n"
    "  migrate  create the database (and its directory) when missing and apply the schema\n"
    "           migrations it lacks, each in one transaction. Other commands migrate on\n"
    "           their own; this one is for installing and upgrading. A database newer than\n"
    "           this binary is refused. Run as root, the files it creates get the owner of\n"
    "           the database (or of its directory), so the service user can still write them\n"
    "  prune    delete messages and events older than AGE (400d, 2025-01-01; default\n"
    "           [store] keep_events_days, 400 days), except the events that caused a\n"
    "           suppression; suppressions, soft scores and the audit are kept. serve does\n"
    "           the same by itself, a batch per hour\n"
    "  backup   copy the database to FILE with SQLite's online backup, while serve runs;\n"
    "           FILE is a single SQLite file (written as FILE.tmp, renamed when whole)\n"
    "\n"
    "  --older-than AGE  400d (days before now), or a date: 2025-01-01, 2025-01-01T00:00:00Z\n"
    "  --config FILE     read [store] from FILE (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH         the database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "\n"
    "Exit status: 0 done, 2 usage, 73 a file this user may not write (named with its owner),\n"
    "a directory where the database should be, or backup: FILE cannot be created, 74 backup:\n"
    "writing FILE failed, 75 database busy or I/O error (try again), 78 configuration,\n"
    "missing or foreign database.\n";

static const struct options_cmd db_cmd = { "db", db_usage, false, 1, 2,
	"expected migrate, prune or backup FILE" };

/* After a migrate run by root: the database, -wal and -shm belong to the owner of the database
 * as it was (or of its directory, for a new one), so a service running as that user can write
 * them. Returns an exit status. */
static int
keep_owner(const char *path, const struct stat *before, bool existed)
{
	struct stat owner;
	if (existed) {
		owner = *before;
	} else {
		char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		int r = stat(dir, &owner);
		free(dir);
		if (r != 0)
			return EXIT_OK;
	}
	if (owner.st_uid == 0)
		return EXIT_OK;
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		struct strbuf p = STRBUF_INIT;
		strbuf_printf(&p, "%s%s", path, sfx[i]);
		if (lchown(p.s, owner.st_uid, owner.st_gid) != 0 && errno != ENOENT) {
			log_warn("db migrate: chown %s", p.s);
			strbuf_free(&p);
			return EXIT_CANTCREAT;
		}
		strbuf_free(&p);
	}
	return EXIT_OK;
}

static int
migrate(const struct config *cfg)
{
	struct stat before;
	bool existed = stat(cfg->db_path, &before) == 0;
	struct store *s = NULL;
	int status = store_cli_open(cfg, STORE_OPEN_CREATE | STORE_OPEN_NO_MIGRATE, &s);
	if (status != EXIT_OK)
		return status;
	int from = 0, to = 0;
	char *error = NULL;
	int rc = store_migrate(s, &from, &to, &error);
	store_close(s);
	if (rc != STORE_OK) {
		log_warnx("%s", error);
		free(error);
		return store_cli_exit(rc);
	}
	if (geteuid() == 0 && (status = keep_owner(cfg->db_path, &before, existed)) != EXIT_OK)
		return status;
	if (from == to)
		printf("%s: schema is current (version %d)\n", cfg->db_path, to);
	else
		printf("%s: schema migrated from version %d to %d\n", cfg->db_path, from, to);
	return EXIT_OK;
}

static int
prune(const struct config *cfg, const char *older)
{
	int64_t now = (int64_t)time(NULL), before;
	if (older != NULL) {
		if (!store_cli_date(older, now, &before)) {
			log_warnx("db prune: --older-than '%s' is not an age or a date (400d, "
			    "2025-01-01)", older);
			return EXIT_USAGE;
		}
	} else if (cfg->keep_events_days == 0) {
		printf("%s: [store] keep_events_days = 0 keeps everything; give --older-than AGE\n",
		    cfg->db_path);
		return EXIT_OK;
	} else {
		before = now - (int64_t)cfg->keep_events_days * 86400;
	}
	struct store *s = NULL;
	int status = store_cli_open(cfg, 0, &s);
	if (status != EXIT_OK)
		return status;
	size_t events = 0, messages = 0, ev, msgs;
	char *error = NULL;
	int rc;
	do {
		ev = msgs = 0;
		rc = store_begin(s, &error);
		if (rc == STORE_OK)
			rc = store_end(s, store_prune_events(s, before, DB_PRUNE_BATCH, &ev, &msgs,
			    &error), &error);
		events += ev;
		messages += msgs;
	} while (rc == STORE_OK && (ev == DB_PRUNE_BATCH || msgs == DB_PRUNE_BATCH));
	store_close(s);
	char when[32];
	store_cli_time(before, when, sizeof when);
	if (rc != STORE_OK) {
		log_warnx("db prune: %s (deleted so far: %zu events, %zu messages)", error, events,
		    messages);
		free(error);
		return store_cli_exit(rc);
	}
	printf("%s: deleted %zu events and %zu messages from before %s\n", cfg->db_path, events,
	    messages, when);
	return EXIT_OK;
}

static int
backup(const struct config *cfg, const char *dest)
{
	struct store *s = NULL;
	int status = store_cli_open(cfg, STORE_OPEN_READONLY, &s);
	if (status != EXIT_OK)
		return status;
	char *error = NULL;
	int rc = store_backup(s, dest, &error);
	store_close(s);
	if (rc != STORE_OK) {
		log_warnx("db backup: %s", error);
		free(error);
		return rc == STORE_ERR_BUSY ? EXIT_TEMPFAIL : rc == STORE_ERR_PERM ? EXIT_CANTCREAT :
		    EXIT_IOERR;
	}
	printf("%s: backup written to %s\n", cfg->db_path, dest);
	return EXIT_OK;
}

int
cmd_db(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *older = NULL;
	const struct option_spec specs[] = {
		OPTION_STRING("older-than", 0, &older),
		OPTIONS_CONFIG_DB(&config_path, &db), OPTIONS_END,
	};
	int first, st = options_parse(&db_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	const char *sub = argv[first];
	int nargs = argc - first - 1;
	bool ok = (strcmp(sub, "migrate") == 0 && nargs == 0) ||
	    (strcmp(sub, "prune") == 0 && nargs == 0) || (strcmp(sub, "backup") == 0 && nargs == 1);
	if (!ok) {
		log_warnx("db: expected migrate, prune or backup FILE (try 'bounced db --help')");
		return EXIT_USAGE;
	}
	if (older != NULL && strcmp(sub, "prune") != 0) {
		log_warnx("db: --older-than goes with prune only");
		return EXIT_USAGE;
	}
	struct config cfg;
	int status = store_cli_config(&cfg, config_path, db);
	if (status == EXIT_OK) {
		if (strcmp(sub, "migrate") == 0)
			status = migrate(&cfg);
		else if (strcmp(sub, "prune") == 0)
			status = prune(&cfg, older);
		else
			status = backup(&cfg, argv[first + 1]);
	}
	config_free(&cfg);
	return status;
}
