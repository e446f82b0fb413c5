/* What the store's commands (ingest, suppress, stats, db) share: the common options, opening the
 * database with the configuration, exit statuses, dates. */
#ifndef BOUNCED_STORE_CLI_H
#define BOUNCED_STORE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

/* Exit status (commands.h) for a STORE_* error: busy or I/O → 75 (retry later), a missing,
 * foreign or too new database → 78, permissions or a directory in the way → 73, else 70. */
int store_cli_exit(int store_rc);

/* Reads --config (NULL: the defaults, or the system file) into *cfg and applies --db. Prints the
 * error and returns EXIT_CONFIG on failure, else EXIT_OK. */
int store_cli_config(struct config *cfg, const char *config_path, const char *db);

/* Checks that this process's user can write the database at db_path (store_access.h; create: it
 * may be missing). Prints what is wrong and returns EXIT_CANTCREAT, else EXIT_OK. */
int store_cli_access(const char *db_path, bool create);

/* Opens cfg->db_path with flags (STORE_OPEN_*), after store_cli_access unless read-only. Prints
 * the error and returns an exit status on failure, else EXIT_OK. */
int store_cli_open(const struct config *cfg, int flags, struct store **s_r);

/* "2026-11-22", "2026-11-22T10:00:00Z", "2026-11-22 10:00:00" (UTC) or "7d" (days before now).
 * Returns false when text is none of these. */
bool store_cli_date(const char *text, int64_t now, int64_t *t_r);

/* Writes t as "2026-11-22T10:00:00Z" into buf (at least 21 bytes). */
void store_cli_time(int64_t t, char *buf, size_t size);

#endif
