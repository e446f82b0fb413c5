/* Group commit (see commit.h). The loop hands a whole group to the committer thread, which
 * commits it while the loop keeps reading and parsing the next one, and hands it back through a
 * pipe; the loop then calls each request's done. */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "strbuf.h"

struct commit_queue {
	struct event_base *base;
	struct store *store;		/* the committer thread's once started */
	/* Loop side only. */
	struct commit_request *ready, **ready_tail;	/* submitted, waiting for a group */
	bool busy;			/* a group is with the committer */
	int wake[2];			/* committer -> loop */
	struct event *wake_ev;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	struct commit_request *todo;	/* group handed to the committer */
	struct commit_request *done;	/* group committed, to be called back */
	bool quit;
	pthread_t committer;
	bool committer_started;
	/* The checkpointer thread: copies the WAL into the database on its own connection when
	 * the committer finds the WAL long, so no commit (and no 250) waits for the bulk of the
	 * copy. A checkpoint that runs while commits go on cannot copy their frames, and the WAL
	 * starts over only when everything in it was copied before a transaction begins: so the
	 * committer copies the few frames committed meanwhile itself (CKPT_FINISH), between two
	 * groups. Without that the WAL would grow for as long as mail keeps coming. */
	pthread_t checkpointer;
	bool checkpointer_started;
	struct store *ckpt_store;
	pthread_cond_t ckpt_cv;
	enum { CKPT_IDLE, CKPT_BULK, CKPT_FINISH } ckpt;	/* under mu */
};

/* Stores the requests of a group (linked by next) in one transaction. Sets each one's rc to
 * STORE_OK or the first error (everything rolled back) and returns it. */
static int
commit_group(struct commit_queue *q, struct commit_request *first, bool alone)
{
	char *err = NULL;
	size_t n = 0;
	int rc = store_begin(q->store, &err);
	for (struct commit_request *r = first; r != NULL && rc == STORE_OK; r = alone ? NULL : r->next) {
		for (size_t i = 0; rc == STORE_OK && i < r->n; i++, n++) {
			struct commit_entry *e = &r->entries[i];
			memset(&e->res, 0, sizeof e->res);
			rc = store_add(q->store, &e->msg, e->rep, &e->res, &err);
		}
	}
	if (rc == STORE_OK)
		rc = store_commit(q->store, &err);
	if (rc != STORE_OK) {
		store_rollback(q->store);
		log_warnx("store: %s (%zu message%s not stored%s)", err != NULL ? err : "error", n,
		    n == 1 ? "" : "s", alone ? "" : " unless retried alone");
	}
	free(err);
	for (struct commit_request *r = first; r != NULL; r = alone ? NULL : r->next)
		r->rc = rc;
	return rc;
}

/* One WAL checkpoint on the given connection; trouble is logged, the next one tries again. */
static void
checkpoint_logged(struct store *st)
{
	char *err = NULL;
	if (store_checkpoint(st, &err) != STORE_OK)
		log_warnx("store: %s", err != NULL ? err : "checkpoint failed");
	free(err);
}

