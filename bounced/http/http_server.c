/* The HTTP listener (see http_server.h). evhttp parses requests and writes answers; this file
 * keeps the routes, the limits and the connection count, and checks each new connection's
 * address.
 *
 * evhttp 2.1 accepts on its own and has no hook that sees the new socket, so the check runs
 * just after: the bufferevent evhttp asks for (evhttp_set_bevcb) is held (a reference) and
 * looked at on the next turn of the loop, when evhttp has given it the socket and its
 * connection. A client refused there (not in the allow list, or one connection too many) is
 * shut down; one whose request evhttp read first (in the same turn of the loop) is checked
 * against the allow list again when that request is handed over. */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "allow.h"
#include "listen.h"
#include "log.h"
#include "strbuf.h"

struct http_request {
	struct http_server *h;
	struct evhttp_request *ev;
	const struct http_route *route;
	char *path;
	const char *query;
	const char *tail;
	char *body;
	size_t len;
	struct sockaddr_storage sa;
	bool has_sa;
	char peer[LISTEN_PEER_MAX];
};

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct listeners *ls;
	struct evhttp_bound_socket *bound[LISTEN_MAX_SOCKETS];
	size_t nbound;
	struct allow_list *allow;
	struct http_params p;
	struct http_route routes[HTTP_ROUTES_MAX];
	size_t nroutes;
	size_t nconns;		/* connections let in and not closed */
	size_t pending;		/* requests handed to a handler, not answered */
	size_t inflight;	/* their body bytes */
	bool stopping;
};

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* ---- answers ---------------------------------------------------------------------------- */

static void
send_json(struct evhttp_request *ev, int status, const char *json)
{
	struct evbuffer *out = evbuffer_new();
	if (out == NULL)
		fatalx("http: out of memory");
	evbuffer_add(out, json, strlen(json));
	evbuffer_add(out, "\n", 1);
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(ev);
	evhttp_add_header(hdrs, "Content-Type", "application/json");
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	evhttp_send_reply(ev, status, reason_phrase(status), out);
	evbuffer_free(out);
}

static char *
error_json(const char *text)
{
	json_t *o = json_pack("{s:s}", "error", text);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s != NULL ? s : xstrdup("{\"error\":\"?\"}");
}

static void
send_error(struct evhttp_request *ev, int status, const char *text)
{
	char *j = error_json(text);
	send_json(ev, status, j);
	free(j);
}

static void
request_done(struct http_request *req)
{
	struct http_server *h = req->h;
	h->pending--;
	h->inflight -= req->len;
	free(req->path);
	free(req->body);
	free(req);
	if (h->stopping && h->pending == 0 && h->p.drained != NULL)
		h->p.drained(h->p.drained_ctx);
}

void
http_reply_json(struct http_request *req, int status, const char *json)
{
	send_json(req->ev, status, json);
	request_done(req);
}

void
http_reply_error(struct http_request *req, int status, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	va_start(ap, fmt);
	error_setv(&text, fmt, ap);
	va_end(ap);
	send_error(req->ev, status, text);
	free(text);
	request_done(req);
}

void
http_reply_header(struct http_request *req, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value);
}

/* ---- requests --------------------------------------------------------------------------- */

enum http_method
http_request_method(const struct http_request *req)
{
	switch (evhttp_request_get_command(req->ev)) {
	case EVHTTP_REQ_GET: return HTTP_M_GET;
	case EVHTTP_REQ_POST: return HTTP_M_POST;
	case EVHTTP_REQ_HEAD: return HTTP_M_HEAD;
	case EVHTTP_REQ_PUT: return HTTP_M_PUT;
	case EVHTTP_REQ_DELETE: return HTTP_M_DELETE;
	default: return 0;
	}
}

const char *
http_request_path(const struct http_request *req)
{
	return req->path;
}

const char *
http_request_query(const struct http_request *req)
{
	return req->query;
}

const char *
http_request_tail(const struct http_request *req)
{
	return req->tail;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const char *
http_request_body(const struct http_request *req, size_t *len_r)
{
	*len_r = req->len;
	return req->body;
}

const struct sockaddr *
http_request_peer(const struct http_request *req)
{
	return req->has_sa ? (const struct sockaddr *)&req->sa : NULL;
}

const char *
http_request_peer_name(const struct http_request *req)
{
	return req->peer;
}

static unsigned int
method_bit(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET: return HTTP_M_GET;
	case EVHTTP_REQ_POST: return HTTP_M_POST;
	case EVHTTP_REQ_HEAD: return HTTP_M_HEAD;
	case EVHTTP_REQ_PUT: return HTTP_M_PUT;
	case EVHTTP_REQ_DELETE: return HTTP_M_DELETE;
	default: return 0;
	}
}

