/* What an IMAP server sends, two ways. The first byte picks read sizes; the rest is the server's
 * side of a whole session.
 *  1. imap_guard_scan on the bytes read at once and in pieces of those sizes: the guard must
 *     come to the same verdict and state whatever the reads (libetpan reads in any sizes).
 *  2. The session through imap.c and libetpan: the bytes are written into a socketpair up
 *     front (then end of file), and `bounced fetch`'s calls run against it in its order: open
 *     (greeting, CAPABILITY, LOGIN, CAPABILITY), SELECT, UID SEARCH, its two folders (LIST,
 *     CREATE, SUBSCRIBE), sizes, bodies, MOVE, then STORE and EXPUNGE. libetpan numbers its
 *     tags 1, 2, 3...: a seed (a session recorded from tests/imap/hostile_imap.py) answers
 *     them in that order. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap.h"
#include "imap_guard.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest server script: it must fit in the socketpair's buffer, written before the session. */
#define FUZZ_SCRIPT_MAX		(64u * 1024)
/* UIDs of the search acted on: keeps the client's commands small (nobody reads them). */
#define FUZZ_UIDS_MAX		64
/* The guard's limits in part 1: small, so that inputs reach them. */
#define FUZZ_LITERAL_MAX	1000
#define FUZZ_BUDGET		(32u * 1024)
/* Per command, as an account's timeout: the script is all there, so nothing waits that long
 * unless the client hangs, which then ends in abort() (a finding). */
#define FUZZ_TIMEOUT_S		20

static void
on_alarm(int sig)
{
	(void)sig;
	abort();
}

static void
guard_pieces(const uint8_t *p, size_t n, unsigned seed)
{
	struct imap_guard whole = { 0 }, pieces = { 0 };
	imap_guard_set(&whole, FUZZ_LITERAL_MAX, FUZZ_BUDGET);
	imap_guard_set(&pieces, FUZZ_LITERAL_MAX, FUZZ_BUDGET);
	bool ok_whole = imap_guard_scan(&whole, (const char *)p, n), ok_pieces = true;
	unsigned x = seed * 2654435761u + 1;
	for (size_t off = 0; off < n && ok_pieces; ) {
		x = x * 1103515245u + 12345u;
		size_t k = 1 + (x >> 16) % (seed % 16 == 0 ? 1 : 64);
		if (k > n - off)
			k = n - off;
		ok_pieces = imap_guard_scan(&pieces, (const char *)p + off, k);
		off += k;
	}
	if (ok_whole != ok_pieces ||
	    (ok_whole && (whole.literal_left != pieces.literal_left || whole.lit != pieces.lit ||
	    whole.head != pieces.head || whole.status != pieces.status ||
	    whole.used != pieces.used))) {
		fprintf(stderr, "fuzz-imap: the guard's verdict depends on the reads: whole %d (%s), "
		    "pieces %d (%s)\n", ok_whole, whole.error ? whole.error : "-", ok_pieces,
		    pieces.error ? pieces.error : "-");
		abort();
	}
	imap_guard_clear(&whole);
	imap_guard_clear(&pieces);
}

static int
on_body(void *ctx, uint32_t uid, const char *data, size_t len)
{
	unsigned *sum = ctx;
	for (size_t i = 0; i < len; i++)	/* every byte read: ASan sees a short buffer */
		*sum += (unsigned char)data[i];
	*sum += uid;
	return 0;
}

static void
drop(char **error)
{
	free(*error);
	*error = NULL;
}

static void
session(const uint8_t *p, size_t n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	/* The whole script, then end of file: what does not fit is cut (non-blocking write). */
	int fl = fcntl(sv[1], F_GETFL);
	(void)fcntl(sv[1], F_SETFL, fl | O_NONBLOCK);
	for (size_t off = 0; off < n; ) {
		ssize_t w = send(sv[1], p + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	(void)shutdown(sv[1], SHUT_WR);

	struct imap_url u = {
		.user = (char *)"bounces", .host = (char *)"imap.example.org", .port = (char *)"143",
		.mailbox = (char *)"INBOX",
	};
	struct imap *im = NULL;
	char *error = NULL;
	unsigned sum = 0;
	if (imap_open_conn(tls_adopt(sv[0]), &u, IMAP_SEC_PLAIN, "secret", NULL, FUZZ_TIMEOUT_S,
	    &im, &error) != IMAP_OK) {
		drop(&error);
		close(sv[1]);
		return;
	}
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, NULL);
	uint32_t uidvalidity, *uids = NULL, sizes[FUZZ_UIDS_MAX];
	size_t nuids = 0;
	char *folder = NULL, *other = NULL;
	if (imap_select(im, "INBOX", &uidvalidity, &error) == IMAP_OK &&
	    imap_search_pending(im, &uids, &nuids, &error) == IMAP_OK) {
		if (nuids > FUZZ_UIDS_MAX)
			nuids = FUZZ_UIDS_MAX;
		if (imap_ensure_folder(im, "bounced/processed", &folder, &error) != IMAP_OK)
			drop(&error);
		if (imap_ensure_folder(im, "bounced/not-bounces", &other, &error) != IMAP_OK)
			drop(&error);
		if (imap_fetch_sizes(im, uids, nuids, sizes, &error) != IMAP_OK)
			drop(&error);
		if (imap_fetch_bodies(im, uids, nuids, 0, FUZZ_BUDGET, on_body, &sum, &error) !=
		    IMAP_OK)
			drop(&error);
		if (folder != NULL && imap_move(im, uids, nuids / 2, folder, &error) != IMAP_OK)
			drop(&error);
		if (imap_mark_done(im, uids + nuids / 2, nuids - nuids / 2, true, &error) != IMAP_OK)
			drop(&error);
		if (imap_delete(im, uids, nuids, &error) != IMAP_OK)
			drop(&error);
	}
	drop(&error);
	free(folder);
	free(other);
	free(uids);
	imap_close(im);
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_SCRIPT_MAX + 1)
		return 0;
	guard_pieces(data + 1, size - 1, data[0]);
	session(data + 1, size - 1);
	return 0;
}
