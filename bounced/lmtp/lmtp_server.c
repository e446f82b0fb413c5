/* The LMTP server. Trust boundaries: peers speak through lmtp.c (pure, limited); message bodies
 * are parsed only in worker processes (lmtp_worker.c); only this file talks to the store, and
 * a recipient gets 250 only after the commit that holds its message (group commit: every
 * message parsed by the time the commit event runs shares one transaction). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "commands.h"
#include "lmtp.h"
#include "log.h"
#include "lmtp_server.h"
#include "lmtp_worker.h"
#include "log.h"
#include "setup.h"
#include "store.h"
#include "strbuf.h"

/* Replies queued for a peer before its further commands are left unread: a client that
 * pipelines without reading cannot make the server buffer without bound. */
#define SERVER_MAX_OUTPUT	(64u * 1024)
/* Bytes read ahead from a peer before they are processed (it pipelines while its message is
 * being stored; in DATA the session consumes everything at once). */
#define SERVER_MAX_INPUT	(256u * 1024)
/* Longest Postfix queue ID kept for the log (long IDs are 15-17 characters). */
#define SERVER_QID_MAX		64

struct msg;

struct conn {
	struct server *sv;
	struct bufferevent *bev;	/* NULL once the peer is gone */
	struct lmtp_session *s;
	struct msg *msg;		/* being parsed or stored */
	bool throttled;			/* not read until its replies drain */
	char peer[INET6_ADDRSTRLEN + 16];
	struct conn *prev, *next;
};

struct msg {
	struct conn *c;
	struct lmtp_envelope env;	/* points into the session until answered */
	char qid[SERVER_QID_MAX];
	struct bounce_report *rep;	/* NULL: unparsed */
	char *why;			/* why unparsed */
	int rc;				/* STORE_* of its commit */
	struct store_add_result res;
	struct msg *next;
};

struct listener {
	struct evconnlistener *l;
	char *unix_path;		/* removed at exit */
	char *spec;			/* as configured, for the log */
};

struct server {
	struct event_base *base;
	const struct serve_options *o;
	struct config *cfg;
	struct parse_setup setup;
	const char *db_path;
	struct store *store;
	char hostname[256];
	struct listener listeners[CONFIG_MAX_LISTEN * 4];
	size_t nlisteners;
	struct conn *conns;
	size_t nconns;
	struct worker_pool *pool;
	struct msg *ready, **ready_tail;	/* parsed, waiting for a commit */
	/* The committer thread: the only user of the store once serving. It takes a whole batch,
	 * commits it while the loop keeps reading and parsing the next one (group commit without a
	 * timer), and hands it back through a pipe. */
	pthread_t committer;
	bool committer_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *todo;		/* batch handed to the committer (under mu) */
	size_t ntodo;
	struct msg *done;		/* batch committed, to be answered (under mu) */
	bool busy;			/* a batch is with the committer (loop side only) */
	bool quit;			/* under mu */
	/* The checkpointer thread: copies the WAL into the database on its own connection when
	 * the committer finds the WAL long, so no commit (and no 250) waits for the bulk of the
	 * copy. A checkpoint that runs while commits go on cannot copy their frames, and the WAL
	 * starts over only when everything in it was copied before a transaction begins: so the
	 * committer copies the few frames committed meanwhile itself (CKPT_FINISH), between two
	 * batches. Without that the WAL would grow for as long as mail keeps coming. */
	pthread_t checkpointer;
	bool checkpointer_started;
	struct store *ckpt_store;
	pthread_cond_t ckpt_cv;
	enum { CKPT_IDLE, CKPT_BULK, CKPT_FINISH } ckpt;	/* under mu */
	int wake[2];			/* committer -> loop */
	struct event *wake_ev;
	bool stopping;
	unsigned long long messages;
};


/* ---- connections ------------------------------------------------------------------------ */

static void conn_process(struct conn *c);

static void
maybe_exit(struct server *sv)
{
	if (sv->stopping && sv->nconns == 0)
		event_base_loopexit(sv->base, NULL);
}