/* The committer's and the checkpointer's threads take no signals: they are the loop's. */
static void
block_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* The committer thread: commits one group at a time. */
static void *
committer_main(void *arg)
{
	struct commit_queue *q = arg;
	block_signals();
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->todo == NULL && !q->quit)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->todo == NULL)
			break;
		struct commit_request *first = q->todo;
		pthread_mutex_unlock(&q->mu);
		/* One request failing (not the database) must not fail the others: retry alone.
		 * A busy or failing database would only fail each retry again, each after the full
		 * busy timeout, while every client waits: the whole group fails at once. */
		int rc = commit_group(q, first, false);
		if (rc != STORE_OK && rc != STORE_ERR_BUSY && rc != STORE_ERR_IO && first->next != NULL)
			for (struct commit_request *r = first; r != NULL; r = r->next)
				commit_group(q, r, true);
		bool due = store_checkpoint_due(q->store);
		pthread_mutex_lock(&q->mu);
		q->todo = NULL;
		q->done = first;
		char one = 1;
		if (write(q->wake[1], &one, 1) < 0) {
			/* the pipe holds at least one byte already: the loop will look */
		}
		if (due && q->ckpt_store != NULL && q->ckpt == CKPT_IDLE) {
			q->ckpt = CKPT_BULK;
			pthread_cond_signal(&q->ckpt_cv);
		} else if (q->ckpt == CKPT_FINISH) {
			/* The group is being called back meanwhile; the next one waits for this short
			 * copy only. */
			pthread_mutex_unlock(&q->mu);
			checkpoint_logged(q->store);
			pthread_mutex_lock(&q->mu);
			q->ckpt = CKPT_IDLE;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The checkpointer thread: one passive checkpoint each time the committer asks. */
static void *
checkpointer_main(void *arg)
{
	struct commit_queue *q = arg;
	block_signals();
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->ckpt != CKPT_BULK && !q->quit)
			pthread_cond_wait(&q->ckpt_cv, &q->mu);
		if (q->quit)
			break;
		pthread_mutex_unlock(&q->mu);
		checkpoint_logged(q->ckpt_store);
		pthread_mutex_lock(&q->mu);
		q->ckpt = CKPT_FINISH;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Hands the requests submitted so far to the committer, unless it is busy: as many whole
 * requests as fit in COMMIT_BATCH_MAX messages, and at least one. */
static void
commit_next(struct commit_queue *q)
{
	if (q->busy || q->ready == NULL)
		return;
	struct commit_request *first = q->ready, *last = first;
	size_t n = first->n;
	while (last->next != NULL && n + last->next->n <= COMMIT_BATCH_MAX) {
		last = last->next;
		n += last->n;
	}
	q->ready = last->next;
	if (q->ready == NULL)
		q->ready_tail = &q->ready;
	last->next = NULL;
	q->busy = true;
	pthread_mutex_lock(&q->mu);
	q->todo = first;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void
commit_submit(struct commit_queue *q, struct commit_request *req)
{
	req->next = NULL;
	*q->ready_tail = req;
	q->ready_tail = &req->next;
	commit_next(q);
}

static void
on_committed(evutil_socket_t fd, short what, void *arg)
{
	struct commit_queue *q = arg;
	char buf[64];
	while (read(q->wake[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&q->mu);
	struct commit_request *first = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->mu);
	if (first == NULL)
		return;
	q->busy = false;
	commit_next(q);	/* what arrived meanwhile is the next group */
	/* The commit may have taken a while: timeouts set from now on must not count from the
	 * time libevent cached before it. */
	event_base_update_cache_time(q->base);
	log_hold();	/* one write for the lines of the whole group */
	for (struct commit_request *r = first, *next; r != NULL; r = next) {
		next = r->next;	/* done may free r */
		r->done(r);
	}
	log_release();
}

int
commit_open(struct event_base *base, const char *db_path, const struct config *cfg,
    struct commit_queue **q_r, char **error_r)
{
	struct commit_queue *q = xcalloc(1, sizeof *q);
	q->base = base;
	q->ready_tail = &q->ready;
	q->wake[0] = q->wake[1] = -1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->ckpt_cv, NULL);
	int rc = store_open(db_path, cfg, STORE_OPEN_CREATE, &q->store, error_r);
	if (rc != STORE_OK) {
		commit_close(q);
		return rc;
	}
	if (pipe2(q->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (q->wake_ev = event_new(base, q->wake[0], EV_READ | EV_PERSIST, on_committed, q)) ==
	    NULL || event_add(q->wake_ev, NULL) != 0) {
		error_set(error_r, "cannot set up the committer's wake-up: %s", strerror(errno));
		commit_close(q);
		return STORE_ERR_INTERNAL;
	}
	/* Without a second connection (or its thread) SQLite's own checkpoints stay on. */
	char *err = NULL;
	if (store_open(db_path, cfg, 0, &q->ckpt_store, &err) != STORE_OK) {
		log_warnx("serve: checkpoints stay in the commit path: %s", err);
		free(err);
		q->ckpt_store = NULL;
	} else if (pthread_create(&q->checkpointer, NULL, checkpointer_main, q) != 0) {
		store_close(q->ckpt_store);
		q->ckpt_store = NULL;
	} else {
		q->checkpointer_started = true;
		store_defer_checkpoints(q->store);
	}
	if (pthread_create(&q->committer, NULL, committer_main, q) != 0) {
		error_set(error_r, "cannot start the committer thread");
		commit_close(q);
		return STORE_ERR_INTERNAL;
	}
	q->committer_started = true;
	*q_r = q;
	return STORE_OK;
}

void
commit_close(struct commit_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->quit = true;
	pthread_cond_signal(&q->cv);
	pthread_cond_signal(&q->ckpt_cv);
	pthread_mutex_unlock(&q->mu);
	if (q->committer_started)
		pthread_join(q->committer, NULL);
	if (q->checkpointer_started)
		pthread_join(q->checkpointer, NULL);
	store_close(q->ckpt_store);	/* before the last connection, which removes the WAL */
	store_close(q->store);
	if (q->wake_ev != NULL)
		event_free(q->wake_ev);
	if (q->wake[0] >= 0)
		close(q->wake[0]);
	if (q->wake[1] >= 0)
		close(q->wake[1]);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->ckpt_cv);
	free(q);
}
