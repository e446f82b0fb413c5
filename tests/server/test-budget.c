/* The memory budget as a table: each row is a sequence of operations on a fresh budget and the
 * result of each, then the counters it leaves. */
#include <stdio.h>
#include <string.h>

#include "budget.h"

enum op { END = 0, RESERVE, RELEASE, GROW, LIMIT };

struct step {
	enum op op;
	size_t n;		/* bytes (GROW: the size wanted; LIMIT: the new limit) */
	bool ok;		/* RESERVE/GROW: the answer expected */
	size_t held;		/* GROW: the held count afterwards */
};

#define ROW_STEPS	8

static const struct row {
	const char *name;
	size_t limit;
	struct step steps[ROW_STEPS];
	size_t used, peak;
	unsigned long long refused;
} rows[] = {
	{ "reserve within the limit", 100, { { RESERVE, 60, true }, { RESERVE, 40, true } },
	  100, 100, 0 },
	{ "one byte over is refused, all or nothing", 100,
	  { { RESERVE, 60, true }, { RESERVE, 41, false }, { RESERVE, 40, true } }, 100, 100, 1 },
	{ "release makes room again", 100,
	  { { RESERVE, 100, true }, { RESERVE, 1, false }, { RELEASE, 50 }, { RESERVE, 50, true } },
	  100, 100, 1 },
	{ "zero bytes always succeed, even when full", 10,
	  { { RESERVE, 10, true }, { RESERVE, 0, true } }, 10, 10, 0 },
	{ "a limit of 0 refuses everything but 0", 0,
	  { { RESERVE, 1, false }, { RESERVE, 0, true } }, 0, 0, 1 },
	{ "a huge request does not wrap around", 100,
	  { { RESERVE, 50, true }, { RESERVE, (size_t)-1, false }, { RESERVE, (size_t)-60, false } },
	  50, 50, 2 },
	{ "grow reserves the difference only", 100,
	  { { GROW, 30, true, 30 }, { GROW, 80, true, 80 }, { GROW, 20, true, 80 } }, 80, 80, 0 },
	{ "grow past the limit keeps what is held", 100,
	  { { RESERVE, 50, true }, { GROW, 40, true, 40 }, { GROW, 60, false, 40 } }, 90, 90, 1 },
	{ "peak stays after release", 100,
	  { { RESERVE, 70, true }, { RELEASE, 70 }, { RESERVE, 10, true } }, 10, 70, 0 },
	{ "a lower limit refuses new reservations, keeps the old", 100,
	  { { RESERVE, 80, true }, { LIMIT, 50 }, { RESERVE, 1, false }, { RELEASE, 40 },
	    { RESERVE, 10, true }, { RESERVE, 1, false } }, 50, 80, 2 },
	{ "a higher limit makes room", 10,
	  { { RESERVE, 10, true }, { LIMIT, 20 }, { RESERVE, 10, true } }, 20, 20, 0 },
};

int
main(void)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct budget *b = budget_new(r->limit);
		size_t held = 0;
		bool bad = false;
		for (size_t k = 0; k < ROW_STEPS && r->steps[k].op != END; k++) {
			const struct step *s = &r->steps[k];
			bool ok = true;
			switch (s->op) {
			case RESERVE:
				ok = budget_reserve(b, s->n);
				break;
			case RELEASE:
				budget_release(b, s->n);
				break;
			case GROW:
				ok = budget_grow(b, &held, s->n);
				if (held != s->held) {
					printf("FAIL %s: step %zu: held %zu, want %zu\n", r->name, k,
					    held, s->held);
					bad = true;
				}
				break;
			case LIMIT:
				budget_set_limit(b, s->n);
				break;
			case END:
				break;
			}
			if ((s->op == RESERVE || s->op == GROW) && ok != s->ok) {
				printf("FAIL %s: step %zu: %s, want %s\n", r->name, k,
				    ok ? "granted" : "refused", s->ok ? "granted" : "refused");
				bad = true;
			}
		}
		struct budget_stats st;
		budget_stats(b, &st);
		if (st.used != r->used || st.peak != r->peak || st.refused != r->refused) {
			printf("FAIL %s: used %zu peak %zu refused %llu, want %zu %zu %llu\n", r->name,
			    st.used, st.peak, st.refused, r->used, r->peak, r->refused);
			bad = true;
		}
		budget_free(b);
		failures += bad;
	}
	printf("%zu rows, %d failures\n", sizeof rows / sizeof rows[0], failures);
	return failures != 0;
}