static void
conn_free(struct conn *c)
{
	struct server *sv = c->sv;
	if (c->msg != NULL) {
		/* Peer gone with a message in flight: keep the session until the message is answered;
		 * it is stored all the same (a re-send counts once). */
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	lmtp_session_free(c->s);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		sv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	sv->nconns--;
	free(c);
	maybe_exit(sv);
}

/* Moves the session's replies towards the peer: written at once when nothing is queued (the
 * common case, which saves the loop two epoll changes per reply), else queued in order. */
static void
conn_send(struct conn *c)
{
	size_t len;
	const char *p = lmtp_session_output(c->s, &len);
	if (len == 0 || c->bev == NULL) {
		lmtp_session_output_consume(c->s, len);
		return;
	}
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t done = 0;
	if (evbuffer_get_length(out) == 0) {
		ssize_t n = send(bufferevent_getfd(c->bev), p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			done = (size_t)n;
	}
	if (done < len)
		evbuffer_add(out, p + done, len - done);
	lmtp_session_output_consume(c->s, len);
}

/* Sends what the session produced; closes once a closed session's output is written. */
static void
conn_flush(struct conn *c)
{
	if (c->bev == NULL) {
		size_t len;
		lmtp_session_output(c->s, &len);
		lmtp_session_output_consume(c->s, len);
		return;
	}
	conn_send(c);
	if (lmtp_session_state(c->s) == LMTP_S_CLOSED) {
		bufferevent_disable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_free(c);
	}
}

/* Per-state timeouts: a command, the data, nothing while the server itself is working. */
static void
conn_timeouts(struct conn *c)
{
	if (c->bev == NULL)
		return;
	enum lmtp_state st = lmtp_session_state(c->s);
	if (st == LMTP_S_CLOSED)
		return;
	if (c->throttled) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	/* While the server works on a message (WAIT) the peer has no timeout; what it sends
	 * meanwhile waits in the input buffer, bounded by SERVER_MAX_INPUT. */
	unsigned int secs = st == LMTP_S_DATA ? c->sv->cfg->timeout_data_s
	    : st == LMTP_S_WAIT ? 0 : c->sv->cfg->timeout_command_s;
	struct timeval rd = { (time_t)secs, 0 };
	struct timeval wr = { (time_t)c->sv->cfg->timeout_command_s, 0 };
	bufferevent_set_timeouts(c->bev, secs > 0 ? &rd : NULL, &wr);
	bufferevent_enable(c->bev, EV_READ);
}

static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	c->throttled = false;
	for (;;) {
		enum lmtp_state st = lmtp_session_state(c->s);
		if (st == LMTP_S_WAIT || st == LMTP_S_CLOSED)
			break;
		/* A peer that pipelines commands without reading the replies is not read further
		 * until they drain (conn_write). */
		conn_send(c);
		if (evbuffer_get_length(out) > SERVER_MAX_OUTPUT) {
			c->throttled = true;
			break;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		size_t used = lmtp_session_feed(c->s, v.iov_base, v.iov_len);
		evbuffer_drain(in, used);
		if (used < v.iov_len)
			break;
	}
	struct bufferevent *bev = c->bev;
	conn_timeouts(c);
	if (bev != NULL)
		conn_flush(c);	/* may free c */
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (lmtp_session_state(c->s) == LMTP_S_CLOSED) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
	} else if (c->throttled)
		conn_process(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->msg == NULL) {
		log_info("lmtp: %s: timeout in state %s", c->peer,
		    lmtp_state_name(lmtp_session_state(c->s)));
		lmtp_session_timeout(c->s);
		conn_flush(c);
		return;
	}
	conn_free(c);
}

static void
on_message(void *ctx, struct lmtp_session *s, const struct lmtp_envelope *env)
{
	struct conn *c = ctx;
	struct msg *m = xcalloc(1, sizeof *m);
	m->c = c;
	m->env = *env;
	if (!lmtp_queue_id(env->data, env->len, m->qid, sizeof m->qid))
		m->qid[0] = '\0';
	c->msg = m;
	worker_pool_submit(c->sv->pool, m, env->nrcpts > 0 ? env->rcpts[0] : NULL, env->data, env->len);
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
	}
	return false;
}

static void
peer_name(const struct sockaddr *sa, char *buf, size_t size)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)size);
	else
		snprintf(buf, size, "unix");
}

