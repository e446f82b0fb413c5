/* An IMAP client session for `bounced fetch`, on libetpan's low-level mailimap API over a
 * connection from tls.c (certificates verified by bounced, not by libetpan). The polling logic
 * (search, batches, store, move) is in imap_poll.c. */
#ifndef BOUNCED_IMAP_H
#define BOUNCED_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results of imap_* calls; imap_poll maps them to exit codes. */
#define IMAP_OK		0
#define IMAP_ERR_TEMP	1	/* unreachable, dropped, timed out, server said NO: try later */
#define IMAP_ERR_AUTH	2	/* login refused, or TLS verification failed */
#define IMAP_ERR_CONFIG	3	/* bad URL, plain text not allowed, CA file unreadable */

/* Exit status for IMAP_ERR_AUTH (sysexits EX_NOPERM): needs an operator, retrying won't help. */
#define EXIT_NOPERM	77

#define IMAP_PORT_IMAPS	"993"
#define IMAP_PORT_IMAP	"143"
/* Longest URL, user, host or mailbox name accepted from a config file or command line. */
#define IMAP_URL_MAX	2048

enum imap_security {
	IMAP_SEC_IMPLICIT,	/* imaps:// - TLS from the first byte */
	IMAP_SEC_STARTTLS,	/* imap:// - STARTTLS required before LOGIN */
	IMAP_SEC_PLAIN,		/* imap:// with allow_plaintext: no TLS at all */
};

struct imap_url {
	char *user;		/* percent-decoded; never NULL */
	char *host;		/* without [] for IPv6 literals */
	char *port;
	char *mailbox;		/* percent-decoded; "INBOX" when the URL has none */
	bool implicit_tls;	/* imaps */
};

/* Parses imaps://USER@HOST[:PORT]/MAILBOX or imap://...; USER may contain '@' (the last '@'
 * ends it) or %40. Returns 0, or -1 with *error_r set (caller frees). */
int imap_url_parse(const char *url, struct imap_url *u_r, char **error_r);
void imap_url_clear(struct imap_url *u);

/* The name a server knows a mailbox by: IMAP4rev1 (RFC 3501 5.1.3) writes names in modified
 * UTF-7, so "Rückläufer" goes on the wire as "R&APw-ckl&AOQ-ufer" and "&" as "&-". Operators
 * write names in UTF-8, as their mail client shows them. NULL when utf8 is not valid UTF-8.
 * Caller frees. */
char *imap_mutf7_encode(const char *utf8);
/* True when name already holds a modified UTF-7 run ("R&APw-ckl&AOQ-ufer", copied from a
 * server log): encoded again it would name another folder. "&" followed by something that does
 * not decode to non-ASCII text ("R&D-Team") is not one. */
bool imap_name_is_mutf7(const char *name);

struct imap;

/* Seconds one command may take, with the processing of what it fetched, unless an account sets
 * its own (timeout = N). The read timeout alone does not bound a server that trickles a byte a
 * minute; past this the process exits 75, which is safe at any moment (nothing is moved before
 * its commit). */
#define IMAP_COMMAND_TIMEOUT_S	600
/* The range an account's timeout may take. */
#define IMAP_TIMEOUT_MIN_S	1
#define IMAP_TIMEOUT_MAX_S	86400

/* Connects, sets up TLS per sec (verifying against ca_file, NULL = system store), logs in.
 * Each command then runs under alarm(2) for timeout_s seconds (0: IMAP_COMMAND_TIMEOUT_S;
 * SIGALRM handler installed here: exit 75).
 * Returns IMAP_*; on error *error_r says what failed (caller frees). */
int imap_open(const struct imap_url *u, enum imap_security sec, const char *password,
    const char *ca_file, unsigned int timeout_s, struct imap **imap_r, char **error_r);
/* imap_open on a connection already made (tls.h; taken, closed on failure too): the IMAP fuzz
 * target's socketpair. Addition (compatible). */
struct tls_conn;
int imap_open_conn(struct tls_conn *conn, const struct imap_url *u, enum imap_security sec,
    const char *password, const char *ca_file, unsigned int timeout_s, struct imap **imap_r,
    char **error_r);
/* Logs out when still connected and frees. NULL-safe. */
void imap_close(struct imap *im);

/* SELECTs mailbox read-write; *uidvalidity_r gets its UIDVALIDITY. */
int imap_select(struct imap *im, const char *mailbox, uint32_t *uidvalidity_r, char **error_r);

/* The keyword bounced sets on mail it has processed and leaves in the mailbox. */
#define IMAP_DONE_KEYWORD	"$BouncedDone"

/* UIDs of messages not yet processed: not \Deleted and without IMAP_DONE_KEYWORD, ascending.
 * *uids_r is owned by the caller (free). */
int imap_search_pending(struct imap *im, uint32_t **uids_r, size_t *n_r, char **error_r);

/* RFC822.SIZE of each uid, in sizes_r[i] for uids[i]; a message gone meanwhile gets
 * UINT32_MAX. */
int imap_fetch_sizes(struct imap *im, const uint32_t *uids, size_t n, uint32_t *sizes_r,
    char **error_r);

/* Fetches BODY.PEEK[] of uids (ascending; at most max_bytes of each when max_bytes > 0, as a
 * partial fetch) and calls fn once per message the server returned, in the server's order.
 * data is valid only during the call. fn returns 0, or non-zero to stop (returned as is).
 * The server may send at most max_response bytes in all and no literal over max_bytes (or
 * LIMIT_MESSAGE_BYTES): past that the connection is cut and IMAP_ERR_TEMP returned. */
typedef int imap_body_fn(void *ctx, uint32_t uid, const char *data, size_t len);
int imap_fetch_bodies(struct imap *im, const uint32_t *uids, size_t n, uint32_t max_bytes,
    uint64_t max_response, imap_body_fn *fn, void *ctx, char **error_r);

/* Makes sure folder exists (CREATE when LIST does not show it). folder uses '/' between
 * levels; it is translated to the server's hierarchy delimiter. *server_name_r gets the name
 * to use with imap_move: delimiter translated, modified UTF-7 (caller frees). */
int imap_ensure_folder(struct imap *im, const char *folder, char **server_name_r,
    char **error_r);

/* Moves uids to folder: UID MOVE, or UID COPY + \Deleted + UID EXPUNGE without MOVE (without
 * UIDPLUS the originals stay flagged \Deleted, which the search skips). */
int imap_move(struct imap *im, const uint32_t *uids, size_t n, const char *folder,
    char **error_r);
/* Flags uids \Deleted and expunges them (UID EXPUNGE with UIDPLUS). */
int imap_delete(struct imap *im, const uint32_t *uids, size_t n, char **error_r);
/* Adds IMAP_DONE_KEYWORD (and \Seen when seen) to uids. */
int imap_mark_done(struct imap *im, const uint32_t *uids, size_t n, bool seen, char **error_r);

#endif
