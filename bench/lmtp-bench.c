/* LMTP benchmark: starts `bounced serve` in a scratch directory, then
 *  1. N concurrent LMTP sessions (default 20) deliver distinct DSNs as fast as the server
 *     answers; prints durable messages/s (each 250 comes after the SQLite commit) and the
 *     p50/p99/max latency from MAIL to the final 250;
 *  2. opens 100 idle sessions (greeted, LHLO done) and prints the resident memory of the server
 *     process and of its parse workers.
 * usage: lmtp-bench BOUNCED [--sessions N] [--seconds S] [--idle N] [--workers N] */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Latencies kept per session: enough for 60 s at 10,000 messages/s over 20 sessions. */
#define BENCH_MAX_SAMPLES	(1u << 16)
/* Sessions the benchmark may open. */
#define BENCH_MAX_SESSIONS	1000

static char sock_path[108];
static double run_seconds = 10;
static atomic_bool stop_flag;
static atomic_uint next_id;

struct session {
	pthread_t th;
	int fd;
	unsigned int n;
	double *lat;	/* seconds */
	bool failed;
	char err[600];
};

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
connect_unix(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* Reads until `lines` final reply lines (not "NNN-") have arrived; the last one is copied to
 * last. Returns false on EOF or a reply that does not start with want (a digit). */
static bool
read_replies(int fd, int lines, char want, char *last, size_t lastsize)
{
	static __thread char buf[8192];
	static __thread size_t have;
	int seen = 0;
	bool ok = true;
	while (seen < lines) {
		char *nl;
		while ((nl = memchr(buf, '\n', have)) != NULL) {
			size_t l = (size_t)(nl - buf) + 1;
			if (l >= 4 && buf[3] != '-') {
				seen++;
				if (want != 0 && buf[0] != want)
					ok = false;
				snprintf(last, lastsize, "%.*s", (int)(l > 2 ? l - 2 : 0), buf);
			}
			memmove(buf, buf + l, have - l);
			have -= l;
			if (seen == lines)
				return ok;
		}
		/* Wait for input in poll(2) and then read, as Postfix's clients do (read_wait): a
		 * task blocked in read(2) on a unix socket is also woken each time the server drains
		 * what it sent, which would bill the server for wakeups no real client causes. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return false;
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r <= 0)
			return false;
		have += (size_t)r;
	}
	return ok;
}

static void *
session_main(void *arg)
{
	struct session *s = arg;
	char last[512];
	s->fd = connect_unix();
	if (s->fd < 0 || !read_replies(s->fd, 1, '2', last, sizeof last) ||
	    !send_all(s->fd, "LHLO bench.test\r\n", 17) || !read_replies(s->fd, 1, '2', last, sizeof last)) {
		snprintf(s->err, sizeof s->err, "session setup failed");
		s->failed = true;
		return NULL;
	}
	char msg[4096];
	while (!atomic_load(&stop_flag) && s->n < BENCH_MAX_SAMPLES) {
		unsigned int id = atomic_fetch_add(&next_id, 1);
		int len = snprintf(msg, sizeof msg,
		    "MAIL FROM:<> BODY=8BITMIME\r\nRCPT TO:<bounces+u%u=example.com@bounce.test>\r\nDATA\r\n"
		    "Received: from mx.sender.test by bounce.test (Postfix) with ESMTP id B%08X\r\n"
		    "From: MAILER-DAEMON@mx.sender.test\r\nTo: bounces+u%u=example.com@bounce.test\r\n"
		    "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bench-%u@mx.sender.test>\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
		    "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
		    "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.sender.test\r\n\r\n"
		    "Final-Recipient: rfc822; u%u@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
		    "Diagnostic-Code: smtp; 550 5.1.1 <u%u@example.com>: User unknown\r\n\r\n"
		    "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: app@sender.test\r\n"
		    "To: u%u@example.com\r\nSubject: hello\r\n\r\n--B--\r\n.\r\n",
		    id, id, id, id, id, id, id);
		if (len < 0 || (size_t)len >= sizeof msg)
			abort();
		double t0 = now();
		/* MAIL, RCPT and DATA pipelined; the body after 354 (RFC 2920). */
		const char *body = strstr(msg, "Received:");
		if (!send_all(s->fd, msg, (size_t)(body - msg)) ||
		    !read_replies(s->fd, 3, 0, last, sizeof last) || last[0] != '3' ||
		    !send_all(s->fd, body, (size_t)len - (size_t)(body - msg)) ||
		    !read_replies(s->fd, 1, '2', last, sizeof last)) {
			snprintf(s->err, sizeof s->err, "message %u: %s", id, last);
			s->failed = true;
			return NULL;
		}
		s->lat[s->n++] = now() - t0;
	}
	send_all(s->fd, "QUIT\r\n", 6);
	close(s->fd);
	return NULL;
}

static double
loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f != NULL) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* VmRSS of pid in KiB, or -1. */
static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	long kib = -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* CPU seconds (user + system, all threads) used by pid so far, or -1. */
static double
cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');	/* the command name may hold spaces */
	unsigned long ut, st;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of pid and its children (the parse workers). */