/* The allow list is "IP, IP, ..." compared as written by inet_ntop. */
static bool
allowed(const struct server *sv, const char *ip)
{
	const char *a = sv->cfg->allow;
	size_t n = strlen(ip);
	while (a != NULL && *a != '\0') {
		a += strspn(a, " ,\t");
		size_t l = strcspn(a, " ,\t");
		if (l == n && strncmp(a, ip, n) == 0)
			return true;
		a += l;
	}
	return false;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct server *sv = arg;
	char peer[INET6_ADDRSTRLEN + 16];
	peer_name(sa, peer, sizeof peer);
	if (sv->stopping) {
		evutil_closesocket(fd);
		return;
	}
	if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) && !is_loopback(sa) &&
	    !allowed(sv, peer)) {
		log_warnx("lmtp: connection from %s refused: not in allow", peer);
		evutil_closesocket(fd);
		return;
	}
	if (sv->nconns >= sv->cfg->max_sessions) {
		static const char busy[] = "421 4.3.2 Too many sessions, try again later\r\n";
		log_warnx("lmtp: %s: refused, %zu sessions", peer, sv->nconns);
		if (write(fd, busy, sizeof busy - 1) < 0) {
			/* nothing to do: the peer retries */
		}
		evutil_closesocket(fd);
		return;
	}
	struct conn *c = xcalloc(1, sizeof *c);
	c->sv = sv;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	struct lmtp_params p = { .hostname = sv->hostname, .message = on_message, .ctx = c };
	c->s = lmtp_session_new(&p);
	c->bev = bufferevent_socket_new(sv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, SERVER_MAX_OUTPUT / 2, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SERVER_MAX_INPUT);
	c->next = sv->conns;
	if (sv->conns != NULL)
		sv->conns->prev = c;
	sv->conns = c;
	sv->nconns++;
	conn_process(c);
}

/* ---- parse results and group commit ---------------------------------------------------- */

static void commit_next(struct server *sv);

static void
on_parsed(void *ctx, void *job, struct bounce_report *rep, const char *why)
{
	struct server *sv = ctx;
	struct msg *m = job;
	m->rep = rep;
	if (rep == NULL)
		m->why = xstrdup(why != NULL ? why : "unparsed");
	*sv->ready_tail = m;
	sv->ready_tail = &m->next;
	commit_next(sv);
}

static int
add_msg(struct server *sv, struct msg *m, char **error_r)
{
	struct store_msg sm = {
		.data = m->env.data, .len = m->env.len, .source = "lmtp",
		.envelope_rcpt = m->env.nrcpts > 0 ? m->env.rcpts[0] : NULL,
		.envelope_sender = m->env.mail_from,
		.queue_id = m->qid[0] != '\0' ? m->qid : NULL,
		.truncated = m->env.truncated,
	};
	memset(&m->res, 0, sizeof m->res);
	return store_add(sv->store, &sm, m->rep, &m->res, error_r);
}

/* Stores messages first..(n of them) in one transaction. Returns STORE_OK or the first error
 * (everything rolled back). */
static int
commit_batch(struct server *sv, struct msg *first, size_t n)
{
	char *err = NULL;
	int rc = store_begin(sv->store, &err);
	struct msg *m = first;
	for (size_t i = 0; rc == STORE_OK && i < n; i++, m = m->next)
		rc = add_msg(sv, m, &err);
	if (rc == STORE_OK)
		rc = store_commit(sv->store, &err);
	if (rc != STORE_OK) {
		store_rollback(sv->store);
		log_warnx("store: %s (%zu message%s answered 451 unless retried alone)",
		    err != NULL ? err : "error", n, n == 1 ? "" : "s");
	}
	free(err);
	m = first;
	for (size_t i = 0; i < n; i++, m = m->next)
		m->rc = rc;
	return rc;
}

