/* Lookups of the current suppressions and the operator's manual changes (audited). */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "strbuf.h"

void
store_suppression_clear(struct store_suppression *sup)
{
	if (sup == NULL)
		return;
	free(sup->address);
	free(sup->reason);
	memset(sup, 0, sizeof *sup);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return xstrdup(v != NULL ? (const char *)v : "");
}

/* Row (address_key, type, reason, since, expires_at) into sup. */
static void
fill(sqlite3_stmt *st, struct store_suppression *sup)
{
	sup->address = col_dup(st, 0);
	/* The schema allows the four types only; anything else is read as the one that lasts. */
	if (!suppression_type_from_name((const char *)sqlite3_column_text(st, 1), &sup->type))
		sup->type = SUPPRESSION_MANUAL;
	sup->reason = col_dup(st, 2);
	sup->since = sqlite3_column_int64(st, 3);
	sup->expires_at = sqlite3_column_int64(st, 4);
}

/* Looks up the current suppression of key: *found_r, and *sup_r when sup_r is not NULL. */
static int
active(struct store *s, const char *key, bool *found_r, struct store_suppression *sup_r,
    char **error_r)
{
	sqlite3_stmt *st = store_stmt(s, SQL_SUPP_ACTIVE, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, store_now(s));
	int rc = sqlite3_step(st);
	*found_r = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW && sup_r != NULL)
		fill(st, sup_r);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, rc, "look up suppression", error_r);
	return STORE_OK;
}

int
store_check(struct store *s, const char *address, bool *suppressed_r,
    struct store_suppression *sup_r, char **error_r)
{
	char *key = store_address_key(address);
	struct store_suppression sup = { 0 };
	bool found;
	int rc = active(s, key, &found, &sup, error_r);
	free(key);
	if (rc != STORE_OK)
		return rc;
	*suppressed_r = found;
	if (found && sup_r != NULL)
		*sup_r = sup;
	else
		store_suppression_clear(&sup);
	return STORE_OK;
}

int
store_list(struct store *s, enum suppression_type type, int64_t since, store_list_fn fn,
    void *ctx, char **error_r)
{
	static const char sql[] = "SELECT address_key, type, reason, since, expires_at "
	    "FROM suppressions WHERE lifted_at IS NULL "
	    "AND (expires_at IS NULL OR expires_at > ?1) "
	    "AND (?2 IS NULL OR type = ?2) AND since >= ?3 ORDER BY since, address_key";
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "list suppressions", error_r);
	sqlite3_bind_int64(st, 1, store_now(s));
	if (type != SUPPRESSION_NONE)
		sqlite3_bind_text(st, 2, suppression_type_name(type), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	int ret = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_suppression sup = { 0 };
		fill(st, &sup);
		ret = fn(&sup, ctx);
		store_suppression_clear(&sup);
		if (ret != 0)
			break;
	}
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_fail(s, rc, "list suppressions", error_r);
	sqlite3_finalize(st);
	return ret;
}

static int
audit(struct store *s, const char *action, const char *address, const char *key,
    const char *reason, const char *actor, char **error_r)
{
	sqlite3_stmt *st = store_stmt(s, SQL_AUDIT_INSERT, error_r);
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, store_now(s));
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	if (actor != NULL)
		sqlite3_bind_text(st, 6, actor, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, "write audit", error_r);
	return STORE_OK;
}

/* Runs one statement with (key, ...) bindings done by the caller; expects no row. */
static int
run(struct store *s, sqlite3_stmt *st, const char *what, char **error_r)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, what, error_r);
	return STORE_OK;
}

/* A manual add is the operator's lasting block; policy_manual_replaces() says over which type.
 * A type that stays keeps its reason too, which says more than the operator's text. Either way
 * the request is audited. */
