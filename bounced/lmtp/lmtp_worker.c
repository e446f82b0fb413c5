/* Parse workers, exec'd and confined (lmtp_worker.h). Frames (host byte order: both ends are this
 * binary): first the setup, u32 len then setup_pack()'s bytes; then per message u32 rcpt_len,
 * u32 data_len, rcpt, data. Frame back: u32 len, report_pack() bytes. */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
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

#include "commands.h"
#include "lmtp.h"
#include "lmtp_worker.h"
#include "log.h"
#include "rules.h"
#include "sandbox.h"
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
	struct strbuf setup;	/* setup_pack() of the current worker_setup */
	char **env;		/* the workers' environment (worker_env) */
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

/* Largest setup frame: two paths, a prefix and a key (each a few KiB at most). */
#define WORKER_MAX_SETUP	(64u * 1024)

static void
pack_u32(struct strbuf *b, uint32_t v)
{
	strbuf_append(b, (const char *)&v, sizeof v);
}

static void
pack_bytes(struct strbuf *b, const void *p, size_t n)
{
	pack_u32(b, (uint32_t)n);
	strbuf_append(b, p != NULL ? p : "", n);
}

/* The setup frame's payload: cpu_s, mem_mb, separator, at_char, require_signature, which of
 * the rules paths are set, then rules_dir, rules_local, prefix and key, each length-counted. */
static void
setup_pack(const struct worker_setup *ws, struct strbuf *b)
{
	strbuf_reset(b);
	pack_u32(b, ws->lim.cpu_s);
	pack_u32(b, ws->lim.mem_mb);
	const struct verp_config *v = ws->verp;
	char flags[4] = { v->separator, v->at_char, (char)v->require_signature,
	    (char)((ws->rules_dir != NULL) | (ws->rules_local != NULL) << 1) };
	strbuf_append(b, flags, sizeof flags);
	pack_bytes(b, ws->rules_dir, ws->rules_dir != NULL ? strlen(ws->rules_dir) : 0);
	pack_bytes(b, ws->rules_local, ws->rules_local != NULL ? strlen(ws->rules_local) : 0);
	pack_bytes(b, v->prefix, v->prefix != NULL ? strlen(v->prefix) : 0);
	pack_bytes(b, v->key, v->key != NULL ? v->key_len : 0);
}

/* Reads a length-counted piece at *p (left bytes): a NUL-terminated copy (caller frees), or
 * NULL when the frame is short. */
static char *
unpack_bytes(const char **p, size_t *left, size_t *len_r)
{
	uint32_t n;
	if (*left < sizeof n)
		return NULL;
	memcpy(&n, *p, sizeof n);
	*p += sizeof n;
	*left -= sizeof n;
	if (n > *left)
		return NULL;
	char *s = xstrndup(*p, n);
	*p += n;
	*left -= n;
	if (len_r != NULL)
		*len_r = n;
	return s;
}

/* Charsets whose iconv converters a worker opens before it confines itself: glibc loads a
 * converter's module from disk on first use, which the sandbox forbids; a module stays loaded
 * while one of its converters is open. The charsets of the mail bounces come in (the
 * corpus's, codec.c's aliases and their Japanese siblings) and the common single-byte ones. A
 * message in a charset outside this list costs the worker its life, and the message is stored
 * unparsed (250), as for any worker crash. */
static const char *const warm_charsets[] = {
	"ISO-8859-1", "ISO-8859-2", "ISO-8859-3", "ISO-8859-4", "ISO-8859-5", "ISO-8859-6",
	"ISO-8859-7", "ISO-8859-8", "ISO-8859-9", "ISO-8859-10", "ISO-8859-11", "ISO-8859-13",
	"ISO-8859-14", "ISO-8859-15", "ISO-8859-16",
	"CP1250", "CP1251", "CP1252", "CP1253", "CP1254", "CP1255", "CP1256", "CP1257", "CP1258",
	"KOI8-R", "KOI8-U", "CP866", "CP437", "CP850", "CP874", "TIS-620", "MACINTOSH",
	"ISO-2022-JP", "ISO-2022-JP-2", "EUC-JP", "SHIFT_JIS", "CP932",
	"EUC-KR", "CP949", "ISO-2022-KR", "GB18030", "GBK", "GB2312", "BIG5", "BIG5-HKSCS", "EUC-TW",
	"UTF-7", "UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "UCS-2", "VISCII",
};

/* What a worker owns after reading its setup. */
struct wsetup {
	struct worker_limits lim;
	struct verp_config verp;
	char *rules_dir, *rules_local, *prefix;
	unsigned char *key;
	struct rules *rules;
	struct bounce_options opt;
	iconv_t warm[sizeof warm_charsets / sizeof warm_charsets[0]];
};