static void
log_msg(struct server *sv, const struct msg *m)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "lmtp: %s%s from=<%s> to=", m->qid[0] != '\0' ? "qid=" : "qid=-",
	    m->qid, m->env.mail_from);
	for (size_t i = 0; i < m->env.nrcpts; i++)
		strbuf_printf(&b, "%s<%s>", i > 0 ? "," : "", m->env.rcpts[i]);
	strbuf_printf(&b, " size=%zu", m->env.size);
	if (m->env.truncated)
		strbuf_puts(&b, " truncated");
	if (m->rep != NULL) {
		strbuf_printf(&b, " kind=%s", bounce_kind_name(m->rep->kind));
		if (m->rep->nrcpts > 0) {
			const struct bounce_recipient *r = &m->rep->rcpts[0];
			strbuf_printf(&b, " class=%s reason=%s address=%s", bounce_class_name(r->class_),
			    bounce_reason_name(r->reason), r->address);
			if (m->rep->nrcpts > 1)
				strbuf_printf(&b, " (+%zu more)", m->rep->nrcpts - 1);
		} else
			strbuf_puts(&b, " class=none");
	} else
		strbuf_printf(&b, " unparsed=\"%s\"", m->why);
	if (m->rc == STORE_OK)
		strbuf_printf(&b, " stored=%lld%s events=%zu suppressed=%zu",
		    (long long)m->res.message_rowid, m->res.duplicate ? " duplicate" : "",
		    m->res.events, m->res.suppressed);
	else
		strbuf_printf(&b, " result=451 store_error=%d", m->rc);
	log_info("%s", b.s);
	strbuf_free(&b);
	/* Counted as no match and flagged: the operator is told which message. */
	if (m->rep != NULL && (m->rep->flags & BOUNCE_F_REGEX_LIMIT))
		log_warnx("lmtp: qid=%s from=<%s>: a rule hit the regex limit (counted "
		    "as no match; flag regex_limit)", m->qid[0] != '\0' ? m->qid : "-",
		    m->env.mail_from);
}

static void
answer(struct server *sv, struct msg *m)
{
	struct conn *c = m->c;
	log_msg(sv, m);
	size_t n = m->env.nrcpts;
	char **replies = xcalloc(n + 1, sizeof *replies);
	for (size_t i = 0; i < n; i++) {
		struct strbuf b = STRBUF_INIT;
		if (m->rc == STORE_OK)
			strbuf_printf(&b, "250 2.0.0 <%s> Ok: %s %lld", m->env.rcpts[i],
			    m->res.duplicate ? "already stored as" : "stored as",
			    (long long)m->res.message_rowid);
		else
			strbuf_printf(&b, "451 4.3.0 <%s> Error: database unavailable, try again later",
			    m->env.rcpts[i]);
		replies[i] = strbuf_detach(&b);
	}
	/* A message is answered once, while its session waits for it. */
	if (lmtp_session_answer(c->s, (const char *const *)replies, n) != 0)
		fatalx("lmtp: %s: answered a session in state %s", c->peer,
		    lmtp_state_name(lmtp_session_state(c->s)));
	for (size_t i = 0; i < n; i++)
		free(replies[i]);
	free(replies);
	bounce_report_free(m->rep);
	free(m->why);
	free(m);
	c->msg = NULL;
	sv->messages++;
	if (c->bev == NULL) {
		conn_free(c);
		return;
	}
	if (sv->stopping)
		lmtp_session_shutdown(c->s);
	conn_process(c);
}

/* One WAL checkpoint on the given connection; trouble is logged, the next one tries again. */
static void
checkpoint_logged(struct server *sv, struct store *st)
{
	char *err = NULL;
	if (store_checkpoint(st, &err) != STORE_OK)
		log_warnx("store: %s", err != NULL ? err : "checkpoint failed");
	free(err);
}

