/* Webhook benchmark: starts `bounced serve` with an HTTP listener on a unix socket and a
 * [webhook brevo] section (bearer token: the check costs next to nothing, so what is measured
 * is the listener, the mapping, the classifier, the policy and the durable commit), then N
 * concurrent clients (default 20), each on a keep-alive connection, post distinct hard-bounce
 * events as fast as the server answers. Every 200 comes after the SQLite commit that holds the
 * event (synchronous=FULL): the figure is durable events per second. With --batch B, each
 * request carries B events (a JSON array, as SendGrid and Mailjet batch them). At the end the
 * events in the database are counted against the 200s.
 * usage: webhook-bench BOUNCED [--clients N] [--seconds S] [--batch B] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Latencies kept per client: 60 s at 10,000 requests/s over 20 clients. */
#define BENCH_MAX_SAMPLES	(1u << 16)
#define BENCH_MAX_CLIENTS	200
/* Events in one request at most (the server's own limit is WEBHOOK_EVENTS_MAX). */
#define BENCH_MAX_BATCH		1000

static char sock_path[108];
static double run_seconds = 10;
static unsigned int batch = 1;
static atomic_bool stop_flag;
static atomic_uint next_id;

struct client {
	pthread_t th;
	unsigned int requests, events;
	double *lat;
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

/* Reads one HTTP response (headers and a Content-Length body); returns its status, or -1. */
static int
read_response(int fd, char *body, size_t bodysize)
{
	static __thread char buf[16384];
	static __thread size_t have;
	for (;;) {
		char *end = memmem(buf, have, "\r\n\r\n", 4);
		if (end != NULL) {
			size_t hlen = (size_t)(end - buf) + 4;
			int status = 0;
			if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
				return -1;
			const char *cl = memmem(buf, hlen, "Content-Length: ", 16);
			size_t blen = cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;
			if (hlen + blen > sizeof buf)
				return -1;
			if (have >= hlen + blen) {
				snprintf(body, bodysize, "%.*s", (int)blen, buf + hlen);
				memmove(buf, buf + hlen + blen, have - hlen - blen);
				have -= hlen + blen;
				return status;
			}
		}
		if (have == sizeof buf)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	int fd = connect_unix();
	if (fd < 0) {
		snprintf(c->err, sizeof c->err, "cannot connect");
		c->failed = true;
		return NULL;
	}
	size_t cap = 256 + (size_t)batch * 200;
	char *json = malloc(cap), *req = malloc(cap + 512), body[4096];
	while (!atomic_load(&stop_flag) && c->requests < BENCH_MAX_SAMPLES) {
		size_t len = 0;
		if (batch > 1)
			json[len++] = '[';
		for (unsigned int i = 0; i < batch; i++) {
			unsigned int id = atomic_fetch_add(&next_id, 1);
			len += (size_t)snprintf(json + len, cap - len, "%s{\"event\":\"hard_bounce\","
			    "\"email\":\"u%u@example.com\",\"message-id\":\"<bench-%u@app.test>\","
			    "\"reason\":\"550 5.1.1 user unknown\",\"ts_event\":%u}", i ? "," : "", id,
			    id, id);
		}
		if (batch > 1)
			json[len++] = ']';
		int hl = snprintf(req, cap + 512, "POST /webhooks/brevo HTTP/1.1\r\nHost: bench\r\n"
		    "Authorization: Bearer bench-token\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
		memcpy(req + hl, json, len);
		double t0 = now();
		int st;
		if (!send_all(fd, req, (size_t)hl + len) ||
		    (st = read_response(fd, body, sizeof body)) != 200) {
			snprintf(c->err, sizeof c->err, "request %u: %.500s", c->requests, body);
			c->failed = true;
			break;
		}
		c->lat[c->requests++] = now() - t0;
		c->events += batch;
	}
	free(json);
	free(req);
	close(fd);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
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
	const char *p = strrchr(buf, ')');
	unsigned long ut, st;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	    &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: webhook-bench BOUNCED [--clients N] [--seconds S] [--batch B]\n");
		return 2;
	}
	const char *exe = argv[1];
	unsigned int nclients = 20;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--clients") == 0)
			nclients = (unsigned int)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			run_seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--batch") == 0)
			batch = (unsigned int)atoi(argv[i + 1]);
	}
	if (nclients < 1 || nclients > BENCH_MAX_CLIENTS || batch < 1 || batch > BENCH_MAX_BATCH ||
	    run_seconds <= 0) {
		fprintf(stderr, "webhook-bench: clients 1..%d, batch 1..%d, seconds > 0\n",
		    BENCH_MAX_CLIENTS, BENCH_MAX_BATCH);
		return 2;
	}
	char dir[] = "/tmp/webhook-bench-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char conf[160], db[160], token[160], lmtp[160], http[160];
	snprintf(conf, sizeof conf, "%s/bounced.conf", dir);
	snprintf(db, sizeof db, "%s/bounced.db", dir);
	snprintf(token, sizeof token, "%s/brevo.token", dir);
	snprintf(lmtp, sizeof lmtp, "unix:%s/lmtp.sock", dir);
	snprintf(http, sizeof http, "http:unix:%s/http.sock", dir);
	snprintf(sock_path, sizeof sock_path, "%s/http.sock", dir);
	FILE *f = fopen(token, "w");
	fputs("bench-token\n", f);
	fclose(f);
	f = fopen(conf, "w");
	fprintf(f, "[http]\nmax_connections = %u\n[webhook brevo]\ntoken_file = %s\n",
	    nclients + 8, token);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", 1);
		dup2(null, 2);
		execl(exe, exe, "serve", "--config", conf, "--db", db, "--listen", lmtp, "--listen",
		    http, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		int fd = connect_unix();
		if (fd >= 0) {
			close(fd);
			break;
		}
		usleep(50000);
	}
	struct client *cl = calloc(nclients, sizeof *cl);
	double cpu0 = cpu_seconds(pid), t0 = now();
	for (unsigned int i = 0; i < nclients; i++) {
		cl[i].lat = malloc(BENCH_MAX_SAMPLES * sizeof(double));
		pthread_create(&cl[i].th, NULL, client_main, &cl[i]);
	}
	usleep((useconds_t)(run_seconds * 1e6));
	atomic_store(&stop_flag, true);
	unsigned long long requests = 0, events = 0;
	for (unsigned int i = 0; i < nclients; i++) {
		pthread_join(cl[i].th, NULL);
		requests += cl[i].requests;
		events += cl[i].events;
		if (cl[i].failed)
			fprintf(stderr, "client %u: %s\n", i, cl[i].err);
	}
	double elapsed = now() - t0, cpu1 = cpu_seconds(pid);
	double *all = malloc((requests + 1) * sizeof(double));
	size_t n = 0;
	for (unsigned int i = 0; i < nclients; i++)
		for (unsigned int k = 0; k < cl[i].requests; k++)
			all[n++] = cl[i].lat[k];
	qsort(all, n, sizeof(double), cmp_double);
	kill(pid, SIGTERM);
	int status;
	waitpid(pid, &status, 0);
	char cmd[300], line[64] = "";
	snprintf(cmd, sizeof cmd, "sqlite3 %s 'SELECT count(*) FROM events'", db);
	FILE *p = popen(cmd, "r");
	if (p != NULL) {
		if (fgets(line, sizeof line, p) == NULL)
			line[0] = '\0';
		pclose(p);
	}
	unsigned long long in_db = strtoull(line, NULL, 10);
	printf("webhook-bench: %u clients, %u event%s per request, %.1f s\n", nclients, batch,
	    batch == 1 ? "" : "s", elapsed);
	printf("  durable events/s:  %.0f (%llu requests answered 200, %llu events)\n",
	    (double)events / elapsed, requests, events);
	if (n > 0)
		printf("  latency per request: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		    all[n / 2] * 1e3, all[n * 99 / 100] * 1e3, all[n - 1] * 1e3);
	if (events > 0 && cpu1 > cpu0)
		printf("  bounced CPU: %.0f us per event\n", (cpu1 - cpu0) * 1e6 / (double)events);
	printf("  events in the database: %llu (%s)\n", in_db, in_db >= events ? "every 200 is there" :
	    "MISSING EVENTS");
	char rm[200];
	snprintf(rm, sizeof rm, "rm -rf %s", dir);
	if (system(rm) != 0)
		fprintf(stderr, "webhook-bench: could not remove %s\n", dir);
	return in_db >= events && events > 0 ? 0 : 1;
}
