/* Throughput of mime_parse alone: reads every file of a directory into memory, then parses the
 * whole set repeatedly for about two seconds of CPU time. Not a test; prints messages/s and MB/s
 * per CPU second.
 *   build/tests/mime/bench-mime ../shared/corpus/eml */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"
#include "strbuf.h"

struct msg {
	char *p;
	size_t len;
};

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);	/* CPU time: stable on a busy machine */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench-mime DIR\n");
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (d == NULL) {
		perror(argv[1]);
		return 1;
	}
	struct msg *msgs = NULL;
	size_t n = 0, cap = 0, bytes = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		if (snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name) >= (int)sizeof path)
			continue;
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		struct strbuf b = STRBUF_INIT;
		char buf[65536];
		size_t r;
		while ((r = fread(buf, 1, sizeof buf, f)) > 0)
			strbuf_append(&b, buf, r);
		fclose(f);
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			msgs = xrealloc(msgs, cap * sizeof *msgs);
		}
		msgs[n].len = b.len;
		msgs[n].p = strbuf_detach(&b);
		bytes += msgs[n].len;
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "no messages in %s\n", argv[1]);
		return 1;
	}
	size_t rounds = 0;
	double t0 = now(), t;
	do {
		for (size_t i = 0; i < n; i++)
			mime_message_free(mime_parse(msgs[i].p, msgs[i].len));
		rounds++;
	} while ((t = now() - t0) < 2.0);
	printf("%zu messages (%.1f KB average), %zu rounds in %.2f CPU s: %.0f messages/s, %.1f MB/s\n",
	       n, (double)bytes / n / 1024, rounds, t, (double)(n * rounds) / t,
	       (double)(bytes * rounds) / t / 1e6);
	for (size_t i = 0; i < n; i++)
		free(msgs[i].p);
	free(msgs);
	return 0;
}