/* The committer's and the checkpointer's threads take no signals: they are the loop's. */
static void
block_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* The committer thread: commits one batch at a time. */
static void *
committer_main(void *arg)
{
	struct server *sv = arg;
	block_signals();
	pthread_mutex_lock(&sv->mu);
	for (;;) {
		while (sv->todo == NULL && !sv->quit)
			pthread_cond_wait(&sv->cv, &sv->mu);
		if (sv->todo == NULL)
			break;
		struct msg *first = sv->todo;
		size_t n = sv->ntodo;
		pthread_mutex_unlock(&sv->mu);
		/* One message failing (not the database) must not fail the others: retry alone.
		 * A busy or failing database would only fail each retry again, each after the full
		 * busy timeout, while every session waits: the whole batch gets its 451 at once. */
		int rc = commit_batch(sv, first, n);
		if (rc != STORE_OK && rc != STORE_ERR_BUSY && rc != STORE_ERR_IO && n > 1)
			for (struct msg *m = first; m != NULL; m = m->next)
				commit_batch(sv, m, 1);
		bool due = store_checkpoint_due(sv->store);
		pthread_mutex_lock(&sv->mu);
		sv->todo = NULL;
		sv->done = first;
		char one = 1;
		if (write(sv->wake[1], &one, 1) < 0) {
			/* the pipe holds at least one byte already: the loop will look */
		}
		if (due && sv->ckpt_store != NULL && sv->ckpt == CKPT_IDLE) {
			sv->ckpt = CKPT_BULK;
			pthread_cond_signal(&sv->ckpt_cv);
		} else if (sv->ckpt == CKPT_FINISH) {
			/* The batch is being answered meanwhile; the next one waits for this short
			 * copy only. */
			pthread_mutex_unlock(&sv->mu);
			checkpoint_logged(sv, sv->store);
			pthread_mutex_lock(&sv->mu);
			sv->ckpt = CKPT_IDLE;
		}
	}
	pthread_mutex_unlock(&sv->mu);
	return NULL;
}

/* The checkpointer thread: one passive checkpoint each time the committer asks. */
static void *
checkpointer_main(void *arg)
{
	struct server *sv = arg;
	block_signals();
	pthread_mutex_lock(&sv->mu);
	for (;;) {
		while (sv->ckpt != CKPT_BULK && !sv->quit)
			pthread_cond_wait(&sv->ckpt_cv, &sv->mu);
		if (sv->quit)
			break;
		pthread_mutex_unlock(&sv->mu);
		checkpoint_logged(sv, sv->ckpt_store);
		pthread_mutex_lock(&sv->mu);
		sv->ckpt = CKPT_FINISH;
	}
	pthread_mutex_unlock(&sv->mu);
	return NULL;
}

/* Hands the messages parsed so far to the committer, unless it is busy. */
static void
commit_next(struct server *sv)
{
	if (sv->busy || sv->ready == NULL)
		return;
	struct msg *first = sv->ready, *last = NULL;
	size_t n = 0;
	for (struct msg *m = first; m != NULL && n < SERVER_COMMIT_BATCH; m = m->next) {
		last = m;
		n++;
	}
	sv->ready = last->next;
	if (sv->ready == NULL)
		sv->ready_tail = &sv->ready;
	last->next = NULL;
	sv->busy = true;
	pthread_mutex_lock(&sv->mu);
	sv->todo = first;
	sv->ntodo = n;
	pthread_cond_signal(&sv->cv);
	pthread_mutex_unlock(&sv->mu);
}

static void
on_committed(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	char buf[64];
	while (read(sv->wake[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&sv->mu);
	struct msg *first = sv->done;
	sv->done = NULL;
	pthread_mutex_unlock(&sv->mu);
	if (first == NULL)
		return;
	sv->busy = false;
	commit_next(sv);	/* what arrived meanwhile is the next group */
	/* The commit may have taken a while: timeouts set from now on must not count from the
	 * time libevent cached before it. */
	event_base_update_cache_time(sv->base);
	log_hold();	/* one write for the lines of the whole batch */
	for (struct msg *m = first, *next; m != NULL; m = next) {
		next = m->next;
		answer(sv, m);
	}
	log_release();
}

/* ---- listeners -------------------------------------------------------------------------- */

static int fail(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_setv(error_r, fmt, ap);
	va_end(ap);
	return -1;
}

/* Creates the directory holding path when it is missing (one level: ./var by default). */
static void
make_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750);
	}
	free(dir);
}

