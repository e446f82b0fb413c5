/* Permission checks done before opening the database (see store_access.h). */
#include "store_access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

void
store_user_self(struct store_user *u)
{
	memset(u, 0, sizeof *u);
	u->uid = geteuid();
	u->gid = getegid();
	int n = getgroups(STORE_USER_GROUPS_MAX, u->groups);
	u->ngroups = n > 0 ? n : 0;
	const struct passwd *pw = getpwuid(u->uid);
	if (pw != NULL)
		snprintf(u->name, sizeof u->name, "%s", pw->pw_name);
	else
		snprintf(u->name, sizeof u->name, "%u", (unsigned int)u->uid);
}

int
store_user_named(const char *name, struct store_user *u, char **error_r)
{
	memset(u, 0, sizeof *u);
	const struct passwd *pw = getpwnam(name);
	if (pw == NULL) {
		char *end;
		unsigned long n = strtoul(name, &end, 10);
		if (*name != '\0' && *end == '\0')
			pw = getpwuid((uid_t)n);
	}
	if (pw == NULL) {
		error_set(error_r, "no such user: %s", name);
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof u->name, "%s", pw->pw_name);
	u->ngroups = STORE_USER_GROUPS_MAX;
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &u->ngroups) < 0)
		u->ngroups = STORE_USER_GROUPS_MAX;	/* the first ones */
	return 0;
}

static bool
in_group(const struct store_user *u, gid_t g)
{
	if (u->gid == g)
		return true;
	for (int i = 0; i < u->ngroups; i++)
		if (u->groups[i] == g)
			return true;
	return false;
}

bool
store_user_may(const struct store_user *u, const struct stat *st, int want)
{
	if (u->uid == 0)
		return !(want & X_OK) || (st->st_mode & 0111) != 0 || S_ISDIR(st->st_mode);
	mode_t bits = st->st_uid == u->uid ? (st->st_mode >> 6) & 7 :
	    in_group(u, st->st_gid) ? (st->st_mode >> 3) & 7 : st->st_mode & 7;
	return ((want & R_OK) == 0 || (bits & 4)) && ((want & W_OK) == 0 || (bits & 2)) &&
	    ((want & X_OK) == 0 || (bits & 1));
}

/* "owned by USER:GROUP, mode 0640" of st. */
static void
owner_text(struct strbuf *b, const struct stat *st)
{
	const struct passwd *pw = getpwuid(st->st_uid);
	const struct group *gr = getgrgid(st->st_gid);
	strbuf_puts(b, "owned by ");
	if (pw != NULL)
		strbuf_puts(b, pw->pw_name);
	else
		strbuf_printf(b, "%u", (unsigned int)st->st_uid);
	if (gr != NULL)
		strbuf_printf(b, ":%s", gr->gr_name);
	else
		strbuf_printf(b, ":%u", (unsigned int)st->st_gid);
	strbuf_printf(b, ", mode %04o", (unsigned int)(st->st_mode & 07777));
}

/* Sets *error_r to "PATH: user U cannot WHAT it (owned by ..., mode ...); FIX" and returns -1. */
static int
refuse(const char *path, const struct stat *st, const struct store_user *u, const char *what,
    const char *fix, char **error_r)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "%s: user %s cannot %s it (", path, u->name, what);
	owner_text(&b, st);
	strbuf_printf(&b, "); %s", fix);
	*error_r = strbuf_detach(&b);
	return -1;
}

/* The directory of path ("." when it has none). Caller frees. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* A file bounced reads and writes: a regular file u may read and write. */
static int
check_rw(const char *path, const struct stat *st, const struct store_user *u, char **error_r)
{
	if (S_ISDIR(st->st_mode)) {
		error_set(error_r, "%s: is a directory, not a database file (give the path of the "
		    "file, e.g. %s/bounced.db)", path, path);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		error_set(error_r, "%s: not a regular file", path);
		return -1;
	}
	if (!store_user_may(u, st, R_OK | W_OK)) {
		struct strbuf fix = STRBUF_INIT;
		strbuf_printf(&fix, "run bounced as its owner, or: chown %s '%s'", u->name, path);
		int r = refuse(path, st, u, "write", fix.s, error_r);
		strbuf_free(&fix);
		return r;
	}
	return 0;
}

