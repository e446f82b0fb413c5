/* The SQLite connection: open, pragmas, migrations, transactions. Recording is in store_add.c
 * (the policy it applies in policy.c), lookups and manual changes in store_query.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"
#include "store_schema.h"
#include "strbuf.h"

/* Raw messages older than keep_raw_days are dropped at most this often (inside a write). */
#define STORE_PRUNE_INTERVAL	3600
/* Raw copies dropped per transaction: pruning runs inside a transaction that acknowledges mail,
 * so a large backlog (after lowering keep_raw_days) is worked off a batch at a time. */
#define STORE_PRUNE_BATCH	500
/* Page cache per connection, in KiB: the interior pages and hot leaves of the message, event and
 * suppression indexes, which every recorded message walks (SQLite's default is 2 MiB, and each
 * miss is a read(2) inside the transaction that acknowledges mail). */
#define STORE_CACHE_KIB		16384
/* Bytes the WAL keeps after a checkpoint resets it. With the WAL kept on close (see store_open)
 * a limit also makes the last close truncate it to nothing: left full of checkpointed frames,
 * every later process would read all of it to rebuild its index (148 ms per `suppress check`
 * after filling 1,000,000 suppressions, instead of 15 ms). */
#define STORE_WAL_LIMIT_BYTES	(64 * 1024 * 1024)
/* Pages copied per step of an online backup: the read lock is taken per step, so a writer
 * between steps makes the backup start over; 4 MiB at a time keeps each step short. */
#define STORE_BACKUP_PAGES	1024
/* Milliseconds to wait after a step found the database busy. */
#define STORE_BACKUP_WAIT_MS	50
/* Milliseconds between attempts to switch a new database to WAL (see set_wal). */
#define STORE_WAL_RETRY_MS	10
/* WAL frames (pages) before a deferred checkpoint copies them into the database: 16 MiB at
 * 4 KiB pages. Four times SQLite's automatic 1000, so a page changed by many commits in between
 * (the tail of each table, page 1) is copied once, not four times. */
#define STORE_CHECKPOINT_FRAMES	4000