static int
add_listener(struct server *sv, evutil_socket_t fd, const char *unix_path, char **error_r)
{
	if (sv->nlisteners >= sizeof sv->listeners / sizeof sv->listeners[0]) {
		close(fd);
		return fail(error_r, "too many listening sockets");
	}
	evutil_make_socket_nonblocking(fd);
	struct listener *l = &sv->listeners[sv->nlisteners++];
	l->l = evconnlistener_new(sv->base, on_accept, sv, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (l->l == NULL) {
		sv->nlisteners--;
		close(fd);
		return fail(error_r, "cannot watch a listening socket: %s", strerror(errno));
	}
	l->unix_path = unix_path != NULL ? xstrdup(unix_path) : NULL;
	l->spec = NULL;
	return 0;
}

static int
listen_unix(struct server *sv, const char *path, char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path)
		return fail(error_r, "unix:%s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	make_parent(path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return fail(error_r, "unix:%s: exists and is not a socket", path);
		/* Left by a previous run (unlink it), unless a server still answers on it. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool alive = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0;
		if (probe >= 0)
			close(probe);
		if (alive)
			return fail(error_r, "unix:%s: another server is listening on it", path);
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(error_r, "unix:%s: socket: %s", path, strerror(errno));
	mode_t old = umask(0177);	/* no window in which the socket is more open than asked */
	int r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (r != 0 || listen(fd, SERVER_LISTEN_BACKLOG) != 0) {
		int e = errno;
		close(fd);
		return fail(error_r, "unix:%s: %s", path, strerror(e));
	}
	if (sv->cfg->socket_group != NULL) {
		struct group *g = getgrnam(sv->cfg->socket_group);
		if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0) {
			close(fd);
			return fail(error_r, "unix:%s: cannot give to group %s%s%s", path,
			    sv->cfg->socket_group, g == NULL ? ": no such group" : ": ",
			    g == NULL ? "" : strerror(errno));
		}
	}
	if (chmod(path, (mode_t)sv->cfg->socket_mode) != 0) {
		int e = errno;
		close(fd);
		return fail(error_r, "unix:%s: chmod: %s", path, strerror(e));
	}
	return add_listener(sv, fd, path, error_r);
}

static int
listen_tcp(struct server *sv, const char *spec, char **error_r)
{
	char host[256];
	const char *port = strrchr(spec, ':');
	if (port == NULL || port == spec || port[1] == '\0' || (size_t)(port - spec) >= sizeof host)
		return fail(error_r, "tcp:%s: expected tcp:HOST:PORT", spec);
	const char *h = spec;
	size_t hl = (size_t)(port - spec);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	port++;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0)
		return fail(error_r, "tcp:%s: %s", spec, gai_strerror(r));
	bool any_allow = sv->cfg->allow != NULL && sv->cfg->allow[strspn(sv->cfg->allow, " ,\t")] != '\0';
	int bound = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr) && !any_allow) {
			freeaddrinfo(res);
			return fail(error_r, "tcp:%s: not a loopback address; name the clients in [lmtp] "
			    "allow to listen on it", spec);
		}
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SERVER_LISTEN_BACKLOG) != 0) {
			int e = errno;
			close(fd);
			freeaddrinfo(res);
			return fail(error_r, "tcp:%s: %s", spec, strerror(e));
		}
		if (add_listener(sv, fd, NULL, error_r) != 0) {
			freeaddrinfo(res);
			return -1;
		}
		bound++;
	}
	freeaddrinfo(res);
	if (bound == 0)
		return fail(error_r, "tcp:%s: no address to listen on", spec);
	return 0;
}

static int
open_listeners(struct server *sv, char **error_r)
{
	const char *const *specs = sv->o->listen;
	size_t n = sv->o->nlisten;
	if (specs == NULL || n == 0) {
		specs = (const char *const *)sv->cfg->listen;
		n = sv->cfg->nlisten;
	}
	static const char *const dflt[] = { "unix:./var/lmtp.sock" };
	if (n == 0) {
		specs = dflt;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		int r;
		size_t first = sv->nlisteners;
		if (strncmp(specs[i], "unix:", 5) == 0)
			r = listen_unix(sv, specs[i] + 5, error_r);
		else if (strncmp(specs[i], "tcp:", 4) == 0)
			r = listen_tcp(sv, specs[i] + 4, error_r);
		else
			r = fail(error_r, "%s: expected unix:PATH or tcp:HOST:PORT", specs[i]);
		if (r != 0)
			return -1;
		for (size_t k = first; k < sv->nlisteners; k++)
			sv->listeners[k].spec = xstrdup(specs[i]);
	}
	return 0;
}

