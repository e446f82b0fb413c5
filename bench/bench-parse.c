/* Parse and classify throughput, single-threaded: loads every message of the given paths (files,
 * directories, Maildir, mbox) into memory first, so that file I/O is not measured, then runs
 * bounce_parse over all of them --repeat times and prints messages/s and MB/s. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "input.h"
#include "rules.h"

struct msgs {
	char **data;
	size_t *len;
	size_t n, cap, bytes;
};

static int
collect(const char *source, const char *data, size_t len, void *arg)
{
	struct msgs *m = arg;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->data = xrealloc(m->data, m->cap * sizeof m->data[0]);
		m->len = xrealloc(m->len, m->cap * sizeof m->len[0]);
	}
	m->data[m->n] = xmalloc(len + 1);
	memcpy(m->data[m->n], data, len);
	m->len[m->n++] = len;
	m->bytes += len;
	return 0;
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	int repeat = 1, first = 1;
	if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
		repeat = atoi(argv[2]);
		first = 3;
	}
	if (first >= argc || repeat < 1) {
		fprintf(stderr, "usage: bench-parse [--repeat N] PATH...\n");
		return 2;
	}
	struct msgs m = { 0 };
	for (int i = first; i < argc; i++) {
		char *err = NULL;
		if (input_each(argv[i], collect, &m, &err) < 0) {
			fprintf(stderr, "bench-parse: %s\n", err);
			return 1;
		}
	}
	/* As bounced's main() does: keep freed memory instead of returning it to the system after
	 * each large message. */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
	/* compile once, outside the measurement, and keep one scratch, as the daemon does */
	struct bounce_options opt = { .rules = rules_builtin(), .scratch = rules_scratch_new() };
	size_t kinds[5] = { 0 };
	double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (int r = 0; r < repeat; r++) {
		for (size_t i = 0; i < m.n; i++) {
			struct bounce_report *rep = bounce_parse(m.data[i], m.len[i], &opt);
			kinds[rep->kind]++;
			bounce_report_free(rep);
		}
	}
	double dt = clock_s(CLOCK_MONOTONIC) - t0, ct = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	double n = (double)m.n * repeat, mb = (double)m.bytes * repeat / 1e6;
	/* CPU time is the figure that holds on a busy machine; wall time is printed beside it. */
	printf("messages=%zu repeat=%d bytes=%zu cpu_s=%.3f wall_s=%.3f msgs_per_cpu_s=%.0f "
	    "mb_per_cpu_s=%.1f msgs_per_wall_s=%.0f\n", m.n, repeat, m.bytes, ct, dt, n / ct, mb / ct,
	    n / dt);
	printf("kinds: none=%zu dsn=%zu arf=%zu autoreply=%zu heuristic=%zu\n",
	    kinds[0], kinds[1], kinds[2], kinds[3], kinds[4]);
	rules_scratch_free(opt.scratch);
	for (size_t i = 0; i < m.n; i++)
		free(m.data[i]);
	free(m.data);
	free(m.len);
	return 0;
}