static const char *const stmt_sql[SQL__COUNT] = {
	[SQL_MSG_BY_HASH] = "SELECT id FROM messages WHERE sha256 = ?1",
	[SQL_MSG_BY_MSGID] = "SELECT id FROM messages WHERE message_id = ?1 AND rcpt_set = ?2",
	[SQL_MSG_INSERT] = "INSERT INTO messages (source, received_at, envelope_rcpt, "
	    "envelope_sender, queue_id, message_id, original_message_id, sha256, size, kind, flags, "
	    "outcome, rcpt_set, verp_address, verp_tag, verp_verified, raw, original_from, "
	    "original_to, original_subject, original_x_tags) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
	    "?18, ?19, ?20, ?21)",
	[SQL_EVENT_INSERT] = "INSERT INTO events (message, address, address_key, occurred_at, "
	    "class, reason, blame, action, status, smtp_code, diagnostic, remote_mta, "
	    "feedback_type, original_address, verp_address, verp_tag, verp_verified, effect, "
	    "failed_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	    "?19)",
	[SQL_DUP_INSERT] = "INSERT INTO duplicates (message, at) VALUES (?1, ?2)",
	/* The policy's view of an address, over its case variants as `suppressed` and `remove`
	 * see them: a suppression in force first, else the latest lift (a failure dated before
	 * it must not suppress again, whichever spelling it names). */
	[SQL_SUPP_GET] = "SELECT type, expires_at, lifted_at FROM suppressions "
	    "WHERE address_key = ?1 COLLATE NOCASE ORDER BY (lifted_at IS NULL AND "
	    "(expires_at IS NULL OR expires_at > ?2)) DESC, lifted_at DESC LIMIT 1",
	[SQL_SUPP_PUT] = "INSERT OR REPLACE INTO suppressions (address_key, address, type, reason, "
	    "since, expires_at, event, lifted_at, lifted_by) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL)",
	[SQL_SCORE_GET] = "SELECT score, last_day, last_at FROM soft_scores WHERE address_key = ?1",
	[SQL_SCORE_PUT] = "INSERT OR REPLACE INTO soft_scores (address_key, score, last_day, "
	    "last_at) VALUES (?1, ?2, ?3, ?4)",
	/* `suppress remove`: every case variant the view `suppressed` shows for the address. */
	[SQL_SCORE_DELETE] = "DELETE FROM soft_scores WHERE address_key = ?1 COLLATE NOCASE",
	/* As the view `suppressed` compares (schema 002): ignoring ASCII case, the row of the
	 * exact key first. */
	[SQL_SUPP_ACTIVE] = "SELECT address_key, type, reason, since, expires_at FROM suppressions "
	    "WHERE address_key = ?1 COLLATE NOCASE AND lifted_at IS NULL "
	    "AND (expires_at IS NULL OR expires_at > ?2) ORDER BY address_key = ?1 DESC LIMIT 1",
	[SQL_SUPP_LIFT] = "UPDATE suppressions SET lifted_at = ?2, lifted_by = ?3 "
	    "WHERE address_key = ?1 COLLATE NOCASE AND lifted_at IS NULL",
	[SQL_AUDIT_INSERT] = "INSERT INTO audit (at, action, address, address_key, reason, actor) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* Events past keep_events_days that no suppression points at (a suppression keeps the
	 * event that caused it, lifted or not), then the messages left without events. */
	[SQL_PRUNE_EVENTS] = "DELETE FROM events WHERE id IN (SELECT e.id FROM events e "
	    "WHERE e.occurred_at < ?1 AND NOT EXISTS (SELECT 1 FROM suppressions s "
	    "WHERE s.event = e.id) LIMIT ?2)",
	[SQL_PRUNE_MESSAGES] = "DELETE FROM messages WHERE id IN (SELECT m.id FROM messages m "
	    "WHERE m.received_at < ?1 AND NOT EXISTS (SELECT 1 FROM events e "
	    "WHERE e.message = m.id) LIMIT ?2)",
	[SQL_PRUNE_DUPLICATES] = "DELETE FROM duplicates WHERE id IN (SELECT id FROM duplicates "
	    "WHERE at < ?1 LIMIT ?2)",
	[SQL_PRUNE_RAW] = "UPDATE messages SET raw = NULL WHERE id IN (SELECT id FROM messages "
	    "WHERE raw IS NOT NULL AND received_at < ?1 LIMIT ?2)",
};

int64_t
store_now(const struct store *s)
{
	return s->now != 0 ? s->now : (int64_t)time(NULL);
}

void
store_set_now(struct store *s, int64_t now)
{
	s->now = now;
}

struct sqlite3 *
store_sqlite(struct store *s)
{
	return s->db;
}

int
store_fail(struct store *s, int rc, const char *what, char **error_r)
{
	int code;
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = STORE_ERR_BUSY;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:	/* permissions: an operator can fix it, the mail must wait */
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_NOLFS:
		code = STORE_ERR_IO;
		break;
	case SQLITE_NOTADB:
		code = STORE_ERR_SCHEMA;
		break;
	default:
		code = STORE_ERR_INTERNAL;
	}
	if (error_r != NULL) {
		const char *why = s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
		if (code == STORE_ERR_BUSY)
			error_set(error_r, "%s: %s: database busy past the %u ms busy timeout (%s)",
			    s->path, what, s->busy_timeout_ms, why);
		else
			error_set(error_r, "%s: %s: %s", s->path, what, why);
	}
	return code;
}

int
store_exec(struct store *s, const char *sql, char **error_r)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, sql, error_r);
	return STORE_OK;
}

sqlite3_stmt *
store_stmt(struct store *s, enum store_stmt id, char **error_r)
{
	if (s->stmt[id] == NULL) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			store_fail(s, rc, "prepare", error_r);
			return NULL;
		}
	}
	sqlite3_reset(s->stmt[id]);
	sqlite3_clear_bindings(s->stmt[id]);
	return s->stmt[id];
}

