/* Group commit: messages handed over by any listener of a server (LMTP today, an HTTP listener
 * for webhooks later) are stored together, in one transaction per group, by a committer thread,
 * while the listener's libevent loop goes on reading and parsing the next group. A request is
 * done only once its transaction is durable (or failed and rolled back): that is when a listener
 * may answer 250 (or 200), and not before. Without a timer: every request submitted while a
 * commit runs joins the next one.
 *
 * Threads: commit_open, commit_submit and commit_close run on the loop's thread; done callbacks
 * are called on it too (from the loop, never from inside commit_submit). The committer thread
 * alone uses the store once open; a second connection, on a thread of its own, copies the WAL
 * into the database (a checkpoint) so that no commit waits for that copy. */
#ifndef BOUNCED_COMMIT_H
#define BOUNCED_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "report.h"
#include "store.h"

struct event_base;
struct commit_queue;

/* Messages stored in one transaction at most: keeps one commit short for readers of the views.
 * A request with more entries is committed alone, whole. */
#define COMMIT_BATCH_MAX	512

/* One message to store, as store_add takes it. */
struct commit_entry {
	struct store_msg msg;
	const struct bounce_report *rep;	/* NULL: stored as unparsed */
	struct store_add_result res;		/* set when the request is done with STORE_OK */
};

struct commit_request;
/* Called once per request on the loop's thread when it is done; req->rc tells how. */
typedef void commit_done_fn(struct commit_request *req);

/* A request: its entries are stored in one transaction, all or none. The submitter owns the
 * request, its entries and what they point to, and keeps them unchanged until done is called. */
struct commit_request {
	struct commit_entry *entries;
	size_t n;
	commit_done_fn *done;
	void *ctx;			/* the submitter's */
	int rc;				/* when done: STORE_OK, or the STORE_* error (nothing stored) */
	struct commit_request *next;	/* the queue's own */
};

/* Opens the database at db_path (created when missing) with cfg's store and policy settings,
 * and starts the committer and checkpointer threads; requests are done through base. Returns
 * STORE_OK with *q_r, or a STORE_* error with *error_r (caller frees). */
int commit_open(struct event_base *base, const char *db_path, const struct config *cfg,
    struct commit_queue **q_r, char **error_r);

/* Queues req; it joins the next group. req->done is called later, exactly once, unless the
 * queue is closed first. */
void commit_submit(struct commit_queue *q, struct commit_request *req);

/* Stops the threads and closes the database. Requests not done yet are dropped without their
 * done being called (their submitter still owns them). NULL-safe. */
void commit_close(struct commit_queue *q);

#endif
