/* Can the user bounced runs as write the files of its database? Checked at start by every
 * command that writes (serve, ingest, fetch, suppress add/remove, db) and by `bounced config
 * check` for the user the service will run as, so a root-owned file is a clear refusal naming
 * the file, its owner and the user, not a "readonly database" on every delivery. */
#ifndef BOUNCED_STORE_ACCESS_H
#define BOUNCED_STORE_ACCESS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Supplementary groups of a user looked at: more than any sane account has. */
#define STORE_USER_GROUPS_MAX	64

/* A user, as the kernel checks permissions for it. */
struct store_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[STORE_USER_GROUPS_MAX];
	int ngroups;
	char name[64];		/* the login name, or the uid as text */
};

/* The effective user of this process. */
void store_user_self(struct store_user *u);
/* The user called name (a login name or a number). Returns 0, or -1 with *error_r. */
int store_user_named(const char *name, struct store_user *u, char **error_r);
/* Does u get want (R_OK, W_OK, X_OK, or'ed) on a file of that stat? root gets R and W always. */
bool store_user_may(const struct store_user *u, const struct stat *st, int want);

/* Checks that u can use the database at path as a writer: path not a directory nor a special
 * file; the file (when it exists), its -wal and -shm (when they exist) readable and writable;
 * its directory searchable, and writable while -wal or -shm is missing (SQLite creates them).
 * With create, a missing path needs its nearest existing directory writable. Returns 0, or -1
 * with *error_r: "PATH: WHAT (owned by USER:GROUP, mode 0640): user U cannot write it", with how
 * to fix it. */
int store_access_check(const char *path, const struct store_user *u, bool create,
    char **error_r);
/* The same for one file u must create or write (a lock file): when missing, its directory. */
int store_access_file(const char *path, const struct store_user *u, char **error_r);

#endif
