/* The SQLite store: messages taken in, recipient events, suppressions, soft scores, audit.
 * WAL mode, a busy timeout on every connection, synchronous=FULL on paths that acknowledge mail.
 * Schema in schema/NNN-*.sql, applied in order. */
#ifndef BOUNCED_STORE_H
#define BOUNCED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "report.h"

struct store;

#define STORE_OK		0
#define STORE_ERR_BUSY		1	/* locked past the busy timeout: transient, answer 4xx */
#define STORE_ERR_IO		2	/* disk full, I/O error: transient */
#define STORE_ERR_SCHEMA	3	/* database newer than this binary, or not a bounced db */
#define STORE_ERR_MISSING	4	/* no database file and create not asked */
#define STORE_ERR_INTERNAL	5
#define STORE_ERR_PERM		6	/* a file the user may not write, a directory where the
					 * database should be: an operator must fix it (not 4xx
					 * forever, not "try again") */

#define STORE_OPEN_CREATE	0x1	/* create the file if missing */
#define STORE_OPEN_READONLY	0x2
#define STORE_OPEN_NO_MIGRATE	0x4	/* do not migrate automatically */

/* Opens (and migrates, unless NO_MIGRATE) the database at path with the policy of cfg (cfg may
 * be NULL for the defaults; the store keeps its own copy of what it needs). Returns STORE_*; on
 * error *error_r is a message a person can act on (caller frees). */
int store_open(const char *path, const struct config *cfg, int flags, struct store **store_r,
    char **error_r);
void store_close(struct store *s);	/* NULL-safe */

/* Applies pending migrations; *from_r and *to_r get the versions (either may be NULL). */
int store_migrate(struct store *s, int *from_r, int *to_r, char **error_r);

/* One message to record. */
struct store_msg {
	const char *data;		/* raw message */
	size_t len;
	const char *source;		/* "lmtp", "imap:ACCOUNT/MAILBOX", a file path, "-" */
	const char *envelope_rcpt;	/* may be NULL */
	const char *envelope_sender;	/* may be NULL */
	const char *queue_id;		/* may be NULL */
	bool truncated;			/* data is only the head of a larger message */
	int64_t received_at;		/* unix time; 0 = now */
};

struct store_add_result {
	int64_t message_rowid;
	bool duplicate;		/* same content, or same Message-ID and recipients: counted once */
	size_t events;		/* recipient events recorded */
	size_t suppressed;	/* addresses newly suppressed */
};

/* Transactions: BEGIN IMMEDIATE ... COMMIT. store_commit returns STORE_OK only once the data
 * is durable (synchronous=FULL). */
int store_begin(struct store *s, char **error_r);
int store_commit(struct store *s, char **error_r);
void store_rollback(struct store *s);
/* Ends the open transaction: COMMIT when rc is STORE_OK (returning the commit's result), else
 * ROLLBACK (returning rc). */
int store_end(struct store *s, int rc, char **error_r);

/* Records m and its parsed report (NULL when the message could not be parsed: it is stored and
 * marked unparsed) inside the open transaction, applying the suppression policy. */
int store_add(struct store *s, const struct store_msg *m, const struct bounce_report *rep,
    struct store_add_result *res_r, char **error_r);

/* Checkpoints. By default SQLite copies the WAL into the database inside the commit that fills
 * it past 1000 pages, so whoever waits for that commit waits for the copy too. A long-running
 * writer that acknowledges mail (serve) calls store_defer_checkpoints() once; after each commit
 * store_checkpoint_due() tells whether the WAL has grown past the store's threshold, and
 * store_checkpoint() (on any connection to the same file, outside a transaction) does the copy. */
void store_defer_checkpoints(struct store *s);
bool store_checkpoint_due(struct store *s);
/* A passive checkpoint: copies what no reader still needs. A reader or writer in the way is
 * not an error (the next call goes on). Returns STORE_*. */
int store_checkpoint(struct store *s, char **error_r);

/* Deletes, inside the open transaction, at most limit events that happened before before (unix
 * time) and that no suppression points at, then at most limit messages taken in before it that
 * have no events left. *events_r and *messages_r get the counts (a full limit: call again in the
 * next transaction). Suppressions, scores and the audit are kept. The store also does this by
 * itself for [store] keep_events_days, a batch per hour at most. */
