/* Pre-forked parse workers. Frame to a worker: u32 rcpt_len, u32 data_len, rcpt, data (host
 * byte order: both ends are this binary). Frame back: u32 len, report_pack() bytes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lmtp.h"
#include "lmtp_worker.h"
#include "strbuf.h"

#if defined(__SANITIZE_ADDRESS__)
#define WORKER_NO_RLIMIT_AS 1	/* ASan reserves terabytes of shadow address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WORKER_NO_RLIMIT_AS 1
#endif
#endif

struct pjob {
	void *job;
	const char *rcpt;
	const char *data;
	size_t len;
	struct pjob *next;
};

struct worker {
	struct worker_pool *pool;
	pid_t pid;
	struct bufferevent *bev;
	struct event *timer;
	struct pjob *job;	/* being parsed, or NULL when idle */
	uint32_t want;		/* length of the reply being read; 0 = reading its header */
	bool have_len;
	bool retire;		/* replace after the current job */
};

struct worker_pool {
	struct event_base *base;
	worker_done_fn *done;
	void *ctx;
	struct worker_limits lim;
	const struct bounce_options *opt;
	struct worker **w;	/* slots; NULL = not running */
	size_t nslots;
	size_t n;		/* target count: slots at or over n are not refilled */
	struct pjob *head, **tail;
	struct event *kick;	/* fails queued jobs when no worker can be started */
};

static void dispatch(struct worker_pool *p);
static struct worker *worker_spawn(struct worker_pool *p);

/* ---- the worker process ----------------------------------------------------------------- */

/* Bytes a worker asks for per read(2): a whole frame (header, recipient and a typical bounce),
 * which the server sends with one writev, arrives in one call. */
#define WORKER_READ_CHUNK	(64u * 1024)

/* The worker's input: frames are taken from it, so a frame costs one read(2), not three. */
struct rbuf {
	char *p;
	size_t off, len, cap;
};

