/* Listening sockets (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "strbuf.h"

struct listener {
	struct listeners *set;
	struct evconnlistener *l;
	char *unix_path;		/* removed at close */
	char *spec;			/* as configured, for the log */
};

struct listeners {
	struct event_base *base;
	struct listen_params p;
	struct listener sockets[LISTEN_MAX_SOCKETS];
	size_t n;
};

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

void
listen_peer_name(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *a = NULL;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "unix");
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct listener *li = arg;
	const struct listen_params *p = &li->set->p;
	char peer[LISTEN_PEER_MAX];
	listen_peer_name(sa, peer, sizeof peer);
	if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) && !allow_is_loopback(sa) &&
	    !allow_list_match(p->allow, sa)) {
		log_warnx("%s: connection from %s refused: not in allow", p->name, peer);
		evutil_closesocket(fd);
		return;
	}
	if (p->accept == NULL) {
		evutil_closesocket(fd);	/* a socket not yet taken: nobody to serve it */
		return;
	}
	p->accept(p->ctx, fd, sa, peer);
}

static int
add_socket(struct listeners *ls, evutil_socket_t fd, const char *spec, const char *unix_path,
    char **error_r)
{
	if (ls->n >= LISTEN_MAX_SOCKETS) {
		close(fd);
		return fail(error_r, "%s: more than %d listening sockets", spec, LISTEN_MAX_SOCKETS);
	}
	evutil_make_socket_nonblocking(fd);
	struct listener *li = &ls->sockets[ls->n];
	li->set = ls;
	li->l = evconnlistener_new(ls->base, on_accept, li, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (li->l == NULL) {
		close(fd);
		return fail(error_r, "%s: cannot watch the socket: %s", spec, strerror(errno));
	}
	li->unix_path = unix_path != NULL ? xstrdup(unix_path) : NULL;
	li->spec = xstrdup(spec);
	ls->n++;
	return 0;
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
listen_unix(struct listeners *ls, const char *spec, const char *path, char **error_r)
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
	if (r != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		int e = errno;
		close(fd);
		return fail(error_r, "unix:%s: %s", path, strerror(e));
	}
	const char *group = ls->p.socket_group;
	if (group != NULL) {
		struct group *g = getgrnam(group);
		if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0) {
			close(fd);
			return fail(error_r, "unix:%s: cannot give to group %s%s%s", path, group,
			    g == NULL ? ": no such group" : ": ", g == NULL ? "" : strerror(errno));
		}
	}
	if (chmod(path, (mode_t)ls->p.socket_mode) != 0) {
		int e = errno;
		close(fd);
		return fail(error_r, "unix:%s: chmod: %s", path, strerror(e));
	}
	return add_socket(ls, fd, spec, path, error_r);
}

static int
listen_tcp(struct listeners *ls, const char *spec, const char *hostport, char **error_r)
{
	char host[256];
	const char *port = strrchr(hostport, ':');
	if (port == NULL || port == hostport || port[1] == '\0' ||
	    (size_t)(port - hostport) >= sizeof host)
		return fail(error_r, "tcp:%s: expected tcp:HOST:PORT", hostport);
	const char *h = hostport;
	size_t hl = (size_t)(port - hostport);
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
		return fail(error_r, "tcp:%s: %s", hostport, gai_strerror(r));
	int bound = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (!allow_is_loopback(ai->ai_addr) && allow_list_empty(ls->p.allow)) {
			freeaddrinfo(res);
			return fail(error_r, "tcp:%s: not a loopback address; name the clients in "
			    "[%s] allow to listen on it", hostport, ls->p.name);
		}
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
			int e = errno;
			close(fd);
			freeaddrinfo(res);
			return fail(error_r, "tcp:%s: %s", hostport, strerror(e));
		}
		if (add_socket(ls, fd, spec, NULL, error_r) != 0) {
			freeaddrinfo(res);
			return -1;
		}
		bound++;
	}
	freeaddrinfo(res);
	if (bound == 0)
		return fail(error_r, "tcp:%s: no address to listen on", hostport);
	return 0;
}

struct listeners *
listeners_open(struct event_base *base, const char *const *specs, size_t n,
    const struct listen_params *p, char **error_r)
{
	struct listeners *ls = xcalloc(1, sizeof *ls);
	ls->base = base;
	ls->p = *p;
	for (size_t i = 0; i < n; i++) {
		int r;
		if (strncmp(specs[i], "unix:", 5) == 0)
			r = listen_unix(ls, specs[i], specs[i] + 5, error_r);
		else if (strncmp(specs[i], "tcp:", 4) == 0)
			r = listen_tcp(ls, specs[i], specs[i] + 4, error_r);
		else
			r = fail(error_r, "%s: expected unix:PATH or tcp:HOST:PORT", specs[i]);
		if (r != 0) {
			listeners_close(ls);
			return NULL;
		}
	}
	return ls;
}

const char *
listeners_spec(const struct listeners *ls, size_t i)
{
	return i < ls->n ? ls->sockets[i].spec : NULL;
}

int
listeners_take_fd(struct listeners *ls, size_t i)
{
	if (i >= ls->n)
		return -1;
	evconnlistener_disable(ls->sockets[i].l);
	return fcntl(evconnlistener_get_fd(ls->sockets[i].l), F_DUPFD_CLOEXEC, 0);
}

void
listeners_set_allow(struct listeners *ls, const struct allow_list *allow)
{
	ls->p.allow = allow;
}

void
listeners_close(struct listeners *ls)
{
	if (ls == NULL)
		return;
	for (size_t i = 0; i < ls->n; i++) {
		evconnlistener_free(ls->sockets[i].l);
		if (ls->sockets[i].unix_path != NULL)
			unlink(ls->sockets[i].unix_path);
		free(ls->sockets[i].unix_path);
		free(ls->sockets[i].spec);
	}
	free(ls);
}