/* Tells a bounced database (of a version up to known) from a file that is something else. */
static int
check_identity(struct store *s, int known, int64_t *version_r, char **error_r)
{
	/* One statement, so one snapshot: read one by one, a migration committed by another
	 * process in between would look like "no version, but tables" - someone else's file. */
	static const char sql[] = "SELECT (SELECT application_id FROM pragma_application_id), "
	    "(SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)";
	int64_t app = 0, version = 0, objects = 0;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "read the schema version", error_r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		app = sqlite3_column_int64(st, 0);
		version = sqlite3_column_int64(st, 1);
		objects = sqlite3_column_int64(st, 2);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "read the schema version", error_r);
	if ((app != 0 && app != SCHEMA_APPLICATION_ID) || (version == 0 && objects > 0) ||
	    (version > 0 && app != SCHEMA_APPLICATION_ID)) {
		error_set(error_r, "%s: not a bounced database (it holds other tables)", s->path);
		return STORE_ERR_SCHEMA;
	}
	if (version > known) {
		error_set(error_r, "%s: database schema version %lld is newer than this bounced "
		    "understands (%d): upgrade bounced, or use the binary that wrote it", s->path,
		    (long long)version, known);
		return STORE_ERR_SCHEMA;
	}
	*version_r = version;
	return STORE_OK;
}

int
store_migrate_list(struct store *s, const struct schema_migration *migs, int n, int *from_r,
    int *to_r, char **error_r)
{
	int64_t seen;
	int rc = check_identity(s, n, &seen, error_r);
	if (rc != STORE_OK)
		return rc;
	int64_t from = -1;	/* the version this call found before applying anything */
	for (int i = 0; i < n; i++) {
		const struct schema_migration *mig = &migs[i];
		if (mig->version <= seen)
			continue;
		rc = store_exec(s, "BEGIN IMMEDIATE", error_r);
		if (rc != STORE_OK)
			return rc;
		/* Another process may have migrated while we waited for the lock. */
		rc = check_identity(s, n, &seen, error_r);
		if (rc == STORE_OK && seen < mig->version) {
			if (from < 0)
				from = seen;
			rc = sqlite3_exec(s->db, mig->sql, NULL, NULL, NULL);
			if (rc != SQLITE_OK) {
				error_set(error_r, "%s: migration %03d-%s: %s", s->path, mig->version,
				    mig->name, sqlite3_errmsg(s->db));
				rc = (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY : STORE_ERR_SCHEMA;
			} else {
				char sql[64];
				snprintf(sql, sizeof sql, "PRAGMA user_version = %d", mig->version);
				rc = store_exec(s, sql, error_r);
			}
		}
		if (rc == STORE_OK)
			rc = store_exec(s, "COMMIT", error_r);
		if (rc != STORE_OK) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
		if (seen < mig->version)
			seen = mig->version;
	}
	if (from_r != NULL)
		*from_r = (int)(from < 0 ? seen : from);
	if (to_r != NULL)
		*to_r = (int)seen;
	return STORE_OK;
}

int
store_migrate(struct store *s, int *from_r, int *to_r, char **error_r)
{
	return store_migrate_list(s, schema_migrations, schema_version, from_r, to_r, error_r);
}

/* Creates the directories that will hold a new database, as mkdir -p with mode 0750 (an
 * application reading the database joins bounced's group). Returns 0, or -1 with *error_r. */
static int
make_parent(const char *path, char **error_r)
{
	char *dir = xstrdup(path);
	char *end = strrchr(dir, '/');
	int ret = 0;
	if (end == NULL || end == dir) {
		free(dir);
		return 0;
	}
	*end = '\0';
	for (char *p = dir + 1; ret == 0; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
			error_set(error_r, "%s: cannot create directory %s: %s", path, dir,
			    strerror(errno));
			ret = -1;
		}
		if (last)
			break;
		*p = '/';
	}
	free(dir);
	return ret;
}

