/* The parse workers of `bounced serve`: a pool of processes, each parsing one message at a time
 * under CPU and address-space limits, connected to the server by a socketpair. As OpenSMTPD does,
 * a worker is forked, keeps only its socket (and standard error, for the log), and execs the
 * bounced binary again as the hidden `bounced worker` command: it inherits none of the server's
 * threads, locks, address-space layout, open files or environment. It gets its settings (rules
 * paths, VERP settings and key, limits) as the first frame on its socket, compiles the rules,
 * opens its charset converters, then confines itself (sandbox.h) before reading any message.
 * Parsing untrusted mail thus never takes the server down: a worker that dies (a parser crash,
 * SIGXCPU, out of memory, a call the sandbox refuses) fails its message as unparsed and is
 * replaced. */
#ifndef BOUNCED_LMTP_WORKER_H
#define BOUNCED_LMTP_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "bounce.h"
#include "report.h"
#include "verp.h"

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

/* What a worker parses with; the pool keeps a copy (strings and key included). */
struct worker_setup {
	struct worker_limits lim;
	const char *rules_dir;		/* [rules] dir; NULL = the rules built into the binary */
	const char *rules_local;	/* [rules] local, or NULL */
	const struct verp_config *verp;	/* VERP settings and key */
};

/* Test-only (documented in tests/lmtp/test_sandbox.py): a worker started with this variable in
 * its environment, read before it confines itself, calls open(2) on every message that contains
 * the variable's value, so a test can prove that the sandbox kills it. */
#define WORKER_TEST_OPEN_ENV	"BOUNCED_WORKER_TEST_OPEN"

/* Called once per submitted job with the pool's ctx: rep is the parsed report (ownership passes
 * to the callee), or NULL when the worker died or failed; why is then a short reason for the
 * log. */
typedef void worker_done_fn(void *ctx, void *job, struct bounce_report *rep, const char *why);

/* Starts n workers (at least 1) with ws (copied). Returns NULL when no worker could be started
 * (fork failing; a worker that cannot exec or load its rules dies and is seen later). */
struct worker_pool *worker_pool_new(struct event_base *base, size_t n,
    const struct worker_setup *ws, worker_done_fn *done, void *ctx);
/* Replaces the workers (idle ones at once, busy ones after their message) with new ones started
 * with the new setup and count. */
void worker_pool_reload(struct worker_pool *p, size_t n, const struct worker_setup *ws);
/* Queues a message for parsing. data must stay valid until done() is called for job. rcpt is
 * the envelope recipient (may be NULL). done() is never called from inside this function. */
void worker_pool_submit(struct worker_pool *p, void *job, const char *rcpt, const char *data,
    size_t len);
/* Kills the workers (jobs still queued get done(NULL)) and frees the pool. NULL-safe. */
void worker_pool_free(struct worker_pool *p);

/* `bounced worker` (hidden, started by the pool only): the worker process, on its socket at
 * file descriptor 3. Returns an exit status (commands.h) when the server goes away or its
 * settings are unusable. */
int worker_command(int argc, char **argv);

#endif
