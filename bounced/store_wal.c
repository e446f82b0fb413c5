/* A VFS over SQLite's default one that gathers the appends a commit makes to a WAL file and
 * writes them with one pwrite(2). SQLite writes each page of a commit as two calls (the 24-byte
 * frame header, then the page): 70 system calls for a typical LMTP batch, each of them costly on
 * a virtual machine, where this makes one.
 *
 * Durability is unchanged: what is gathered is written before the WAL is synced, read, sized,
 * truncated, closed or handed a file control, and before any write that does not continue it.
 * Readers (other connections, other processes) only read frames that a commit has published in
 * the WAL index, which SQLite does after syncing the WAL when synchronous=FULL, as store_open
 * sets on every connection that writes: so no reader can see a frame still gathered here. Files
 * other than WAL files pass straight through. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "store_int.h"

/* Bytes gathered at most before they are written anyway: about 120 frames of 4 KiB pages, a
 * commit of some 25 LMTP messages; a larger commit is written in pieces of this size. */
#define STORE_WAL_GATHER	(512u * 1024)
/* Bytes handed to the default VFS per write: its unixWrite keeps only the low 17 bits of a
 * length (nBuf &= 0x1ffff), so a 128 KiB write would be a write of nothing (SQLITE_FULL). */
#define STORE_WAL_PIECE		(64u * 1024)

struct wal_file {
	sqlite3_file base;	/* pMethods = one of wal_io */
	sqlite3_file *real;	/* the default VFS's file, in the same allocation */
	bool gather;		/* a WAL file: appends are gathered */
	char *buf;		/* STORE_WAL_GATHER bytes once used */
	sqlite3_int64 off;	/* file offset of buf[0] */
	size_t len;		/* bytes gathered */
};

/* The real file follows the struct, aligned for any type. */
#define WAL_FILE_HEAD	((sizeof(struct wal_file) + 15) & ~(size_t)15)

static sqlite3_vfs *root;
static sqlite3_vfs wal_vfs;
static sqlite3_io_methods wal_io[4];	/* [v]: the methods of version v */

static int
wal_flush(struct wal_file *w)
{
	if (w->len == 0)
		return SQLITE_OK;
	size_t n = w->len;
	w->len = 0;
	for (size_t done = 0; done < n; done += STORE_WAL_PIECE) {
		size_t k = n - done < STORE_WAL_PIECE ? n - done : STORE_WAL_PIECE;
		int rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int)k,
		    w->off + (sqlite3_int64)done);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

#define REAL(f)	(((struct wal_file *)(f))->real)

static int
wal_close(sqlite3_file *f)
{
	struct wal_file *w = (struct wal_file *)f;
	int rc = wal_flush(w);
	int rc2 = w->real->pMethods->xClose(w->real);
	sqlite3_free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	int rc = wal_flush((struct wal_file *)f);
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xRead(REAL(f), p, amt, off);
}

static int
wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	struct wal_file *w = (struct wal_file *)f;
	if (!w->gather || amt <= 0)
		return w->real->pMethods->xWrite(w->real, p, amt, off);
	if (w->len > 0 && off == w->off + (sqlite3_int64)w->len &&
	    (size_t)amt <= STORE_WAL_GATHER - w->len) {
		memcpy(w->buf + w->len, p, (size_t)amt);
		w->len += (size_t)amt;
		return SQLITE_OK;
	}
	int rc = wal_flush(w);
	if (rc != SQLITE_OK)
		return rc;
	if (w->buf == NULL)
		w->buf = sqlite3_malloc((int)STORE_WAL_GATHER);
	if (w->buf == NULL || (size_t)amt > STORE_WAL_PIECE)
		return w->real->pMethods->xWrite(w->real, p, amt, off);
	memcpy(w->buf, p, (size_t)amt);
	w->off = off;
	w->len = (size_t)amt;
	return SQLITE_OK;
}

static int
wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = wal_flush((struct wal_file *)f);
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
wal_sync(sqlite3_file *f, int flags)
{
	int rc = wal_flush((struct wal_file *)f);
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
wal_file_size(sqlite3_file *f, sqlite3_int64 *size_r)
{
	int rc = wal_flush((struct wal_file *)f);
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFileSize(REAL(f), size_r);
}

static int
wal_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
wal_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
wal_check_reserved(sqlite3_file *f, int *out_r)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out_r);
}