/* Makes n bytes available at b->p + b->off. Returns false on end of file or an error. */
static bool
rbuf_fill(int fd, struct rbuf *b, size_t n)
{
	if (b->len - b->off >= n)
		return true;
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	size_t want = n > WORKER_READ_CHUNK ? n : WORKER_READ_CHUNK;
	if (b->cap < want) {
		b->p = xrealloc(b->p, want);
		b->cap = want;
	}
	while (b->len < n) {
		/* Wait in poll(2), not in read(2): a task blocked in read on a unix socket is woken
		 * each time the server drains one of its replies (the kernel's write-space wakeup
		 * carries no filter for it), poll is woken only by input. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return false;
		ssize_t r = read(fd, b->p + b->len, b->cap - b->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b->len += (size_t)r;
	}
	return true;
}

/* A copy of the next n bytes (NUL-terminated: the parsers get a C string too), consumed. */
static char *
rbuf_take(struct rbuf *b, size_t n)
{
	char *s = xmalloc(n + 1);
	memcpy(s, b->p + b->off, n);
	s[n] = '\0';
	b->off += n;
	return s;
}

/* Drops a buffer grown past WORKER_READ_CHUNK by a large message once it is consumed, so one
 * big message does not keep the worker's memory up. */
static void
rbuf_trim(struct rbuf *b)
{
	if (b->off == b->len && b->cap > WORKER_READ_CHUNK) {
		free(b->p);
		memset(b, 0, sizeof *b);
	}
}

/* Writes both pieces, in one writev(2) when the socket takes them at once. */
static bool
write_full2(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	size_t done = 0, total = alen + blen;
	while (done < total) {
		struct iovec *v = iov;
		int nv = 2;
		size_t skip = done;
		if (skip >= alen) {
			skip -= alen;
			v++;
			nv--;
		}
		struct iovec cur[2];
		memcpy(cur, v, (size_t)nv * sizeof cur[0]);
		cur[0].iov_base = (char *)cur[0].iov_base + skip;
		cur[0].iov_len -= skip;
		ssize_t r = writev(fd, cur, nv);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

/* RLIMIT_CPU counts the whole life of the process: allow cpu_s more seconds from now. The
 * limit is in whole seconds, so it is set again only when that sum moved (*set is the last). */
static void
limit_cpu(unsigned int cpu_s, rlim_t *set)
{
	struct rusage ru;
	struct rlimit rl;
	if (cpu_s == 0 || getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	rlim_t used = (rlim_t)ru.ru_utime.tv_sec + (rlim_t)ru.ru_stime.tv_sec + 1;
	rlim_t want = used + cpu_s;
	if (want == *set || getrlimit(RLIMIT_CPU, &rl) != 0)
		return;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_CPU, &rl) == 0)
		*set = used + cpu_s;
}

static void __attribute__((noreturn))
worker_main(int fd, const struct worker_limits *lim, const struct bounce_options *opt)
{
#ifndef WORKER_NO_RLIMIT_AS
	if (lim->mem_mb != 0) {
		struct rlimit rl = { (rlim_t)lim->mem_mb * 1024 * 1024, (rlim_t)lim->mem_mb * 1024 * 1024 };
		setrlimit(RLIMIT_AS, &rl);
	}
#endif
	struct rbuf in = { 0 };
	rlim_t cpu_set = 0;
	for (;;) {
		uint32_t hdr[2];
		if (!rbuf_fill(fd, &in, sizeof hdr))
			_exit(0);
		memcpy(hdr, in.p + in.off, sizeof hdr);
		in.off += sizeof hdr;
		if (hdr[0] > LIMIT_ADDRESS_BYTES || hdr[1] > LMTP_MAX_MESSAGE)
			_exit(2);
		if (!rbuf_fill(fd, &in, (size_t)hdr[0] + hdr[1]))
			_exit(2);
		char *rcpt = rbuf_take(&in, hdr[0]);
		char *data = rbuf_take(&in, hdr[1]);
		rbuf_trim(&in);
		limit_cpu(lim->cpu_s, &cpu_set);
		struct bounce_options o = *opt;
		o.envelope_recipient = hdr[0] > 0 ? rcpt : NULL;
		struct bounce_report *rep = bounce_parse(data, hdr[1], &o);
		struct strbuf out = STRBUF_INIT;
		report_pack(rep, &out);
		uint32_t len = (uint32_t)out.len;
		if (out.len > WORKER_MAX_REPLY ||
		    !write_full2(fd, &len, sizeof len, out.s != NULL ? out.s : "", out.len))
			_exit(2);
		strbuf_free(&out);
		bounce_report_free(rep);
		free(rcpt);
		free(data);
	}
}

/* ---- the server side -------------------------------------------------------------------- */

static void
finish(struct worker_pool *p, struct pjob *j, struct bounce_report *rep, const char *why)
{
	void *job = j->job;
	free(j);
	p->done(p->ctx, job, rep, why);
}

static void
worker_stop(struct worker *w, char *why, size_t whysize)
{
	int status = 0;
	pid_t r = waitpid(w->pid, &status, WNOHANG);
	if (r == 0) {
		kill(w->pid, SIGKILL);
		r = waitpid(w->pid, &status, 0);
	}
	if (why != NULL) {
		if (r == w->pid && WIFSIGNALED(status))
			snprintf(why, whysize, "parse worker killed by signal %d%s", WTERMSIG(status),
			    WTERMSIG(status) == SIGXCPU ? " (CPU limit)" : "");
		else if (r == w->pid && WIFEXITED(status))
			snprintf(why, whysize, "parse worker exited with status %d", WEXITSTATUS(status));
		else
			snprintf(why, whysize, "parse worker lost");
	}
	bufferevent_free(w->bev);
	event_free(w->timer);
	for (size_t i = 0; i < w->pool->nslots; i++)
		if (w->pool->w[i] == w)
			w->pool->w[i] = NULL;
	free(w);
}

/* The worker died, misbehaved or overran: its message is failed as unparsed, the slot refilled. */
static void
worker_lost(struct worker *w, const char *what)
{
	struct worker_pool *p = w->pool;
	struct pjob *j = w->job;
	size_t slot = 0;
	while (slot < p->nslots && p->w[slot] != w)
		slot++;
	char why[128];
	worker_stop(w, why, sizeof why);
	if (what != NULL)
		snprintf(why, sizeof why, "%s", what);
	/* Replaced at once when it died on a message; one that died idle is replaced when the next
	 * message comes, so a worker that cannot start does not make the server fork in a loop. */
	if (j != NULL && slot < p->n)
		p->w[slot] = worker_spawn(p);
	if (j != NULL)
		finish(p, j, NULL, why);
	dispatch(p);
}

static void
worker_read(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		if (!w->have_len) {
			if (evbuffer_get_length(in) < sizeof w->want)
				return;
			evbuffer_remove(in, &w->want, sizeof w->want);
			w->have_len = true;
			if (w->want > WORKER_MAX_REPLY || w->job == NULL) {
				worker_lost(w, "parse worker sent a bad reply");
				return;
			}
		}
		if (evbuffer_get_length(in) < w->want)
			return;
		struct bounce_report *rep = report_unpack((const char *)evbuffer_pullup(in, w->want), w->want);
		evbuffer_drain(in, w->want);
		w->have_len = false;
		struct pjob *j = w->job;
		w->job = NULL;
		evtimer_del(w->timer);
		struct worker_pool *p = w->pool;
		if (w->retire)
			worker_stop(w, NULL, 0);
		finish(p, j, rep, rep == NULL ? "parse worker sent a bad report" : NULL);
		dispatch(p);
		return;	/* w may be gone; one reply per job anyway */
	}
}

static void
worker_event(struct bufferevent *bev, short what, void *arg)
{
	worker_lost(arg, NULL);
}

static void
worker_timeout(evutil_socket_t fd, short what, void *arg)
{
	worker_lost(arg, "parse worker overran its time and was killed");
}

static struct worker *
worker_spawn(struct worker_pool *p)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return NULL;
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		/* The child never returns to the event loop: plain signals, only its socket open. */
		static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE };
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sv[1], 3) < 0)
			_exit(2);
		close_range(4, ~0U, 0);
		worker_main(3, &p->lim, p->opt);
	}
	close(sv[1]);
	evutil_make_socket_nonblocking(sv[0]);
	struct worker *w = xcalloc(1, sizeof *w);
	w->pool = p;
	w->pid = pid;
	w->bev = bufferevent_socket_new(p->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	w->timer = evtimer_new(p->base, worker_timeout, w);
	bufferevent_setcb(w->bev, worker_read, NULL, worker_event, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	return w;
}

/* Writes the frame at once when nothing is queued for the worker (the common case: it is idle),
 * and queues the rest; the message bytes are referenced, not copied. */
static void
send_job(struct worker *w, const uint32_t hdr[2], const char *rcpt, size_t rlen, const char *data,
    size_t len)
{
	struct evbuffer *out = bufferevent_get_output(w->bev);
	size_t done = 0;
	if (evbuffer_get_length(out) == 0) {
		struct iovec iov[3] = {
			{ (void *)hdr, 2 * sizeof hdr[0] }, { (void *)rcpt, rlen }, { (void *)data, len },
		};
		ssize_t n = writev(bufferevent_getfd(w->bev), iov, 3);
		if (n > 0)
			done = (size_t)n;
	}
	size_t hlen = 2 * sizeof hdr[0];
	if (done < hlen)
		evbuffer_add(out, (const char *)hdr + done, hlen - done);
	done = done > hlen ? done - hlen : 0;
	if (done < rlen)
		evbuffer_add(out, rcpt + done, rlen - done);
	done = done > rlen ? done - rlen : 0;
	if (done < len)
		evbuffer_add_reference(out, data + done, len - done, NULL, NULL);
}

static void
kick(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *p = arg;
	dispatch(p);
}

static void
dispatch(struct worker_pool *p)
{
	size_t running = 0;
	for (size_t i = 0; i < p->nslots && p->head != NULL; i++) {
		struct worker *w = p->w[i];
		if (w != NULL && w->retire && w->job == NULL) {
			worker_stop(w, NULL, 0);
			w = NULL;
		}
		if (w == NULL && i < p->n)
			w = p->w[i] = worker_spawn(p);
		if (w == NULL)
			continue;
		running++;
		if (w->job != NULL)
			continue;
		struct pjob *j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = &p->head;
		w->job = j;
		uint32_t rlen = j->rcpt != NULL ? (uint32_t)strnlen(j->rcpt, LIMIT_ADDRESS_BYTES) : 0;
		uint32_t hdr[2] = { rlen, (uint32_t)j->len };
		send_job(w, hdr, j->rcpt != NULL ? j->rcpt : "", rlen, j->data, j->len);
		struct timeval tv = { (time_t)p->lim.cpu_s + WORKER_WALL_SLACK_S, 0 };
		evtimer_add(w->timer, &tv);
	}
	if (running == 0 && p->head != NULL) {
		/* No worker can be started (fork failing): the messages are stored unparsed rather
		 * than left waiting. */
		while (p->head != NULL) {
			struct pjob *j = p->head;
			p->head = j->next;
			finish(p, j, NULL, "no parse worker could be started");
		}
		p->tail = &p->head;
	}
}

struct worker_pool *
worker_pool_new(struct event_base *base, size_t n, const struct worker_limits *lim,
    const struct bounce_options *opt, worker_done_fn *done, void *ctx)
{
	struct worker_pool *p = xcalloc(1, sizeof *p);
	p->base = base;
	p->done = done;
	p->ctx = ctx;
	p->tail = &p->head;
	p->kick = event_new(base, -1, 0, kick, p);
	worker_pool_reload(p, n, lim, opt);
	size_t started = 0;
	for (size_t i = 0; i < p->n; i++)
		if ((p->w[i] = worker_spawn(p)) != NULL)
			started++;
	if (started == 0) {
		worker_pool_free(p);
		return NULL;
	}
	return p;
}

void
worker_pool_reload(struct worker_pool *p, size_t n, const struct worker_limits *lim,
    const struct bounce_options *opt)
{
	if (n == 0)
		n = 1;
	p->lim = *lim;
	p->opt = opt;
	if (n > p->nslots) {
		p->w = xrealloc(p->w, n * sizeof *p->w);
		memset(p->w + p->nslots, 0, (n - p->nslots) * sizeof *p->w);
		p->nslots = n;
	}
	p->n = n;
	for (size_t i = 0; i < p->nslots; i++) {
		struct worker *w = p->w[i];
		if (w == NULL)
			continue;
		if (w->job != NULL)
			w->retire = true;
		else {
			worker_stop(w, NULL, 0);
			if (i < p->n)
				p->w[i] = worker_spawn(p);
		}
	}
}

void
worker_pool_submit(struct worker_pool *p, void *job, const char *rcpt, const char *data, size_t len)
{
	struct pjob *j = xcalloc(1, sizeof *j);
	j->job = job;
	j->rcpt = rcpt;
	j->data = data;
	j->len = len;
	*p->tail = j;
	p->tail = &j->next;
	event_active(p->kick, 0, 0);
}

void
worker_pool_free(struct worker_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nslots; i++) {
		struct worker *w = p->w[i];
		if (w == NULL)
			continue;
		struct pjob *j = w->job;
		worker_stop(w, NULL, 0);
		if (j != NULL)
			finish(p, j, NULL, "server stopping");
	}
	while (p->head != NULL) {
		struct pjob *j = p->head;
		p->head = j->next;
		finish(p, j, NULL, "server stopping");
	}
	event_free(p->kick);
	free(p->w);
	free(p);
}