int store_prune_events(struct store *s, int64_t before, size_t limit, size_t *events_r,
    size_t *messages_r, char **error_r);

/* Writes a copy of the database to dest with SQLite's online backup, while other processes go on
 * writing (dest.tmp, renamed when whole; a single file, not in WAL mode). Outside a
 * transaction. Returns STORE_*. */
int store_backup(struct store *s, const char *dest, char **error_r);

/* Fixes the store's clock (unix seconds; 0 = the real clock). received_at 0, the expiry of soft
 * suppressions and the manual commands use it. For tests. */
void store_set_now(struct store *s, int64_t now);

/* The lookup key of an address: surrounding blanks and <> removed, the local part as is, the
 * domain (after the last '@') lowercased. Caller frees. */
char *store_address_key(const char *address);
/* Is address, as its lookup key, one address the policy acts on? The
 * same test ingest makes (events.effect not-an-address otherwise): a non-empty local part and
 * domain, and the whole key one addr-spec by header.h's address_extract. */
bool store_address_valid(const char *address);
/* Parses an RFC 5322 date-time (a Date header, a DSN Last-Attempt-Date)
 * of len bytes into unix seconds UTC in *t_r; false when it is not one. Two- and three-digit
 * years are read as RFC 5322 4.3 says; a missing zone is UTC. */
bool store_date_parse(const char *p, size_t len, int64_t *t_r);

/* One current suppression. Strings owned by the struct (store_suppression_clear). */
struct store_suppression {
	char *address;		/* the lookup key */
	enum suppression_type type;	/* SUPPRESSION_NONE only in a prev_r with none */
	char *reason;		/* a DESIGN.md reason, or the operator's text for manual */
	int64_t since;
	int64_t expires_at;	/* 0 = until removed */
};
void store_suppression_clear(struct store_suppression *sup);

/* Is address suppressed now? Sets *suppressed_r; when true and sup_r is not NULL, fills *sup_r. */
int store_check(struct store *s, const char *address, bool *suppressed_r,
    struct store_suppression *sup_r, char **error_r);

/* Calls fn for each current suppression of type (SUPPRESSION_NONE = any) since since (0 = any),
 * oldest first. A non-zero return of fn stops the walk and is returned. */
typedef int (*store_list_fn)(const struct store_suppression *sup, void *ctx);
int store_list(struct store *s, enum suppression_type type, int64_t since, store_list_fn fn,
    void *ctx, char **error_r);

/* Manual changes, each in its own transaction; every request is written to the audit table.
 * actor names who did it (may be NULL).
 *
 * store_suppress_add suppresses address (type manual, until removed) when it is not suppressed
 * or only softly (a soft suppression expires: the operator's block must not); a hard, complaint
 * or manual suppression is kept as it is (*added_r false). When prev_r is not NULL it gets the
 * suppression in force before the request (prev_r->type SUPPRESSION_NONE when there was none;
 * the caller clears it with store_suppression_clear).
 *
 * store_suppress_remove lifts the current suppression, whatever its type, and restarts the soft
 * score, keeping the history (*removed_r false when it was not suppressed); reason (may be NULL)
 * goes to the audit. */
int store_suppress_add(struct store *s, const char *address, const char *reason,
    const char *actor, bool *added_r, struct store_suppression *prev_r, char **error_r);
int store_suppress_remove(struct store *s, const char *address, const char *reason,
    const char *actor, bool *removed_r, char **error_r);

/* `suppress import`: inside the caller's transaction (a whole file commits or none of it),
 * writes sup (address, type, reason, since, expires_at as exported by `suppress list --csv`)
 * when the address has no suppression in force, or a soft one and sup is not soft; else keeps
 * the one in force (*added_r false). Audited as an add with sup's reason either way. */
int store_suppress_import(struct store *s, const struct store_suppression *sup, const char *actor,
    bool *added_r, char **error_r);

/* The connection, for read-only reporting queries (stats). Owned by the store. */
struct sqlite3;
struct sqlite3 *store_sqlite(struct store *s);

#endif