static int
wal_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = wal_flush((struct wal_file *)f);
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
wal_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
wal_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
wal_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **p_r)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, p_r);
}

static int
wal_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void
wal_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
wal_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int
wal_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **p_r)
{
	int rc = wal_flush((struct wal_file *)f);
	return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFetch(REAL(f), off, amt, p_r);
}

static int
wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int
wal_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	struct wal_file *w = (struct wal_file *)f;
	memset(w, 0, sizeof *w);
	w->real = (sqlite3_file *)((char *)w + WAL_FILE_HEAD);
	int rc = root->xOpen(root, name, w->real, flags, out_flags);
	if (rc != SQLITE_OK || w->real->pMethods == NULL) {
		f->pMethods = NULL;	/* nothing to close */
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	/* Only methods the real file has are offered (SQLite looks at iVersion). */
	int v = w->real->pMethods->iVersion;
	w->gather = (flags & SQLITE_OPEN_WAL) != 0;
	f->pMethods = &wal_io[v < 1 ? 1 : v > 3 ? 3 : v];
	return SQLITE_OK;
}

/* The rest of the VFS is the default one's. */
static int
wal_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return root->xDelete(root, name, sync_dir);
}

static int
wal_access(sqlite3_vfs *vfs, const char *name, int flags, int *out_r)
{
	return root->xAccess(root, name, flags, out_r);
}

static int
wal_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return root->xFullPathname(root, name, n, out);
}

static void *
wal_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return root->xDlOpen(root, name);
}

static void
wal_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	root->xDlError(root, n, msg);
}

static void (*wal_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return root->xDlSym(root, h, sym);
}

static void
wal_dl_close(sqlite3_vfs *vfs, void *h)
{
	root->xDlClose(root, h);
}

static int
wal_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return root->xRandomness(root, n, out);
}

static int
wal_sleep(sqlite3_vfs *vfs, int us)
{
	return root->xSleep(root, us);
}

static int
wal_current_time(sqlite3_vfs *vfs, double *t_r)
{
	return root->xCurrentTime(root, t_r);
}

static int
wal_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return root->xGetLastError(root, n, out);
}

static int
wal_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t_r)
{
	return root->xCurrentTimeInt64(root, t_r);
}

static bool registered;

static void
wal_register(void)
{
	root = sqlite3_vfs_find(NULL);
	if (root == NULL || root->iVersion < 2)
		return;
	static const sqlite3_io_methods io = {
		.iVersion = 3,
		.xClose = wal_close, .xRead = wal_read, .xWrite = wal_write,
		.xTruncate = wal_truncate, .xSync = wal_sync, .xFileSize = wal_file_size,
		.xLock = wal_lock, .xUnlock = wal_unlock, .xCheckReservedLock = wal_check_reserved,
		.xFileControl = wal_file_control, .xSectorSize = wal_sector_size,
		.xDeviceCharacteristics = wal_device_characteristics,
		.xShmMap = wal_shm_map, .xShmLock = wal_shm_lock, .xShmBarrier = wal_shm_barrier,
		.xShmUnmap = wal_shm_unmap, .xFetch = wal_fetch, .xUnfetch = wal_unfetch,
	};
	for (int v = 1; v <= 3; v++) {
		wal_io[v] = io;
		wal_io[v].iVersion = v;
	}
	wal_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)(WAL_FILE_HEAD + (size_t)root->szOsFile),
		.mxPathname = root->mxPathname,
		.zName = STORE_WAL_VFS,
		.xOpen = wal_open, .xDelete = wal_delete, .xAccess = wal_access,
		.xFullPathname = wal_full_pathname, .xDlOpen = wal_dl_open, .xDlError = wal_dl_error,
		.xDlSym = wal_dl_sym, .xDlClose = wal_dl_close, .xRandomness = wal_randomness,
		.xSleep = wal_sleep, .xCurrentTime = wal_current_time, .xGetLastError = wal_last_error,
		.xCurrentTimeInt64 = wal_current_time64,
	};
	registered = sqlite3_vfs_register(&wal_vfs, 0) == SQLITE_OK;
}

const char *
store_wal_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, wal_register);
	return registered ? STORE_WAL_VFS : NULL;
}