/* The nearest existing directory of path (path itself excluded) must let u create in it. */
static int
check_create(const char *path, const struct store_user *u, char **error_r)
{
	char *dir = dir_of(path);
	struct stat st;
	while (stat(dir, &st) != 0 && errno == ENOENT && strcmp(dir, "/") != 0 &&
	    strcmp(dir, ".") != 0) {
		char *up = dir_of(dir);
		free(dir);
		dir = up;
	}
	int r = 0;
	if (stat(dir, &st) != 0) {
		error_set(error_r, "%s: %s", dir, strerror(errno));
		r = -1;
	} else if (!S_ISDIR(st.st_mode)) {
		error_set(error_r, "%s: not a directory (needed to hold %s)", dir, path);
		r = -1;
	} else if (!store_user_may(u, &st, W_OK | X_OK)) {
		struct strbuf fix = STRBUF_INIT;
		strbuf_printf(&fix, "%s is created there: chown %s '%s'", path, u->name, dir);
		r = refuse(dir, &st, u, "create files in", fix.s, error_r);
		strbuf_free(&fix);
	}
	free(dir);
	return r;
}

/* stat(path) failed with errno e: names the directory u cannot enter when that is why. */
static int
stat_failed(const char *path, int e, const struct store_user *u, char **error_r)
{
	if (e == EACCES) {
		char *dir = dir_of(path);
		for (;;) {
			struct stat st;
			if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
			    !store_user_may(u, &st, X_OK)) {
				struct strbuf fix = STRBUF_INIT;
				strbuf_printf(&fix, "it holds %s: chown %s '%s' (or chmod g+x, o+x)",
				    path, u->name, dir);
				int r = refuse(dir, &st, u, "enter", fix.s, error_r);
				strbuf_free(&fix);
				free(dir);
				return r;
			}
			if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
				break;
			char *up = dir_of(dir);
			free(dir);
			dir = up;
		}
		free(dir);
	}
	error_set(error_r, "%s: %s", path, strerror(e));
	return -1;
}

int
store_access_file(const char *path, const struct store_user *u, char **error_r)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return check_rw(path, &st, u, error_r);
	if (errno != ENOENT)
		return stat_failed(path, errno, u, error_r);
	return check_create(path, u, error_r);
}

int
store_access_check(const char *path, const struct store_user *u, bool create, char **error_r)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return stat_failed(path, errno, u, error_r);
		return create ? check_create(path, u, error_r) : 0;
	}
	if (check_rw(path, &st, u, error_r) != 0)
		return -1;
	char *dir = dir_of(path);
	struct stat dst;
	int r = 0;
	bool missing = false;
	static const char *const sfx[] = { "-wal", "-shm" };
	for (size_t i = 0; r == 0 && i < 2; i++) {
		struct strbuf p = STRBUF_INIT;
		strbuf_printf(&p, "%s%s", path, sfx[i]);
		struct stat fst;
		if (lstat(p.s, &fst) == 0)
			r = check_rw(p.s, &fst, u, error_r);
		else
			missing = true;
		strbuf_free(&p);
	}
	if (r == 0 && stat(dir, &dst) == 0) {
		int want = X_OK | (missing ? W_OK : 0);
		if (!store_user_may(u, &dst, want)) {
			struct strbuf fix = STRBUF_INIT;
			strbuf_printf(&fix, "SQLite keeps %s-wal and %s-shm there: chown %s '%s'",
			    path, path, u->name, dir);
			r = refuse(dir, &dst, u, missing ? "create files in" : "enter", fix.s,
			    error_r);
			strbuf_free(&fix);
		}
	}
	free(dir);
	return r;
}