static bool
setup_unpack(const char *p, size_t len, struct wsetup *w)
{
	if (len < 2 * sizeof(uint32_t) + 4)
		return false;
	memcpy(&w->lim.cpu_s, p, sizeof(uint32_t));
	memcpy(&w->lim.mem_mb, p + sizeof(uint32_t), sizeof(uint32_t));
	p += 2 * sizeof(uint32_t);
	len -= 2 * sizeof(uint32_t);
	verp_config_default(&w->verp);
	w->verp.separator = p[0];
	w->verp.at_char = p[1];
	w->verp.require_signature = p[2] != 0;
	int which = p[3];
	p += 4;
	len -= 4;
	size_t klen = 0;
	w->rules_dir = unpack_bytes(&p, &len, NULL);
	w->rules_local = unpack_bytes(&p, &len, NULL);
	w->prefix = unpack_bytes(&p, &len, NULL);
	w->key = (unsigned char *)unpack_bytes(&p, &len, &klen);
	if (w->key == NULL || len != 0)
		return false;
	if (!(which & 1)) {
		free(w->rules_dir);
		w->rules_dir = NULL;
	}
	if (!(which & 2)) {
		free(w->rules_local);
		w->rules_local = NULL;
	}
	w->verp.prefix = w->prefix;
	if (klen > 0) {
		w->verp.key = w->key;
		w->verp.key_len = klen;
	}
	return true;
}

/* A bounce that takes the parsers through their first-use set-up (libetpan's MIME walk, encoded
 * words, a DSN, the rules and their match stacks) before the sandbox is on. */
static const char warm_message[] =
    "From: MAILER-DAEMON@warm.invalid\r\n"
    "To: =?ISO-8859-1?Q?J=F6rg?= <bounces@warm.invalid>\r\n"
    "Subject: =?UTF-8?B?VW5kZWxpdmVyZWQ=?= Mail Returned to Sender\r\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <warm@warm.invalid>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"W\"\r\n"
    "\r\n--W\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<joe@warm.invalid>: host mx.warm.invalid said: 550 5.1.1 User unknown =E9\r\n"
    "\r\n--W\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.warm.invalid\r\n\r\n"
    "Final-Recipient: rfc822; joe@warm.invalid\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <joe@warm.invalid>: Recipient address rejected\r\n"
    "\r\n--W\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    "From: app@warm.invalid\r\nTo: joe@warm.invalid\r\n\r\n--W--\r\n";

static int
worker_serve(int fd, struct rbuf *inp, struct wsetup *w, const char *test_open)
{
	struct rbuf in = *inp;
	rlim_t cpu_set = 0;
	for (;;) {
		uint32_t hdr[2];
		if (!rbuf_fill(fd, &in, sizeof hdr))
			return EXIT_OK;
		memcpy(hdr, in.p + in.off, sizeof hdr);
		in.off += sizeof hdr;
		if (hdr[0] > LIMIT_ADDRESS_BYTES || hdr[1] > LMTP_MAX_MESSAGE)
			return EXIT_SOFTWARE;
		if (!rbuf_fill(fd, &in, (size_t)hdr[0] + hdr[1]))
			return EXIT_SOFTWARE;
		char *rcpt = rbuf_take(&in, hdr[0]);
		char *data = rbuf_take(&in, hdr[1]);
		rbuf_trim(&in);
		limit_cpu(w->lim.cpu_s, &cpu_set);
		if (test_open != NULL && memmem(data, hdr[1], test_open, strlen(test_open)) != NULL) {
			int t = open("/etc/hostname", O_RDONLY);	/* the sandbox kills us here */
			if (t >= 0)
				close(t);
		}
		struct bounce_options o = w->opt;
		o.envelope_recipient = hdr[0] > 0 ? rcpt : NULL;
		struct bounce_report *rep = bounce_parse(data, hdr[1], &o);
		struct strbuf out = STRBUF_INIT;
		report_pack(rep, &out);
		uint32_t len = (uint32_t)out.len;
		if (out.len > WORKER_MAX_REPLY ||
		    !write_full2(fd, &len, sizeof len, out.s != NULL ? out.s : "", out.len))
			return EXIT_SOFTWARE;
		strbuf_free(&out);
		bounce_report_free(rep);
		free(rcpt);
		free(data);
	}
}

static void
wsetup_free(struct wsetup *w)
{
	for (size_t i = 0; i < sizeof w->warm / sizeof w->warm[0]; i++)
		if (w->warm[i] != NULL && w->warm[i] != (iconv_t)-1)
			iconv_close(w->warm[i]);
	rules_scratch_free(w->opt.scratch);
	rules_free(w->rules);
	free(w->rules_dir);
	free(w->rules_local);
	free(w->prefix);
	free(w->key);
}

