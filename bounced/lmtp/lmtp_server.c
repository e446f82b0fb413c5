/* The LMTP server of `bounced serve`: the connection loop. Trust boundaries: peers speak
 * through lmtp.c (pure, limited); message bodies are parsed only in worker processes
 * (lmtp_worker.c); messages are stored through group commit (commit.h), and a recipient gets 250
 * only after the commit that holds its message. Sockets and the allow list are listen.h's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "allow.h"
#include "commands.h"
#include "commit.h"
#include "listen.h"
#include "lmtp.h"
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
	char peer[LISTEN_PEER_MAX];
	struct conn *prev, *next;
};

/* A message from parse to answer. */
struct msg {
	struct conn *c;
	struct lmtp_envelope env;	/* points into the session until answered */
	char qid[SERVER_QID_MAX];
	struct bounce_report *rep;	/* NULL: unparsed */
	char *why;			/* why unparsed */
	struct commit_entry entry;
	struct commit_request req;
};

struct server {
	struct event_base *base;
	const struct serve_options *o;
	struct config *cfg;
	struct parse_setup setup;
	const char *db_path;
	char hostname[256];
	struct allow_list *allow;	/* cfg's, parsed */
	struct listeners *listeners;
	struct conn *conns;
	size_t nconns;
	struct worker_pool *pool;
	struct commit_queue *commit;
	bool stopping;
	bool ended;			/* the loop is over: parse results are dropped */
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

/* A new client from the listeners (already checked against the allow list). */
static void
on_accept(void *ctx, int fd, const struct sockaddr *sa, const char *peer)
{
	struct server *sv = ctx;
	if (sv->stopping) {
		close(fd);
		return;
	}
	if (sv->nconns >= sv->cfg->max_sessions) {
		static const char busy[] = "421 4.3.2 Too many sessions, try again later\r\n";
		log_warnx("lmtp: %s: refused, %zu sessions", peer, sv->nconns);
		if (write(fd, busy, sizeof busy - 1) < 0) {
			/* nothing to do: the peer retries */
		}
		close(fd);
		return;
	}
	struct conn *c = xcalloc(1, sizeof *c);
	c->sv = sv;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	struct lmtp_params p = { .hostname = sv->hostname, .message = on_message, .ctx = c };
	c->s = lmtp_session_new(&p);
	c->bev = bufferevent_socket_new(sv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatal("lmtp: bufferevent_socket_new");	/* out of memory */
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

/* ---- parse results and answers ---------------------------------------------------------- */

static void answer(struct commit_request *req);

static void
msg_free(struct msg *m)
{
	bounce_report_free(m->rep);
	free(m->why);
	free(m);
}

static void
on_parsed(void *ctx, void *job, struct bounce_report *rep, const char *why)
{
	struct server *sv = ctx;
	struct msg *m = job;
	m->rep = rep;
	if (rep == NULL)
		m->why = xstrdup(why != NULL ? why : "unparsed");
	if (sv->ended) {
		msg_free(m);	/* its session is gone with the loop */
		return;
	}
	m->entry.msg = (struct store_msg){
		.data = m->env.data, .len = m->env.len, .source = "lmtp",
		.envelope_rcpt = m->env.nrcpts > 0 ? m->env.rcpts[0] : NULL,
		.envelope_sender = m->env.mail_from,
		.queue_id = m->qid[0] != '\0' ? m->qid : NULL,
		.truncated = m->env.truncated,
	};
	m->entry.rep = m->rep;
	m->req = (struct commit_request){ .entries = &m->entry, .n = 1, .done = answer, .ctx = m };
	commit_submit(sv->commit, &m->req);
}

static void
log_msg(const struct msg *m)
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
	if (m->req.rc == STORE_OK)
		strbuf_printf(&b, " stored=%lld%s events=%zu suppressed=%zu",
		    (long long)m->entry.res.message_rowid, m->entry.res.duplicate ? " duplicate" : "",
		    m->entry.res.events, m->entry.res.suppressed);
	/* Why a bounce suppressed nobody, when that is the reason: a VERP that did not verify. */
	if (m->rep != NULL && m->rep->verp_present && !m->rep->verp_verified)
		strbuf_puts(&b, " unverified");
	else
		strbuf_printf(&b, " result=451 store_error=%d", m->req.rc);
	log_info("%s", b.s);
	strbuf_free(&b);
	/* Counted as no match and flagged: the operator is told which message. */
	if (m->rep != NULL && (m->rep->flags & BOUNCE_F_REGEX_LIMIT))
		log_warnx("lmtp: qid=%s from=<%s>: a rule hit the regex limit (counted "
		    "as no match; flag regex_limit)", m->qid[0] != '\0' ? m->qid : "-",
		    m->env.mail_from);
}

/* The commit of m is done: answers every recipient, 250 once stored, 451 otherwise. */
static void
answer(struct commit_request *req)
{
	struct msg *m = req->ctx;
	struct conn *c = m->c;
	struct server *sv = c->sv;
	log_msg(m);
	size_t n = m->env.nrcpts;
	char **replies = xcalloc(n + 1, sizeof *replies);
	for (size_t i = 0; i < n; i++) {
		struct strbuf b = STRBUF_INIT;
		if (m->req.rc == STORE_OK)
			strbuf_printf(&b, "250 2.0.0 <%s> Ok: %s %lld", m->env.rcpts[i],
			    m->entry.res.duplicate ? "already stored as" : "stored as",
			    (long long)m->entry.res.message_rowid);
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
	msg_free(m);
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
	listeners_close(sv->listeners);
	sv->listeners = NULL;
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
	struct allow_list *allow = NULL;
	char *err = NULL;
	if (setup_config(cfg, sv->o->config_path, &err) != 0 || setup_load(&setup, cfg, &err) != 0 ||
	    allow_list_parse(cfg->allow, &allow, &err) != 0) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		free(err);
		setup_free(&setup);
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
	if (sv->listeners != NULL)
		listeners_set_allow(sv->listeners, allow);
	allow_list_free(sv->allow);
	sv->allow = allow;
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
	if (o->hostname != NULL)
		snprintf(sv->hostname, sizeof sv->hostname, "%s", o->hostname);
	else if (gethostname(sv->hostname, sizeof sv->hostname - 1) != 0 || sv->hostname[0] == '\0')
		snprintf(sv->hostname, sizeof sv->hostname, "localhost");
	sv->db_path = o->db_path != NULL ? o->db_path : sv->cfg->db_path != NULL ? sv->cfg->db_path
	    : "./var/bounced.db";

	int ret = EXIT_OK;
	char *err = NULL;
	if (setup_load(&sv->setup, sv->cfg, &err) != 0 ||
	    allow_list_parse(sv->cfg->allow, &sv->allow, &err) != 0) {
		log_warnx("%s", err);
		free(err);
		setup_free(&sv->setup);
		config_free(sv->cfg);
		free(sv->cfg);
		return EXIT_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	sv->base = event_base_new();
	if (sv->base == NULL)
		fatalx("serve: cannot create the event loop");
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
		log_warn("serve: cannot start parse workers");
		ret = EXIT_SOFTWARE;
		goto out;
	}
	int rc = commit_open(sv->base, sv->db_path, sv->cfg, &sv->commit, &err);
	if (rc != STORE_OK) {
		log_warnx("serve: %s: %s", sv->db_path, err != NULL ? err : "cannot open");
		free(err);
		ret = rc == STORE_ERR_SCHEMA ? EXIT_CONFIG : EXIT_TEMPFAIL;
		goto out;
	}
	const char *const *specs = o->listen;
	size_t n = o->nlisten;
	if (specs == NULL || n == 0) {
		specs = (const char *const *)sv->cfg->listen;
		n = sv->cfg->nlisten;
	}
	static const char *const dflt[] = { "unix:./var/lmtp.sock" };
	if (n == 0) {
		specs = dflt;
		n = 1;
	}
	struct listen_params lp = {
		.name = "lmtp", .socket_mode = sv->cfg->socket_mode,
		.socket_group = sv->cfg->socket_group, .allow = sv->allow,
		.accept = on_accept, .ctx = sv,
	};
	sv->listeners = listeners_open(sv->base, specs, n, &lp, &err);
	if (sv->listeners == NULL) {
		log_warnx("serve: %s", err);
		free(err);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	/* Start-up trouble went to standard error as a command's; from here on the daemon's log. */
	log_init(sv->cfg->log != NULL && strcmp(sv->cfg->log, "syslog") == 0 ? LOG_TARGET_SYSLOG :
	    LOG_TARGET_DAEMON, false);
	for (size_t i = 0; listeners_spec(sv->listeners, i) != NULL; i++)
		log_info("listening on %s", listeners_spec(sv->listeners, i));
	log_info("serving %s with %u parse worker%s", sv->db_path, sv->cfg->workers,
	    sv->cfg->workers == 1 ? "" : "s");
	event_base_dispatch(sv->base);
	log_info("stopped after %llu message%s", sv->messages, sv->messages == 1 ? "" : "s");
out:
	sv->ended = true;
	listeners_close(sv->listeners);
	while (sv->conns != NULL) {
		struct conn *c = sv->conns;
		c->msg = NULL;
		conn_free(c);
	}
	worker_pool_free(sv->pool);	/* jobs it fails while freeing are dropped (ended) */
	commit_close(sv->commit);
	for (size_t i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(sv->base);
	setup_free(&sv->setup);
	allow_list_free(sv->allow);
	config_free(sv->cfg);
	free(sv->cfg);
	log_close();
	return ret;
}