static void
close_listeners(struct server *sv)
{
	for (size_t i = 0; i < sv->nlisteners; i++) {
		evconnlistener_free(sv->listeners[i].l);
		if (sv->listeners[i].unix_path != NULL)
			unlink(sv->listeners[i].unix_path);
		free(sv->listeners[i].unix_path);
		free(sv->listeners[i].spec);
	}
	sv->nlisteners = 0;
}

/* ---- signals ---------------------------------------------------------------------------- */

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *sv = arg;
	if (sv->stopping)
		return;
	log_info("signal %d: stopping; %zu session%s open", (int)sig, sv->nconns,
	    sv->nconns == 1 ? "" : "s");
	sv->stopping = true;
	close_listeners(sv);
	for (struct conn *c = sv->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (lmtp_session_shutdown(c->s))
			conn_flush(c);	/* may free c */
	}
	maybe_exit(sv);
}

static struct worker_limits
limits_of(const struct config *cfg)
{
	struct worker_limits lim = { cfg->worker_cpu_s, cfg->worker_mem_mb };
	return lim;
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct server *sv = arg;
	struct config *cfg = xcalloc(1, sizeof *cfg);
	struct parse_setup setup;
	memset(&setup, 0, sizeof setup);
	char *err = NULL;
	if (setup_config(cfg, sv->o->config_path, &err) != 0 || setup_load(&setup, cfg, &err) != 0) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		free(err);
		config_free(cfg);
		free(cfg);
		return;
	}
	if (sv->o->workers > 0)
		cfg->workers = sv->o->workers;
	setup_free(&sv->setup);
	sv->setup = setup;
	config_free(sv->cfg);
	free(sv->cfg);
	sv->cfg = cfg;
	struct worker_limits lim = limits_of(cfg);
	worker_pool_reload(sv->pool, cfg->workers, &lim, &sv->setup.opt);
	log_info("SIGHUP: rules and configuration reloaded (listeners and database "
	    "change only on restart)");
}

/* ---- run -------------------------------------------------------------------------------- */