int
store_suppress_add(struct store *s, const char *address, const char *reason,
    const char *actor, bool *added_r, struct store_suppression *prev_r, char **error_r)
{
	char *key = store_address_key(address);
	bool found = false;
	struct store_suppression prev = { 0 };
	int rc = store_begin(s, error_r);
	if (rc == STORE_OK)
		rc = active(s, key, &found, &prev, error_r);
	bool put = policy_manual_replaces(found ? prev.type : SUPPRESSION_NONE);
	if (rc == STORE_OK && put) {
		sqlite3_stmt *st = store_stmt(s, SQL_SUPP_PUT, error_r);
		if (st == NULL) {
			rc = STORE_ERR_INTERNAL;
		} else {
			/* Over the soft row found, so the address keeps one row. */
			sqlite3_bind_text(st, 1, found ? prev.address : key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, suppression_type_name(SUPPRESSION_MANUAL), -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, store_now(s));
			rc = run(s, st, "write suppression", error_r);
		}
	}
	if (rc == STORE_OK)
		rc = audit(s, "add", address, key, reason, actor, error_r);
	rc = store_end(s, rc, error_r);
	if (rc == STORE_OK) {
		*added_r = put;
		if (prev_r != NULL) {
			*prev_r = prev;
			memset(&prev, 0, sizeof prev);
		}
	}
	store_suppression_clear(&prev);
	free(key);
	return rc;
}

int
store_suppress_remove(struct store *s, const char *address, const char *reason,
    const char *actor, bool *removed_r, char **error_r)
{
	char *key = store_address_key(address);
	bool found = false;
	struct store_suppression cur = { 0 };
	int rc = store_begin(s, error_r);
	if (rc == STORE_OK)
		rc = active(s, key, &found, &cur, error_r);
	if (rc == STORE_OK && found) {
		sqlite3_stmt *st = store_stmt(s, SQL_SUPP_LIFT, error_r);
		if (st == NULL) {
			rc = STORE_ERR_INTERNAL;
		} else {
			/* The row found: the lookup may match another spelling of the key. */
			sqlite3_bind_text(st, 1, cur.address, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, store_now(s));
			if (actor != NULL)
				sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
			rc = run(s, st, "lift suppression", error_r);
		}
		/* A lifted address starts from zero: old soft bounces do not count again. */
		if (rc == STORE_OK) {
			st = store_stmt(s, SQL_SCORE_DELETE, error_r);
			if (st == NULL)
				rc = STORE_ERR_INTERNAL;
			else {
				sqlite3_bind_text(st, 1, cur.address, -1, SQLITE_STATIC);
				rc = run(s, st, "reset soft score", error_r);
			}
		}
		if (rc == STORE_OK)
			rc = audit(s, "remove", address, key, reason, actor, error_r);
	}
	rc = store_end(s, rc, error_r);
	if (rc == STORE_OK)
		*removed_r = found;
	store_suppression_clear(&cur);
	free(key);
	return rc;
}

/* An imported row is written as it was on the other system (its type, reason and dates) where
 * the address has no suppression in force, or only a soft one that the import makes permanent;
 * else the one in force stays. */
int
store_suppress_import(struct store *s, const struct store_suppression *sup, const char *actor,
    bool *added_r, char **error_r)
{
	if (!s->in_tx) {
		error_set(error_r, "%s: import without a transaction", s->path);
		return STORE_ERR_INTERNAL;
	}
	char *key = store_address_key(sup->address);
	bool found = false;
	struct store_suppression cur = { 0 };
	int rc = active(s, key, &found, &cur, error_r);
	bool put = !found || (cur.type == SUPPRESSION_SOFT && sup->type != SUPPRESSION_SOFT);
	if (rc == STORE_OK && put) {
		sqlite3_stmt *st = store_stmt(s, SQL_SUPP_PUT, error_r);
		if (st == NULL) {
			rc = STORE_ERR_INTERNAL;
		} else {
			sqlite3_bind_text(st, 1, found ? cur.address : key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, suppression_type_name(sup->type), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, sup->reason, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, sup->since != 0 ? sup->since : store_now(s));
			if (sup->expires_at != 0)
				sqlite3_bind_int64(st, 6, sup->expires_at);
			rc = run(s, st, "write suppression", error_r);
		}
	}
	if (rc == STORE_OK)
		rc = audit(s, "add", sup->address, key, sup->reason, actor, error_r);
	if (rc == STORE_OK)
		*added_r = put;
	store_suppression_clear(&cur);
	free(key);
	return rc;
}
