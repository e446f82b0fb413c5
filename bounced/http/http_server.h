/* The HTTP listener of `bounced serve`: libevent's evhttp on the same loop as LMTP, on the
 * sockets listen.h opens (loopback or unix by default; other addresses only with an allow list,
 * checked for each connection). A table of routes (a path, or a prefix ending in '/', the
 * methods it takes, an authentication hook and a handler) serves the webhooks today and the
 * API, /metrics, /healthz and /report later. Every limit is named: body and header sizes,
 * connections, time to send a request, bytes of bodies waiting for their commit. Answers the
 * server writes itself (no route: 404, wrong method: 405, over a limit) are JSON
 * {"error": "..."} like the handlers'.
 *
 * Threads: everything runs on the loop's thread. */
#ifndef BOUNCED_HTTP_SERVER_H
#define BOUNCED_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

struct event_base;
struct http_server;
struct http_request;

/* Header block of a request at most: providers send a dozen headers; a large one is an attack. */
#define HTTP_HEADERS_MAX	(16u * 1024)
/* Bytes of request bodies held while they wait for their commit, over all connections; past it
 * a request is answered 503 (retry later) instead of buffering without bound. */
#define HTTP_INFLIGHT_MAX	(64u * 1024 * 1024)
/* Routes of one server at most. */
#define HTTP_ROUTES_MAX		64

enum http_method {
	HTTP_M_GET = 1,
	HTTP_M_POST = 2,
	HTTP_M_HEAD = 4,
	HTTP_M_PUT = 8,
	HTTP_M_DELETE = 16,
};

/* Lets a request in (returns 0) or refuses it: returns 401 or 403 and sets *why (a static
 * string, for the log; the client is told only the status). Runs before the body is handed to
 * the handler, on every request of the route. */
typedef int http_auth_fn(struct http_request *req, void *ctx, const char **why_r);
/* Answers req, now or later (after a commit, a fetch), exactly once with http_reply*. */
typedef void http_handler_fn(struct http_request *req, void *ctx);

struct http_route {
	const char *path;	/* "/webhooks/ses"; a prefix when it ends in '/' ("/v1/suppressions/") */
	unsigned int methods;	/* enum http_method bits */
	http_auth_fn *auth;	/* NULL: none */
	void *auth_ctx;
	http_handler_fn *handler;
	void *ctx;
};

struct http_params {
	const char *const *listen;	/* listen.h specs ("tcp:HOST:PORT", "unix:PATH") */
	size_t nlisten;
	const char *allow;		/* non-loopback clients let in (allow.h text); NULL: none */
	unsigned int socket_mode;	/* of unix sockets */
	const char *socket_group;
	unsigned int max_connections;
	unsigned int timeout_s;		/* to send a whole request; idle keep-alive */
	size_t max_body;		/* bytes */
	void (*drained)(void *ctx);	/* called when, stopping, the last request is answered */
	void *drained_ctx;
};

/* Opens the listener on base. NULL with *error_r (caller frees) naming the spec or setting. */
struct http_server *http_server_open(struct event_base *base, const struct http_params *p,
    char **error_r);
/* Adds a route (path copied). -1 when the table is full or the path is routed already. */
int http_server_route(struct http_server *h, const struct http_route *r);
/* The spec of the i-th socket, for "listening on" lines; NULL past the last. */
const char *http_server_spec(const struct http_server *h, size_t i);
/* Stops accepting; requests in progress are still answered. */
void http_server_stop(struct http_server *h);
/* Requests taken and not answered yet. */
size_t http_server_pending(const struct http_server *h);
/* Closes everything; requests not answered are dropped (their clients see the connection
 * close, and retry). NULL-safe. */
void http_server_free(struct http_server *h);

/* ---- a request, for handlers and hooks (valid until answered) ---- */
enum http_method http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);	/* decoded, without the query */
const char *http_request_query(const struct http_request *req);	/* raw, or NULL */
/* A request header (first of its name, case ignored), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* The body (NUL-terminated for convenience; may hold NULs; len bytes). */
const char *http_request_body(const struct http_request *req, size_t *len_r);
/* The client: its address (NULL for a unix socket) and its name for the log. */
const struct sockaddr *http_request_peer(const struct http_request *req);
const char *http_request_peer_name(const struct http_request *req);
/* The route's tail after a prefix route's path ("" for an exact route). */
const char *http_request_tail(const struct http_request *req);

/* Answers with a JSON body (json is copied; a line break is added). */
void http_reply_json(struct http_request *req, int status, const char *json);
/* Answers {"error": "<text>"} with status. */
void http_reply_error(struct http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a response header before the reply (WWW-Authenticate, Retry-After...). */
void http_reply_header(struct http_request *req, const char *name, const char *value);

#endif