static const struct http_route *
find_route(const struct http_server *h, const char *path, const char **tail_r)
{
	const struct http_route *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *r = &h->routes[i];
		size_t n = strlen(r->path);
		if (r->path[n - 1] != '/') {
			if (strcmp(path, r->path) == 0) {
				*tail_r = "";
				return r;
			}
		} else if (strncmp(path, r->path, n) == 0 && n > best_len) {
			best = r;
			best_len = n;
		}
	}
	*tail_r = best != NULL ? path + best_len : "";
	return best;
}

static void
on_request(struct evhttp_request *ev, void *arg)
{
	struct http_server *h = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	char peer[LISTEN_PEER_MAX] = "unix";
	const struct sockaddr *sa = evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;
	if (sa != NULL)
		listen_peer_name(sa, peer, sizeof peer);
	/* Checked here too: a client that sends its request with its connection may be read
	 * before check_conn has looked at it (I/O runs before timers in a turn of the loop). */
	if (sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
	    !allow_is_loopback(sa) && !allow_list_match(h->allow, sa)) {
		log_warnx("http: request from %s refused: not in allow", peer);
		send_error(ev, 403, "forbidden");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	size_t plen = 0;
	char *path = raw != NULL ? evhttp_uridecode(raw, 0, &plen) : NULL;
	if (path == NULL || plen != strlen(path) || path[0] != '/') {
		free(path);
		send_error(ev, 400, "the request's path is not a path");
		return;
	}
	const char *tail;
	const struct http_route *r = find_route(h, path, &tail);
	if (r == NULL) {
		free(path);
		send_error(ev, 404, "nothing is served at this path");
		return;
	}
	if ((method_bit(evhttp_request_get_command(ev)) & r->methods) == 0) {
		struct strbuf allow = STRBUF_INIT;
		static const char *const names[] = { "GET", "POST", "HEAD", "PUT", "DELETE" };
		for (size_t i = 0; i < 5; i++)
			if (r->methods & (1u << i))
				strbuf_printf(&allow, "%s%s", allow.len ? ", " : "", names[i]);
		evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow.s);
		strbuf_free(&allow);
		free(path);
		send_error(ev, 405, "method not allowed at this path");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(ev);
	size_t len = evbuffer_get_length(in);
	if (h->inflight + len > HTTP_INFLIGHT_MAX) {
		log_warnx("http: %s: %s answered 503: %zu bytes of requests wait for the store",
		    peer, path, h->inflight);
		free(path);
		evhttp_add_header(evhttp_request_get_output_headers(ev), "Retry-After", "5");
		send_error(ev, 503, "busy: try again later");
		return;
	}
	struct http_request *req = xcalloc(1, sizeof *req);
	req->h = h;
	req->ev = ev;
	req->route = r;
	req->path = path;
	req->tail = path + (tail - path);
	req->query = evhttp_uri_get_query(uri);
	snprintf(req->peer, sizeof req->peer, "%s", peer);
	if (sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		memcpy(&req->sa, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6));
		req->has_sa = true;
	}
	req->body = xmalloc(len + 1);
	if (len > 0 && evbuffer_remove(in, req->body, len) != (int)len)
		fatalx("http: cannot read a buffered body");
	req->body[len] = '\0';
	req->len = len;
	h->pending++;
	h->inflight += len;
	if (r->auth != NULL) {
		const char *why = "refused";
		int st = r->auth(req, r->auth_ctx, &why);
		if (st != 0) {
			log_warnx("http: %s: %s refused (%d): %s", peer, path, st, why);
			if (st == 401)
				http_reply_header(req, "WWW-Authenticate", "Basic realm=\"bounced\"");
			http_reply_error(req, st, st == 401 ? "authentication required" : "forbidden");
			return;
		}
	}
	r->handler(req, r->ctx);
}

/* ---- connections ------------------------------------------------------------------------ */

struct newconn {
	struct http_server *h;
	struct bufferevent *bev;
};

static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct http_server *h = arg;
	h->nconns--;
}

/* Refuses a connection before evhttp read anything: an answer written straight to the socket,
 * then shut down, so evhttp sees the end at once and frees it. */
static void
refuse(int fd, const char *json)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nRetry-After: 5\r\nConnection: close\r\n"
	    "\r\n%s\n", strlen(json) + 1, json);
	if (n > 0 && (size_t)n < sizeof msg &&
	    send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n) {
		/* written whole, in one segment; the client reads it before the close */
	}
	shutdown(fd, SHUT_RDWR);
}