/* Switches the database to WAL. Two processes creating the same database at once may both hold
 * a read lock and both want to write the header: each waiting in the busy handler for the
 * other, they deadlock until the busy timeout. So each attempt does not wait: the loser's
 * statement ends and frees its lock, and it tries again (finding WAL already set, which needs
 * no write) within the busy timeout. */
static int
set_wal(struct store *s, char **error_r)
{
	int rc;
	unsigned waited = 0;
	sqlite3_busy_timeout(s->db, 0);
	while ((rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) != SQLITE_OK &&
	    (rc & 0xff) == SQLITE_BUSY && waited < s->busy_timeout_ms) {
		struct timespec ts = { 0, STORE_WAL_RETRY_MS * 1000000L };
		nanosleep(&ts, NULL);
		waited += STORE_WAL_RETRY_MS;
	}
	sqlite3_busy_timeout(s->db, (int)s->busy_timeout_ms);
	return rc == SQLITE_OK ? STORE_OK : store_fail(s, rc, "PRAGMA journal_mode = WAL", error_r);
}

int
store_open(const char *path, const struct config *cfg, int flags, struct store **store_r,
    char **error_r)
{
	struct config defaults;
	if (cfg == NULL) {
		config_defaults(&defaults);
		cfg = &defaults;
	}
	struct store *s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	s->busy_timeout_ms = cfg->busy_timeout_ms;
	s->keep_raw_days = cfg->keep_raw_days;
	s->keep_events_days = cfg->keep_events_days;
	s->policy = (struct policy_config){
		.suppress_hard = cfg->suppress_hard,
		.suppress_complaint = cfg->suppress_complaint,
		.soft_threshold = cfg->soft_threshold,
		.soft_reset_days = cfg->soft_reset_days,
		.soft_suppress_days = cfg->soft_suppress_days,
	};
	if (cfg == &defaults)
		config_free(&defaults);

	int rc;
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		error_set(error_r, "%s: is a directory, not a database file (give the path of the "
		    "file, e.g. %s/bounced.db)", path, path);
		rc = STORE_ERR_PERM;
		goto fail;
	}
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && !(flags & STORE_OPEN_CREATE)) {
			error_set(error_r, "%s: no such database; create it with: bounced db migrate "
			    "--db %s", path, path);
			rc = STORE_ERR_MISSING;
			goto fail;
		}
		if (errno != ENOENT) {
			error_set(error_r, "%s: %s", path, strerror(errno));
			rc = STORE_ERR_IO;
			goto fail;
		}
		if (make_parent(path, error_r) != 0) {
			rc = STORE_ERR_IO;
			goto fail;
		}
	}
	int oflags = (flags & STORE_OPEN_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | ((flags & STORE_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = store_fail(s, rc, "open", error_r);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, (int)s->busy_timeout_ms);
	/* SQLite opens a file it may not write read-only without a word; every write would then
	 * fail with "attempt to write a readonly database". */
	if (!(flags & STORE_OPEN_READONLY) && sqlite3_db_readonly(s->db, "main") == 1) {
		error_set(error_r, "%s: opened read-only: this user may not write the file (a "
		    "command that changes the database needs write access to it, its -wal and -shm "
		    "and its directory)", path);
		rc = STORE_ERR_PERM;
		goto fail;
	}
	/* Someone else's file is refused before anything is written to it. */
	int64_t version;
	rc = check_identity(s, schema_version, &version, error_r);
	if (rc != STORE_OK)
		goto fail;
	/* WAL lets the application read while we write; FULL makes each commit durable before
	 * LMTP answers 250. The -wal and -shm files stay when the last connection closes: an
	 * application that may only read the database cannot create them, and could not open it
	 * while no bounced process has it open. */
	if (!(flags & STORE_OPEN_READONLY)) {
		int persist = 1;
		rc = set_wal(s, error_r);
		if (rc != STORE_OK)
			goto fail;
		(void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %d", STORE_WAL_LIMIT_BYTES);
		rc = store_exec(s, sql, error_r);
		if (rc != STORE_OK)
			goto fail;
	}
	rc = store_exec(s, "PRAGMA synchronous = FULL", error_r);
	if (rc == STORE_OK) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", STORE_CACHE_KIB);
		rc = store_exec(s, sql, error_r);
	}
	if (rc == STORE_OK)
		rc = store_exec(s, "PRAGMA foreign_keys = ON", error_r);
	if (rc != STORE_OK)
		goto fail;
	if (version < schema_version) {
		if (flags & STORE_OPEN_READONLY) {
			if (version == 0)
				error_set(error_r, "%s: empty database; create the schema with: "
				    "bounced db migrate --db %s", path, path);
			else
				error_set(error_r, "%s: database schema version %lld is older "
				    "than this bounced (%d); upgrade it with: bounced db migrate "
				    "--db %s", path, (long long)version, schema_version, path);
			rc = STORE_ERR_SCHEMA;
			goto fail;
		}
		if (!(flags & STORE_OPEN_NO_MIGRATE)) {
			rc = store_migrate(s, NULL, NULL, error_r);
			if (rc != STORE_OK)
				goto fail;
		}
	}
	*store_r = s;
	return STORE_OK;
fail:
	store_close(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->in_tx)
		store_rollback(s);
	for (int i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* Runs one of the prune statements with (before, limit); *n_r gets the rows changed. */
static int
prune_step(struct store *s, enum store_stmt id, int64_t before, size_t limit, size_t *n_r,
    char **error_r)
{
	sqlite3_stmt *st = store_stmt(s, id, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, "prune", error_r);
	*n_r = (size_t)sqlite3_changes(s->db);
	return STORE_OK;
}

int
store_prune_events(struct store *s, int64_t before, size_t limit, size_t *events_r,
    size_t *messages_r, char **error_r)
{
	if (!s->in_tx) {
		error_set(error_r, "%s: prune without a transaction", s->path);
		return STORE_ERR_INTERNAL;
	}
	int rc = prune_step(s, SQL_PRUNE_EVENTS, before, limit, events_r, error_r);
	if (rc == STORE_OK)
		rc = prune_step(s, SQL_PRUNE_MESSAGES, before, limit, messages_r, error_r);
	size_t dups;
	if (rc == STORE_OK)
		rc = prune_step(s, SQL_PRUNE_DUPLICATES, before, limit, &dups, error_r);
	return rc;
}

/* Drops raw copies past keep_raw_days, and events and messages past keep_events_days, at most
 * once per STORE_PRUNE_INTERVAL, a batch at a time. */
static int
prune(struct store *s, char **error_r)
{
	int64_t now = store_now(s);
	if ((s->keep_raw_days == 0 && s->keep_events_days == 0) ||
	    now - s->last_prune < STORE_PRUNE_INTERVAL)
		return STORE_OK;
	bool more = false;
	if (s->keep_events_days != 0) {
		size_t ev = 0, msgs = 0;
		int rc = store_prune_events(s, now - (int64_t)s->keep_events_days * STORE_DAY,
		    STORE_PRUNE_BATCH, &ev, &msgs, error_r);
		if (rc != STORE_OK)
			return rc;
		more = ev == STORE_PRUNE_BATCH || msgs == STORE_PRUNE_BATCH;
	}
	if (s->keep_raw_days == 0) {
		if (!more)
			s->last_prune = now;
		return STORE_OK;
	}
	sqlite3_stmt *st = store_stmt(s, SQL_PRUNE_RAW, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, now - (int64_t)s->keep_raw_days * STORE_DAY);
	sqlite3_bind_int(st, 2, STORE_PRUNE_BATCH);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, "prune raw messages", error_r);
	/* A full batch: more is left, the next transaction takes the next batch. */
	if (sqlite3_changes(s->db) < STORE_PRUNE_BATCH && !more)
		s->last_prune = now;
	return STORE_OK;
}

int
store_begin(struct store *s, char **error_r)
{
	if (s->in_tx) {
		error_set(error_r, "%s: a transaction is already open", s->path);
		return STORE_ERR_INTERNAL;
	}
	int rc = store_exec(s, "BEGIN IMMEDIATE", error_r);
	if (rc != STORE_OK)
		return rc;
	s->in_tx = true;
	rc = prune(s, error_r);
	if (rc != STORE_OK)
		store_rollback(s);
	return rc;
}

int
store_commit(struct store *s, char **error_r)
{
	if (!s->in_tx) {
		error_set(error_r, "%s: commit without a transaction", s->path);
		return STORE_ERR_INTERNAL;
	}
	int rc = store_exec(s, "COMMIT", error_r);
	if (rc != STORE_OK) {
		store_rollback(s);
		return rc;
	}
	s->in_tx = false;
	return STORE_OK;
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	s->wal_frames = frames;
	return SQLITE_OK;
}

void
store_defer_checkpoints(struct store *s)
{
	sqlite3_wal_hook(s->db, wal_hook, s);	/* replaces SQLite's automatic checkpoint */
}

bool
store_checkpoint_due(struct store *s)
{
	if (s->wal_frames < STORE_CHECKPOINT_FRAMES)
		return false;
	s->wal_frames = 0;	/* the next commit reports what is left */
	return true;
}

int
store_checkpoint(struct store *s, char **error_r)
{
	if (s->in_tx) {
		error_set(error_r, "%s: checkpoint inside a transaction", s->path);
		return STORE_ERR_INTERNAL;
	}
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return STORE_OK;
	return store_fail(s, rc, "checkpoint", error_r);
}

void
store_rollback(struct store *s)
{
	if (s == NULL || !s->in_tx)
		return;
	/* Fails only when SQLite already rolled back on its own (e.g. after SQLITE_FULL). */
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = false;
}

int
store_end(struct store *s, int rc, char **error_r)
{
	if (rc == STORE_OK)
		return store_commit(s, error_r);
	store_rollback(s);
	return rc;
}

int
store_backup(struct store *s, const char *dest, char **error_r)
{
	struct strbuf tmp = STRBUF_INIT;
	strbuf_printf(&tmp, "%s.tmp", dest);
	(void)unlink(tmp.s);
	sqlite3 *out = NULL;
	int rc = sqlite3_open_v2(tmp.s, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	int ret = STORE_OK;
	if (rc != SQLITE_OK) {
		error_set(error_r, "%s: %s", tmp.s, out != NULL ? sqlite3_errmsg(out) :
		    sqlite3_errstr(rc));
		ret = STORE_ERR_PERM;
		goto out;
	}
	/* The copy is a read of the source (WAL: serve goes on writing). The destination is
	 * written under a temporary name, renamed only when whole. */
	sqlite3_backup *b = sqlite3_backup_init(out, "main", s->db, "main");
	if (b == NULL) {
		error_set(error_r, "%s: %s", dest, sqlite3_errmsg(out));
		ret = STORE_ERR_INTERNAL;
		goto out;
	}
	unsigned int waited = 0;
	while ((rc = sqlite3_backup_step(b, STORE_BACKUP_PAGES)) == SQLITE_OK ||
	    rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (rc != SQLITE_OK) {
			if (waited >= s->busy_timeout_ms)
				break;
			sqlite3_sleep(STORE_BACKUP_WAIT_MS);
			waited += STORE_BACKUP_WAIT_MS;
		}
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		error_set(error_r, "%s: backup failed: %s", dest, sqlite3_errstr(rc));
		ret = (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY : STORE_ERR_IO;
		goto out;
	}
	/* A single file, readable alone: no -wal beside it. */
	rc = sqlite3_exec(out, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		error_set(error_r, "%s: %s", tmp.s, sqlite3_errmsg(out));
		ret = STORE_ERR_IO;
		goto out;
	}
	sqlite3_close(out);
	out = NULL;
	if (rename(tmp.s, dest) != 0) {
		error_set(error_r, "%s: %s", dest, strerror(errno));
		ret = STORE_ERR_IO;
	}
out:
	sqlite3_close(out);
	if (ret != STORE_OK)
		(void)unlink(tmp.s);
	strbuf_free(&tmp);
	return ret;
}
