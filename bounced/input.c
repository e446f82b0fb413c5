/* Message sources: files, directories (Maildir cur/ and new/ included), mbox files, stdin. */
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "limits.h"
#include "strbuf.h"

/* Directory entries read in one directory: a Maildir of bounces can be large, but a bound keeps
 * a mistaken `parse /` from eating memory. */
#define INPUT_MAX_DIR_ENTRIES	10000000
/* Subdirectory levels followed. */
#define INPUT_MAX_DEPTH		8
_Static_assert(INPUT_MAX_DEPTH == 8 && INPUT_MAX_DIR_ENTRIES == 10000000, "the error texts say so");
/* Standard input is held in memory whole: one message (cut at LIMIT_MESSAGE_BYTES anyway) or a
 * modest mbox. A larger mbox belongs in a file, which is mapped instead. */
#define INPUT_MAX_STDIN_BYTES	(4u * LIMIT_MESSAGE_BYTES)
_Static_assert(INPUT_MAX_STDIN_BYTES == 256u * 1024 * 1024, "the error text says 256 MiB");

static int
seterr(char **error_r, const char *path, const char *what)
{
	error_set(error_r, "%s: %s", path, what);
	return -1;
}

int
input_is_mbox(const char *data, size_t len)
{
	return len >= 5 && memcmp(data, "From ", 5) == 0;
}

/* mboxrd: a body line ">From " (any number of '>') was escaped by one '>' on writing. nl is
 * the file's line end, '\n' or (old Mac files) '\r'; a CR line end is written as LF. */
static void
mbox_unescape(const char *p, size_t len, char nl_char, struct strbuf *out)
{
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, nl_char, (size_t)(end - p));
		const char *eol = nl != NULL ? nl + 1 : end;
		if (nl_char == '\r' && nl != NULL && eol < end && *eol == '\n')
			eol++;		/* a CRLF line in a CR file: one line end, not two */
		const char *q = p;
		while (q < eol && *q == '>')
			q++;
		if (q > p && (size_t)(eol - q) >= 5 && memcmp(q, "From ", 5) == 0)
			p++;
		if (nl_char == '\n' || nl == NULL) {
			strbuf_append(out, p, (size_t)(eol - p));
		} else {
			strbuf_append(out, p, (size_t)(nl - p));
			strbuf_putc(out, '\n');
		}
		p = eol;
	}
}

/* Splits an mbox whose lines end in nl ('\n', or '\r' in an old Mac file) into messages. */
static int
each_mbox(const char *path, const char *data, size_t len, char nl_char, input_fn fn, void *ctx)
{
	const char sep[7] = { nl_char, 'F', 'r', 'o', 'm', ' ', '\0' };
	const char *end = data + len;
	const char *p = data;
	size_t n = 0;
	struct strbuf msg = STRBUF_INIT, src = STRBUF_INIT;
	int ret = 0;
	while (p < end && ret == 0) {
		/* p is at a "From " separator line: the message starts after it. */
		const char *nl = memchr(p, nl_char, (size_t)(end - p));
		const char *start = nl != NULL ? nl + 1 : end;
		/* The next separator: a "From " line after an empty line, as mbox writers leave one.
		 * A "From " line right after text (an unescaped body line of a message saved with
		 * its own "From " line, a returned message) does not split. */
		const char *next = end;
		const char *f = start > data ? start - 1 : start;
		while ((f = memmem(f, (size_t)(end - f), sep, 6)) != NULL) {
			if (f > start && f[-1] == nl_char) {
				next = f + 1;
				break;
			}
			if (nl_char == '\n' && f > start + 1 && f[-1] == '\r' && f[-2] == '\n') {
				next = f + 1;
				break;
			}
			f++;
		}
		size_t mlen = (size_t)(next - start);
		/* The empty line before the next "From " (or at the end) is the mbox's, not the
		 * message's (RFC 4155): the message is the same bytes as when saved as a file. */
		if (mlen >= 2 && start[mlen - 1] == nl_char && start[mlen - 2] == nl_char)
			mlen--;
		else if (mlen >= 4 && memcmp(start + mlen - 4, "\r\n\r\n", 4) == 0)
			mlen -= 2;
		if (mlen > LIMIT_MBOX_MESSAGE_BYTES)
			mlen = LIMIT_MBOX_MESSAGE_BYTES;
		strbuf_reset(&msg);
		mbox_unescape(start, mlen, nl_char, &msg);
		strbuf_reset(&src);
		/* A file holding a single message after a "From " line (as many tools save one
		 * message) keeps its own name as the source. */
		n++;
		if (n == 1 && next == end)
			strbuf_puts(&src, path);
		else
			strbuf_printf(&src, "%s:%zu", path, n);
		ret = fn(src.s, msg.s != NULL ? msg.s : "", msg.len, ctx);
		p = next;
	}
	strbuf_free(&msg);
	strbuf_free(&src);
	return ret;
}

/* True when the first line ends in a bare CR: a file with old Mac line endings. */
static bool
cr_only(const char *data, size_t len)
{
	const char *cr = memchr(data, '\r', len);
	const char *lf = memchr(data, '\n', len);
	return cr != NULL && (lf == NULL || cr < lf) && (cr + 1 == data + len || cr[1] != '\n');
}

