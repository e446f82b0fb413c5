/* Internals shared by store.c (connection, migrations, transactions), store_add.c (recording,
 * asking policy.c) and store_query.c (lookups for the CLI). Not a contract: only store_*.c (and
 * the store's own tests) include it. */
#ifndef BOUNCED_STORE_INT_H
#define BOUNCED_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "policy.h"
#include "store.h"

/* Prepared statements, compiled on first use and kept for the life of the connection. */
enum store_stmt {
	SQL_MSG_BY_HASH,
	SQL_MSG_BY_MSGID,
	SQL_MSG_INSERT,
	SQL_EVENT_INSERT,
	SQL_SUPP_GET,
	SQL_SUPP_PUT,
	SQL_SCORE_GET,
	SQL_SCORE_PUT,
	SQL_SCORE_DELETE,
	SQL_SUPP_ACTIVE,
	SQL_SUPP_LIFT,
	SQL_AUDIT_INSERT,
	SQL_PRUNE_EVENTS,
	SQL_PRUNE_MESSAGES,
	SQL_PRUNE_DUPLICATES,
	SQL_PRUNE_RAW,
	SQL_DUP_INSERT,
	SQL__COUNT
};

struct store {
	sqlite3 *db;
	char *path;
	/* What the store keeps of the config. */
	unsigned int busy_timeout_ms;
	unsigned int keep_raw_days;
	unsigned int keep_events_days;
	struct policy_config policy;
	int64_t now;		/* fixed clock for tests; 0 = time(NULL) */
	bool in_tx;
	int64_t last_prune;
	int wal_frames;		/* frames in the WAL after the last commit (deferred checkpoints) */
	sqlite3_stmt *stmt[SQL__COUNT];
};

#define STORE_DAY	86400

int64_t store_now(const struct store *s);
/* The statement id, reset and with its bindings cleared; NULL after setting *error_r. */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt id, char **error_r);
/* Maps a SQLite result code to STORE_* and sets *error_r to "PATH: what" (if error_r). */
int store_fail(struct store *s, int rc, const char *what, char **error_r);
/* store_migrate over the migrations migs[0..n-1] (versions 1..n): for tests of failing ones. */
struct schema_migration;
int store_migrate_list(struct store *s, const struct schema_migration *migs, int n, int *from_r,
    int *to_r, char **error_r);
/* Runs sql (no rows expected). */
int store_exec(struct store *s, const char *sql, char **error_r);

#endif
