/* The memory budget for message bytes in flight, shared by every listener of `bounced serve`
 * (LMTP sessions in DATA, the HTTP listener's request bodies): a listener reserves bytes before
 * it holds them and releases them when it lets go, so the server's memory for messages stays
 * under one limit whatever the clients do. Over the limit a reservation is refused and the
 * listener answers "try again" (LMTP 452 4.3.1, HTTP 503): the sender retries, nothing is lost.
 *
 * One budget per server, used from the thread that runs its event loop only (no locking).
 *
 *   struct budget *b = budget_new(256 * 1024 * 1024);
 *   size_t held = 0;
 *   if (!budget_grow(b, &held, body_len_so_far))   refuse: 452 / 503
 *   ...
 *   budget_release(b, held);  held = 0;           when the bytes are freed */
#ifndef BOUNCED_BUDGET_H
#define BOUNCED_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

struct budget;

/* Counters for the log and /metrics. */
struct budget_stats {
	size_t limit;			/* bytes that may be reserved at once */
	size_t used;			/* bytes reserved now */
	size_t peak;			/* most bytes reserved at once since budget_new */
	unsigned long long refused;	/* reservations refused since budget_new */
};

/* A budget of limit bytes (0: nothing can be reserved). Never NULL (out of memory aborts). */
struct budget *budget_new(size_t limit);
void budget_free(struct budget *b);	/* NULL-safe; what is still reserved is forgotten */
/* A new limit (SIGHUP). Reservations already made stay; new ones are checked against it. */
void budget_set_limit(struct budget *b, size_t limit);

/* Reserves n bytes, all or nothing: true when used + n stays within the limit (n = 0 always
 * succeeds), false (counted in refused) otherwise. */
bool budget_reserve(struct budget *b, size_t n);
/* Gives back n bytes reserved earlier (a broken invariant aborts when more than was reserved). */
void budget_release(struct budget *b, size_t n);
/* For a buffer that grows: makes *held, the bytes the caller holds reserved, at least want,
 * reserving the difference. Returns true (and sets *held = want when it grew), or false with
 * *held unchanged when the budget cannot cover it. Never shrinks *held. */
bool budget_grow(struct budget *b, size_t *held, size_t want);

void budget_stats(const struct budget *b, struct budget_stats *r);

#endif
