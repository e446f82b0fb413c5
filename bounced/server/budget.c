/* The memory budget for message bytes in flight (budget.h): counters, no allocation of its own
 * beyond the struct. */
#include <stdlib.h>

#include "budget.h"
#include "log.h"
#include "strbuf.h"

struct budget {
	size_t limit;
	size_t used;
	size_t peak;
	unsigned long long refused;
};

struct budget *
budget_new(size_t limit)
{
	struct budget *b = xcalloc(1, sizeof *b);
	b->limit = limit;
	return b;
}

void
budget_free(struct budget *b)
{
	free(b);
}

void
budget_set_limit(struct budget *b, size_t limit)
{
	b->limit = limit;
}

bool
budget_reserve(struct budget *b, size_t n)
{
	/* used <= limit may not hold after a lower limit was set: compared without overflow. */
	if (n > 0 && (b->used > b->limit || n > b->limit - b->used)) {
		b->refused++;
		return false;
	}
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
	return true;
}

void
budget_release(struct budget *b, size_t n)
{
	ASSERT(n <= b->used);
	b->used -= n;
}

bool
budget_grow(struct budget *b, size_t *held, size_t want)
{
	if (want <= *held)
		return true;
	if (!budget_reserve(b, want - *held))
		return false;
	*held = want;
	return true;
}

void
budget_stats(const struct budget *b, struct budget_stats *r)
{
	r->limit = b->limit;
	r->used = b->used;
	r->peak = b->peak;
	r->refused = b->refused;
}
