/* The HTTP listener's routing as a table, on a real loop and a real unix socket: a request
 * (raw bytes, as a client sends them) and the status and body it gets: exact and prefix routes,
 * methods, the authentication hook, the limits, JSON errors. A client thread sends each row on
 * its own connection while the main thread runs the loop. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "http_server.h"
#include "strbuf.h"

static const struct {
	const char *request;
	int status;
	const char *body;	/* the answer's body, or NULL: not compared */
} rows[] = {
	{ "POST /exact HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 200,
	  "{\"route\":\"exact\",\"tail\":\"\",\"body\":5}\n" },
	{ "GET /exact HTTP/1.1\r\nHost: t\r\n\r\n", 405,
	  "{\"error\":\"method not allowed at this path\"}\n" },
	{ "POST /exact/more HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 404,
	  "{\"error\":\"nothing is served at this path\"}\n" },
	{ "GET /v1/items/joe%40example.com HTTP/1.1\r\nHost: t\r\n\r\n", 200,
	  "{\"route\":\"prefix\",\"tail\":\"joe@example.com\",\"body\":0}\n" },
	{ "GET /v1/items/deeper/still?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", 200,
	  "{\"route\":\"longer prefix\",\"tail\":\"still\",\"body\":0}\n" },
	{ "GET /v1/items/a%00b HTTP/1.1\r\nHost: t\r\n\r\n", 400,
	  "{\"error\":\"the request's path is not a path\"}\n" },
	{ "DELETE /private HTTP/1.1\r\nHost: t\r\n\r\n", 401,
	  "{\"error\":\"authentication required\"}\n" },
	{ "DELETE /private HTTP/1.1\r\nHost: t\r\nAuthorization: let-me-in\r\n\r\n", 200,
	  "{\"route\":\"private\",\"tail\":\"\",\"body\":0}\n" },
	{ "DELETE /private HTTP/1.1\r\nHost: t\r\nAuthorization: other\r\n\r\n", 403,
	  "{\"error\":\"forbidden\"}\n" },
	/* Over max_body (64 bytes): evhttp's own 413 (an HTML page), the body read and dropped. */
	{ "POST /exact HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
	  413, NULL },
	{ "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 404, "{\"error\":\"nothing is served at this path\"}\n" },
};

static char sock_path[108];
static struct event_base *base;
static int failures;
static int done_pipe[2];	/* the client thread tells the loop it is done */

static void
handler(struct http_request *req, void *ctx)
{
	size_t len;
	http_request_body(req, &len);
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "{\"route\":\"%s\",\"tail\":\"%s\",\"body\":%zu}", (const char *)ctx,
	    http_request_tail(req), len);
	http_reply_json(req, 200, b.s);
	strbuf_free(&b);
}

static int
auth(struct http_request *req, void *ctx, const char **why_r)
{
	const char *a = http_request_header(req, "Authorization");
	*why_r = "test";
	if (a == NULL)
		return 401;
	return strcmp(a, "let-me-in") == 0 ? 0 : 403;
}

/* Sends request on a new connection and reads the whole answer (Connection: close). */
static void
ask(const char *request, struct strbuf *out)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		strbuf_puts(out, "connect failed");
		if (fd >= 0)
			close(fd);
		return;
	}
	struct strbuf req = STRBUF_INIT;
	/* Every request closes its connection, so the answer ends with it. */
	const char *eoh = strstr(request, "\r\n\r\n");
	strbuf_append(&req, request, (size_t)(eoh - request));
	strbuf_puts(&req, "\r\nConnection: close");
	strbuf_puts(&req, eoh);
	if (write(fd, req.s, req.len) != (ssize_t)req.len)
		strbuf_puts(out, "write failed");
	strbuf_free(&req);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		strbuf_append(out, buf, (size_t)n);
	close(fd);
}

static void *
client(void *arg)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct strbuf got = STRBUF_INIT;
		ask(rows[i].request, &got);
		int status = 0;
		const char *body = got.s != NULL ? strstr(got.s, "\r\n\r\n") : NULL;
		if (got.s == NULL || sscanf(got.s, "HTTP/1.1 %d", &status) != 1 ||
		    status != rows[i].status || body == NULL ||
		    (rows[i].body != NULL && strcmp(body + 4, rows[i].body) != 0) ||
		    (status != 413 && strstr(got.s, "Content-Type: application/json") == NULL)) {
			printf("FAIL row %zu: want %d %s\n  got %s\n", i, rows[i].status,
			    rows[i].body != NULL ? rows[i].body : "", got.s != NULL ? got.s : "");
			failures++;
		}
		strbuf_free(&got);
	}
	if (write(done_pipe[1], "x", 1) != 1)
		failures++;
	return NULL;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

int
main(void)
{
	char dir[] = "/tmp/wh-test-http-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock_path, sizeof sock_path, "%s/http.sock", dir);
	char spec[128];
	snprintf(spec, sizeof spec, "unix:%s", sock_path);
	const char *specs[] = { spec };
	base = event_base_new();
	struct http_params p = { .listen = specs, .nlisten = 1, .socket_mode = 0600,
		.max_connections = 8, .timeout_s = 10, .max_body = 64 };
	char *err = NULL;
	struct http_server *h = http_server_open(base, &p, &err);
	if (h == NULL) {
		printf("FAIL open: %s\n", err);
		return 1;
	}
	const struct http_route routes[] = {
		{ "/exact", HTTP_M_POST, NULL, NULL, handler, "exact" },
		{ "/v1/items/", HTTP_M_GET, NULL, NULL, handler, "prefix" },
		{ "/v1/items/deeper/", HTTP_M_GET, NULL, NULL, handler, "longer prefix" },
		{ "/private", HTTP_M_DELETE, auth, NULL, handler, "private" },
	};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (http_server_route(h, &routes[i]) != 0)
			printf("FAIL route %zu\n", i), failures++;
	if (http_server_route(h, &routes[0]) == 0)
		printf("FAIL a path routed twice\n"), failures++;
	if (pipe(done_pipe) != 0)
		return 1;
	struct event *tick = event_new(base, done_pipe[0], EV_READ, on_done, NULL);
	event_add(tick, NULL);
	pthread_t th;
	pthread_create(&th, NULL, client, NULL);
	event_base_dispatch(base);
	pthread_join(th, NULL);
	if (http_server_pending(h) != 0)
		printf("FAIL %zu requests left pending\n", http_server_pending(h)), failures++;
	event_free(tick);
	http_server_free(h);
	event_base_free(base);
	rmdir(dir);
	close(done_pipe[0]);
	close(done_pipe[1]);
	printf("%zu rows, %d failures\n", sizeof rows / sizeof rows[0], failures);
	return failures != 0;
}