static int
deliver(const char *path, const char *data, size_t len, input_fn fn, void *ctx)
{
	if (input_is_mbox(data, len))
		return each_mbox(path, data, len, cr_only(data, len) ? '\r' : '\n', fn, ctx);
	if (len > LIMIT_MESSAGE_BYTES)
		len = LIMIT_MESSAGE_BYTES;
	return fn(path, data, len, ctx);
}

/* inside: an entry of a directory walked, opened without following a symbolic link (the name
 * was checked with lstat; this closes the race) and without blocking on a FIFO put there. */
static int
each_file(const char *path, bool inside, input_fn fn, void *ctx, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (inside ? O_NOFOLLOW | O_NONBLOCK : 0));
	if (fd < 0)
		return seterr(error_r, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return seterr(error_r, path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return inside ? 0 : seterr(error_r, path, "not a file or directory");
	}
	if (st.st_size == 0) {
		close(fd);
		return fn(path, "", 0, ctx);
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return seterr(error_r, path, strerror(errno));
	int ret = deliver(path, map, (size_t)st.st_size, fn, ctx);
	munmap(map, (size_t)st.st_size);
	return ret;
}

static int
each_stdin(input_fn fn, void *ctx, char **error_r)
{
	struct strbuf b = STRBUF_INIT;
	char buf[65536];
	bool over = false;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_free(&b);
			return seterr(error_r, "-", strerror(errno));
		}
		if (n == 0)
			break;
		/* Past the limit the rest is read and dropped, so the writer is not blocked. */
		if (over || b.len + (size_t)n > INPUT_MAX_STDIN_BYTES) {
			over = true;
			continue;
		}
		strbuf_append(&b, buf, (size_t)n);
	}
	const char *data = b.s != NULL ? b.s : "";
	int ret = deliver("-", data, b.len, fn, ctx);
	/* A single message over the limit was delivered cut (and is marked truncated by its
	 * size); the messages of an mbox past the limit were not read at all: say so. */
	if (ret == 0 && over && input_is_mbox(data, b.len))
		ret = seterr(error_r, "-", "mbox on standard input over 256 MiB: the messages after "
		    "that were not read (give the mbox as a file)");
	strbuf_free(&b);
	return ret;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int each_path(const char *path, input_fn fn, void *ctx, char **error_r, int depth);

static int
each_dir(const char *path, input_fn fn, void *ctx, char **error_r, int depth)
{
	if (depth > INPUT_MAX_DEPTH)
		return seterr(error_r, path, "directory nested deeper than 8 levels: not read");
	/* Below the top, a directory is entered only when it is one (not a link to one). */
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (depth > 0 ? O_NOFOLLOW : 0));
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		return seterr(error_r, path, strerror(e));
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ., .., dot files, Maildir++ .Folders */
		if (strcmp(de->d_name, "tmp") == 0)
			continue;	/* Maildir tmp/: messages still being written */
		if (n == INPUT_MAX_DIR_ENTRIES) {
			closedir(d);
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			return seterr(error_r, path, "more than 10,000,000 entries: not read");
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof names[0]);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], name_cmp);
	/* An entry that cannot be read is reported and the walk goes on: every error is in
	 * *error_r at the end, one line each. */
	int ret = 0;
	struct strbuf sub = STRBUF_INIT, errors = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (ret <= 0) {
			strbuf_reset(&sub);
			strbuf_printf(&sub, "%s%s%s", path,
			    path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
			char *err = NULL;
			int r = each_path(sub.s, fn, ctx, &err, depth + 1);
			if (r < 0) {
				strbuf_printf(&errors, "%s%s", errors.len > 0 ? "\n" : "", err);
				ret = -1;
			} else if (r > 0) {
				ret = r;
			}
			free(err);
		}
		free(names[i]);
	}
	strbuf_free(&sub);
	free(names);
	if (ret < 0)
		*error_r = strbuf_detach(&errors);
	strbuf_free(&errors);
	return ret;
}

static int
each_path(const char *path, input_fn fn, void *ctx, char **error_r, int depth)
{
	/* A path given by the user is followed when it is a symbolic link (their choice); inside a
	 * directory, symbolic links and special files are skipped: `ingest` run as root over a
	 * directory must not store what a link points to (/etc/shadow) where the application's
	 * group reads it. */
	struct stat st;
	if ((depth == 0 ? stat(path, &st) : lstat(path, &st)) < 0)
		return seterr(error_r, path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return each_dir(path, fn, ctx, error_r, depth);
	if (!S_ISREG(st.st_mode))
		return depth == 0 ? seterr(error_r, path, "not a file or directory") : 0;
	return each_file(path, depth > 0, fn, ctx, error_r);
}

int
input_each(const char *path, input_fn fn, void *ctx, char **error_r)
{
	if (strcmp(path, "-") == 0)
		return each_stdin(fn, ctx, error_r);
	return each_path(path, fn, ctx, error_r, 0);
}
