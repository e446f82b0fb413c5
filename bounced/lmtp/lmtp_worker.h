/* The parse workers of `bounced serve`: a pre-forked pool of processes, each parsing one message
 * at a time under CPU and address-space limits, connected to the server by a socketpair. Parsing
 * untrusted mail thus never takes the server down: a worker that dies (a parser crash, SIGXCPU,
 * out of memory) fails its message as unparsed and is replaced. */
#ifndef BOUNCED_LMTP_WORKER_H
#define BOUNCED_LMTP_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "bounce.h"
#include "report.h"

struct event_base;
struct worker_pool;

/* Bytes of a packed report a worker may return: LIMIT_RECIPIENTS recipients of a few KiB. */
#define WORKER_MAX_REPLY	(32u * 1024 * 1024)
/* Wall-clock seconds a worker may take on top of its CPU limit before it is killed: a worker
 * never waits on anything but its socket, so this only catches a stopped process. */
#define WORKER_WALL_SLACK_S	30

struct worker_limits {
	unsigned int cpu_s;	/* CPU seconds per message (RLIMIT_CPU); 0 = none */
	unsigned int mem_mb;	/* address space (RLIMIT_AS); 0 = none */
};

/* Called once per submitted job with the pool's ctx: rep is the parsed report (ownership passes
 * to the callee), or NULL when the worker died or failed; why is then a short reason for the
 * log. */
typedef void worker_done_fn(void *ctx, void *job, struct bounce_report *rep, const char *why);

/* Forks n workers (at least 1). opt (and what it points to) is inherited by the workers at fork
 * time; pass a new one with worker_pool_reload(). Returns NULL when no worker could be started. */
struct worker_pool *worker_pool_new(struct event_base *base, size_t n,
    const struct worker_limits *lim, const struct bounce_options *opt, worker_done_fn *done,
    void *ctx);
/* Replaces the workers (idle ones at once, busy ones after their message) with new ones forked
 * with the new options, count and limits. */
void worker_pool_reload(struct worker_pool *p, size_t n, const struct worker_limits *lim,
    const struct bounce_options *opt);
/* Queues a message for parsing. data must stay valid until done() is called for job. rcpt is
 * the envelope recipient (may be NULL). done() is never called from inside this function. */
void worker_pool_submit(struct worker_pool *p, void *job, const char *rcpt, const char *data,
    size_t len);
/* Kills the workers (jobs still queued get done(NULL)) and frees the pool. NULL-safe. */
void worker_pool_free(struct worker_pool *p);

#endif