int
lmtp_server_run(const struct serve_options *o)
{
	struct server sv_, *sv = &sv_;
	memset(sv, 0, sizeof *sv);
	sv->o = o;
	sv->cfg = o->cfg;
	if (o->workers > 0)
		sv->cfg->workers = o->workers;
	sv->ready_tail = &sv->ready;
	if (o->hostname != NULL)
		snprintf(sv->hostname, sizeof sv->hostname, "%s", o->hostname);
	else if (gethostname(sv->hostname, sizeof sv->hostname - 1) != 0 || sv->hostname[0] == '\0')
		snprintf(sv->hostname, sizeof sv->hostname, "localhost");
	sv->db_path = o->db_path != NULL ? o->db_path : sv->cfg->db_path != NULL ? sv->cfg->db_path
	    : "./var/bounced.db";

	int ret = EXIT_OK;
	char *err = NULL;
	if (setup_load(&sv->setup, sv->cfg, &err) != 0) {
		log_warnx("%s", err);
		free(err);
		config_free(sv->cfg);
		free(sv->cfg);
		return EXIT_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	sv->base = event_base_new();
	pthread_mutex_init(&sv->mu, NULL);
	pthread_cond_init(&sv->cv, NULL);
	pthread_cond_init(&sv->ckpt_cv, NULL);
	if (pipe2(sv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warnx("serve: pipe: %s", strerror(errno));
		return EXIT_SOFTWARE;
	}
	sv->wake_ev = event_new(sv->base, sv->wake[0], EV_READ | EV_PERSIST, on_committed, sv);
	event_add(sv->wake_ev, NULL);
	struct event *sigs[3];
	sigs[0] = evsignal_new(sv->base, SIGTERM, on_stop, sv);
	sigs[1] = evsignal_new(sv->base, SIGINT, on_stop, sv);
	sigs[2] = evsignal_new(sv->base, SIGHUP, on_reload, sv);
	for (size_t i = 0; i < 3; i++)
		event_add(sigs[i], NULL);

	/* Workers first: they are forked before the database is opened, so none inherits it. */
	struct worker_limits lim = limits_of(sv->cfg);
	sv->pool = worker_pool_new(sv->base, sv->cfg->workers, &lim, &sv->setup.opt, on_parsed, sv);
	if (sv->pool == NULL) {
		log_warnx("serve: cannot start parse workers: %s", strerror(errno));
		ret = EXIT_SOFTWARE;
		goto out;
	}
	make_parent(sv->db_path);
	int rc = store_open(sv->db_path, sv->cfg, STORE_OPEN_CREATE, &sv->store, &err);
	if (rc != STORE_OK) {
		log_warnx("serve: %s: %s", sv->db_path, err != NULL ? err : "cannot open");
		free(err);
		ret = rc == STORE_ERR_SCHEMA ? EXIT_CONFIG : EXIT_TEMPFAIL;
		goto out;
	}
	if (open_listeners(sv, &err) != 0) {
		log_warnx("serve: %s", err);
		free(err);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	/* Without a second connection (or its thread) SQLite's own checkpoints stay on. */
	if (store_open(sv->db_path, sv->cfg, 0, &sv->ckpt_store, &err) != STORE_OK) {
		log_warnx("serve: checkpoints stay in the commit path: %s", err);
		free(err);
		err = NULL;
		sv->ckpt_store = NULL;
	} else if (pthread_create(&sv->checkpointer, NULL, checkpointer_main, sv) != 0) {
		store_close(sv->ckpt_store);
		sv->ckpt_store = NULL;
	} else {
		sv->checkpointer_started = true;
		store_defer_checkpoints(sv->store);
	}
	if (pthread_create(&sv->committer, NULL, committer_main, sv) != 0) {
		log_warnx("serve: cannot start the committer thread");
		ret = EXIT_SOFTWARE;
		goto out;
	}
	sv->committer_started = true;
	/* Start-up trouble went to standard error as a command's; from here on the daemon's log. */
	log_init(sv->cfg->log != NULL && strcmp(sv->cfg->log, "syslog") == 0 ? LOG_TARGET_SYSLOG :
	    LOG_TARGET_DAEMON, false);
	for (size_t i = 0; i < sv->nlisteners; i++)
		log_info("listening on %s", sv->listeners[i].spec);
	log_info("serving %s with %u parse worker%s", sv->db_path, sv->cfg->workers,
	    sv->cfg->workers == 1 ? "" : "s");
	event_base_dispatch(sv->base);
	log_info("stopped after %llu message%s", sv->messages, sv->messages == 1 ? "" : "s");
out:
	close_listeners(sv);
	while (sv->conns != NULL) {
		struct conn *c = sv->conns;
		c->msg = NULL;
		conn_free(c);
	}
	worker_pool_free(sv->pool);
	/* Jobs the pool failed while freeing are in ready: drop them (their sessions are gone). */
	while (sv->ready != NULL) {
		struct msg *m = sv->ready;
		sv->ready = m->next;
		bounce_report_free(m->rep);
		free(m->why);
		free(m);
	}
	if (sv->committer_started) {
		pthread_mutex_lock(&sv->mu);
		sv->quit = true;
		pthread_cond_signal(&sv->cv);
		pthread_mutex_unlock(&sv->mu);
		pthread_join(sv->committer, NULL);
	}
	if (sv->checkpointer_started) {
		pthread_mutex_lock(&sv->mu);
		sv->quit = true;
		pthread_cond_signal(&sv->ckpt_cv);
		pthread_mutex_unlock(&sv->mu);
		pthread_join(sv->checkpointer, NULL);
	}
	store_close(sv->ckpt_store);	/* before the last connection, which removes the WAL */
	store_close(sv->store);
	for (size_t i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_free(sv->wake_ev);
	close(sv->wake[0]);
	close(sv->wake[1]);
	pthread_mutex_destroy(&sv->mu);
	pthread_cond_destroy(&sv->cv);
	pthread_cond_destroy(&sv->ckpt_cv);
	event_base_free(sv->base);
	setup_free(&sv->setup);
	config_free(sv->cfg);
	free(sv->cfg);
	log_close();
	return ret;
}