int
worker_command(int argc, char **argv)
{
	const int fd = 3;
	log_init(LOG_TARGET_DAEMON, false);
	/* Test-only hook (lmtp_worker.h), read while files may still be opened. */
	const char *t = getenv(WORKER_TEST_OPEN_ENV);
	char *test_open = t != NULL && *t != '\0' ? xstrdup(t) : NULL;
	struct rbuf in = { 0 };
	struct wsetup w;
	memset(&w, 0, sizeof w);
	char *err = NULL;
	int ret;
	uint32_t slen;
	if (argc != 1 || !rbuf_fill(fd, &in, sizeof slen)) {
		log_warnx("worker: started by hand? it is run by 'bounced serve' only");
		ret = EXIT_USAGE;
		goto out;
	}
	memcpy(&slen, in.p + in.off, sizeof slen);
	in.off += sizeof slen;
	if (slen > WORKER_MAX_SETUP || !rbuf_fill(fd, &in, slen) ||
	    !setup_unpack(in.p + in.off, slen, &w)) {
		log_warnx("worker: bad setup frame");
		ret = EXIT_SOFTWARE;
		goto out;
	}
	in.off += slen;	/* what follows (a first message) is read by worker_serve */
	/* Warm-up: everything that reads files or compiles, before the sandbox. */
	if (w.rules_dir != NULL || w.rules_local != NULL) {
		w.rules = rules_load(w.rules_dir, w.rules_local, &err);
		if (w.rules == NULL) {
			log_warnx("worker: %s", err);
			ret = EXIT_CONFIG;
			goto out;
		}
	}
	w.opt.rules = w.rules != NULL ? w.rules : rules_builtin();
	w.opt.scratch = rules_scratch_new();
	w.opt.verp = &w.verp;
	for (size_t i = 0; i < sizeof warm_charsets / sizeof warm_charsets[0]; i++)
		w.warm[i] = iconv_open("UTF-8", warm_charsets[i]);	/* kept open: see above */
	bounce_report_free(bounce_parse(warm_message, sizeof warm_message - 1, &w.opt));
#ifndef WORKER_NO_RLIMIT_AS
	if (w.lim.mem_mb != 0) {
		struct rlimit rl = { (rlim_t)w.lim.mem_mb * 1024 * 1024, (rlim_t)w.lim.mem_mb * 1024 * 1024 };
		setrlimit(RLIMIT_AS, &rl);
	}
#endif
	if (sandbox_enter(fd, &err) != 0) {
		log_warnx("worker: cannot confine the parse worker: %s", err);
		ret = EXIT_SOFTWARE;
		goto out;
	}
	/* Confined from here: the process ends with _exit, without atexit handlers (a leak
	 * checker's would need calls the filter forbids); its memory goes with it. */
	_exit(worker_serve(fd, &in, &w, test_open));
out:
	free(err);
	free(in.p);
	free(test_open);
	wsetup_free(&w);
	return ret;
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
			    WTERMSIG(status) == SIGXCPU ? " (CPU limit)" : WTERMSIG(status) == SIGSYS ?
			    " (a system call its sandbox forbids)" : "");
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
		/* Between fork and exec only async-signal-safe calls: the server has threads. Plain
		 * signals; standard input and output on /dev/null, standard error kept for the log,
		 * the socket as 3, nothing else open. */
		static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE };
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(sv[1], 3) < 0)
			_exit(EXIT_SOFTWARE);
		close_range(4, ~0U, 0);
		char *const args[] = { (char *)"bounced", (char *)"worker", NULL };
		execve("/proc/self/exe", args, p->env);
		_exit(EXIT_SOFTWARE);
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
	uint32_t slen = (uint32_t)p->setup.len;
	bufferevent_write(w->bev, &slen, sizeof slen);
	bufferevent_write(w->bev, p->setup.s, p->setup.len);
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

/* The environment a worker gets: the sanitizers' options and the test hook, nothing else (no
 * secret of the server's environment reaches a process that reads hostile mail). */
static char **
worker_env(void)
{
	extern char **environ;
	static const char *const keep[] = { "ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=",
	    WORKER_TEST_OPEN_ENV "=" };
	size_t n = 0;
	char **env = xcalloc(sizeof keep / sizeof keep[0] + 1, sizeof *env);
	for (char **e = environ; e != NULL && *e != NULL; e++)
		for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0 && n < sizeof keep / sizeof keep[0])
				env[n++] = xstrdup(*e);
	return env;
}

struct worker_pool *
worker_pool_new(struct event_base *base, size_t n, const struct worker_setup *ws,
    worker_done_fn *done, void *ctx)
{
	struct worker_pool *p = xcalloc(1, sizeof *p);
	p->base = base;
	p->done = done;
	p->ctx = ctx;
	p->tail = &p->head;
	p->kick = event_new(base, -1, 0, kick, p);
	p->env = worker_env();
	worker_pool_reload(p, n, ws);
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
worker_pool_reload(struct worker_pool *p, size_t n, const struct worker_setup *ws)
{
	if (n == 0)
		n = 1;
	p->lim = ws->lim;
	setup_pack(ws, &p->setup);
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
	strbuf_free(&p->setup);
	for (char **e = p->env; *e != NULL; e++)
		free(*e);
	free(p->env);
	free(p->w);
	free(p);
}