static double
tree_cpu_seconds(pid_t pid)
{
	double sum = cpu_seconds(pid);
	char path[96];
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
	FILE *f = fopen(path, "r");
	long child;
	while (f != NULL && fscanf(f, "%ld", &child) == 1)
		sum += cpu_seconds((pid_t)child);
	if (f != NULL)
		fclose(f);
	return sum;
}

/* Sum of VmRSS of the children of pid (the parse workers). */
static long
children_rss_kib(pid_t pid, int *n_r)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
	FILE *f = fopen(path, "r");
	long sum = 0;
	*n_r = 0;
	if (f == NULL)
		return -1;
	long child;
	while (fscanf(f, "%ld", &child) == 1) {
		long k = rss_kib((pid_t)child);
		if (k > 0) {
			sum += k;
			(*n_r)++;
		}
	}
	fclose(f);
	return sum;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: lmtp-bench BOUNCED [--sessions N] [--seconds S] [--idle N] [--workers N]\n");
		return 2;
	}
	const char *exe = argv[1];
	int nsessions = 20, nidle = 100;
	const char *workers = NULL;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--sessions") == 0)
			nsessions = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			run_seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--idle") == 0)
			nidle = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--workers") == 0)
			workers = argv[i + 1];
	}
	if (nsessions < 1 || nsessions > BENCH_MAX_SESSIONS || nidle < 0 || nidle > BENCH_MAX_SESSIONS) {
		fprintf(stderr, "lmtp-bench: sessions and idle take 1 to %d\n", BENCH_MAX_SESSIONS);
		return 2;
	}
	char dir[] = "/tmp/lmtp-bench-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof sock_path, "%s/lmtp.sock", dir);
	char db[128], listen[160], conf[128];
	snprintf(db, sizeof db, "%s/bounced.db", dir);
	snprintf(listen, sizeof listen, "unix:%s", sock_path);
	snprintf(conf, sizeof conf, "%s/bounced.conf", dir);
	FILE *cf = fopen(conf, "w");
	if (cf == NULL) {
		perror(conf);
		return 1;
	}
	fprintf(cf, "[lmtp]\nmax_sessions = %d\n", nsessions + nidle + 10);
	fclose(cf);
	char logpath[128];
	snprintf(logpath, sizeof logpath, "%s/bounced.log", dir);

	pid_t pid = fork();
	if (pid == 0) {
		FILE *lf = freopen(logpath, "w", stderr);
		(void)lf;
		if (workers != NULL)
			execl(exe, exe, "serve", "--config", conf, "--db", db, "--listen", listen,
			    "--workers", workers, (char *)NULL);
		else
			execl(exe, exe, "serve", "--config", conf, "--db", db, "--listen", listen, (char *)NULL);
		_exit(127);
	}
	int fd = -1;
	for (int i = 0; i < 200 && fd < 0; i++) {
		usleep(50000);
		fd = connect_unix();
	}
	if (fd < 0) {
		fprintf(stderr, "lmtp-bench: bounced did not start (log in %s)\n", logpath);
		kill(pid, SIGKILL);
		return 1;
	}
	close(fd);
	long rss_start = rss_kib(pid);

	struct session *ss = calloc((size_t)nsessions, sizeof *ss);
	for (int i = 0; i < nsessions; i++) {
		ss[i].lat = calloc(BENCH_MAX_SAMPLES, sizeof(double));
		pthread_create(&ss[i].th, NULL, session_main, &ss[i]);
	}
	double t0 = now();
	double cpu0 = tree_cpu_seconds(pid);
	usleep((useconds_t)(run_seconds * 1e6));
	double cpu1 = tree_cpu_seconds(pid);	/* before the workers could be replaced */
	atomic_store(&stop_flag, true);
	size_t total = 0;
	bool failed = false;
	for (int i = 0; i < nsessions; i++) {
		pthread_join(ss[i].th, NULL);
		total += ss[i].n;
		if (ss[i].failed) {
			fprintf(stderr, "lmtp-bench: session %d: %s\n", i, ss[i].err);
			failed = true;
		}
	}
	double elapsed = now() - t0;
	double *all = malloc((total + 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < nsessions; i++)
		for (unsigned int j = 0; j < ss[i].n; j++)
			all[k++] = ss[i].lat[j];
	qsort(all, total, sizeof *all, cmp_double);
	printf("lmtp-bench: %d concurrent sessions, %.1f s, one DSN per transaction (distinct content)\n",
	    nsessions, elapsed);
	if (total > 0)
		printf("  durable messages/s: %.0f (%zu messages, 250 after the SQLite commit)\n"
		    "  latency MAIL..final 250: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		    (double)total / elapsed, total, all[total / 2] * 1e3, all[(size_t)((double)total * 0.99)] * 1e3,
		    all[total - 1] * 1e3);
	if (total > 0 && cpu1 > cpu0) {
		double per = (cpu1 - cpu0) / ((double)total * run_seconds / elapsed);
		printf("  CPU of bounced (server, committer and workers): %.0f us per message, i.e. %.0f "
		    "messages/s per core if CPU were the limit; load average now %.1f\n",
		    per * 1e6, 1.0 / per, loadavg());
	}

	/* Idle sessions: greeted and LHLO'd, then left open. */
	int *idle = calloc((size_t)nidle + 1, sizeof *idle);
	int opened = 0;
	for (int i = 0; i < nidle; i++) {
		char last[512];
		idle[i] = connect_unix();
		if (idle[i] < 0 || !read_replies(idle[i], 1, '2', last, sizeof last) ||
		    !send_all(idle[i], "LHLO idle.test\r\n", 16) || !read_replies(idle[i], 1, '2', last, sizeof last))
			break;
		opened++;
	}
	usleep(200000);
	int nworkers;
	long wrss = children_rss_kib(pid, &nworkers);
	printf("  resident memory: server %.1f MiB at start, %.1f MiB with %d idle sessions open "
	    "(after the run); %d parse workers %.1f MiB together\n",
	    (double)rss_start / 1024, (double)rss_kib(pid) / 1024, opened, nworkers, (double)wrss / 1024);
	for (int i = 0; i < opened; i++)
		close(idle[i]);

	kill(pid, SIGTERM);
	int status;
	waitpid(pid, &status, 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (!failed && system(cmd) != 0)
		fprintf(stderr, "lmtp-bench: could not remove %s\n", dir);
	for (int i = 0; i < nsessions; i++)
		free(ss[i].lat);
	free(ss);
	free(all);
	free(idle);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "lmtp-bench: bounced exited with status %d\n", status);
		return 1;
	}
	return failed ? 1 : 0;
}