static void
check_conn(evutil_socket_t unused, short what, void *arg)
{
	struct newconn *nc = arg;
	struct http_server *h = nc->h;
	bufferevent_data_cb rcb = NULL;
	void *cbarg = NULL;
	bufferevent_getcb(nc->bev, &rcb, NULL, NULL, &cbarg);
	evutil_socket_t fd = bufferevent_getfd(nc->bev);
	struct evhttp_connection *evcon = cbarg;
	/* evhttp freed it already (the client was quick, or gone): nothing to count. */
	if (rcb == NULL || fd < 0 || evcon == NULL ||
	    evhttp_connection_get_bufferevent(evcon) != nc->bev) {
		bufferevent_decref(nc->bev);
		free(nc);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char peer[LISTEN_PEER_MAX] = "unix";
	bool ok = true;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		const struct sockaddr *sa = (const struct sockaddr *)&ss;
		listen_peer_name(sa, peer, sizeof peer);
		if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
		    !allow_is_loopback(sa) && !allow_list_match(h->allow, sa)) {
			log_warnx("http: connection from %s refused: not in allow", peer);
			shutdown(fd, SHUT_RDWR);
			ok = false;
		}
	}
	if (ok && h->nconns >= h->p.max_connections) {
		log_warnx("http: %s: refused, %zu connections", peer, h->nconns);
		refuse(fd, "{\"error\":\"too many connections, try again later\"}");
		ok = false;
	}
	if (ok) {
		h->nconns++;
		evhttp_connection_set_closecb(evcon, on_conn_close, h);
	}
	bufferevent_decref(nc->bev);
	free(nc);
}

static struct bufferevent *
new_bev(struct event_base *base, void *arg)
{
	struct http_server *h = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	struct newconn *nc = xcalloc(1, sizeof *nc);
	nc->h = h;
	nc->bev = bev;
	bufferevent_incref(bev);
	const struct timeval now = { 0, 0 };
	if (event_base_once(base, -1, EV_TIMEOUT, check_conn, nc, &now) != 0)
		fatalx("http: cannot schedule a connection check");
	return bev;
}

/* ---- set-up ----------------------------------------------------------------------------- */

int
http_server_route(struct http_server *h, const struct http_route *r)
{
	if (h->nroutes == HTTP_ROUTES_MAX || r->path == NULL || r->path[0] != '/')
		return -1;
	for (size_t i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].path, r->path) == 0)
			return -1;
	h->routes[h->nroutes] = *r;
	h->routes[h->nroutes].path = xstrdup(r->path);
	h->nroutes++;
	return 0;
}

struct http_server *
http_server_open(struct event_base *base, const struct http_params *p, char **error_r)
{
	struct http_server *h = xcalloc(1, sizeof *h);
	h->base = base;
	h->p = *p;
	if (allow_list_parse(p->allow, &h->allow, error_r) != 0) {
		http_server_free(h);
		return NULL;
	}
	h->http = evhttp_new(base);
	if (h->http == NULL) {
		error_set(error_r, "cannot create the HTTP server");
		http_server_free(h);
		return NULL;
	}
	evhttp_set_max_headers_size(h->http, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)p->max_body);
	evhttp_set_timeout(h->http, (int)p->timeout_s);
	/* A body over the limit is read and dropped before the 413 and the close, so the client,
	 * still sending, gets the answer instead of a reset. */
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_default_content_type(h->http, "application/json");
	evhttp_set_gencb(h->http, on_request, h);
	evhttp_set_bevcb(h->http, new_bev, h);
	struct listen_params lp = {
		.name = "http", .socket_mode = p->socket_mode, .socket_group = p->socket_group,
		.allow = h->allow, .accept = NULL, .ctx = h,
	};
	h->ls = listeners_open(base, p->listen, p->nlisten, &lp, error_r);
	if (h->ls == NULL) {
		http_server_free(h);
		return NULL;
	}
	for (size_t i = 0; listeners_spec(h->ls, i) != NULL; i++) {
		int fd = listeners_take_fd(h->ls, i);
		struct evhttp_bound_socket *b = fd >= 0 ?
		    evhttp_accept_socket_with_handle(h->http, fd) : NULL;
		if (b == NULL) {
			if (fd >= 0)
				close(fd);
			error_set(error_r, "%s: cannot serve HTTP on it", listeners_spec(h->ls, i));
			http_server_free(h);
			return NULL;
		}
		h->bound[h->nbound++] = b;
	}
	return h;
}

const char *
http_server_spec(const struct http_server *h, size_t i)
{
	return h->ls != NULL ? listeners_spec(h->ls, i) : NULL;
}

void
http_server_stop(struct http_server *h)
{
	if (h == NULL || h->stopping)
		return;
	h->stopping = true;
	for (size_t i = 0; i < h->nbound; i++)
		evhttp_del_accept_socket(h->http, h->bound[i]);
	h->nbound = 0;
	listeners_close(h->ls);
	h->ls = NULL;
}

size_t
http_server_pending(const struct http_server *h)
{
	return h != NULL ? h->pending : 0;
}

void
http_server_free(struct http_server *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);	/* closes its sockets and connections */
	listeners_close(h->ls);
	allow_list_free(h->allow);
	for (size_t i = 0; i < h->nroutes; i++)
		free((char *)h->routes[i].path);
	free(h);
}
