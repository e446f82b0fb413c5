/* TCP + GnuTLS client with real certificate verification (see tls.h for why it exists). */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "strbuf.h"

/* Reads in a row that yield no application data (session tickets, empty records) before a
 * read fails: real servers send one or two. */
#define TLS_MAX_EMPTY_READS	64

struct tls_conn {
	int fd;
	gnutls_session_t session;		/* NULL until tls_start succeeds */
	gnutls_certificate_credentials_t cred;
};

static void
set_io_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = TLS_IO_TIMEOUT_S, .tv_usec = 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Non-blocking connect bounded by TLS_IO_TIMEOUT_S; returns 0 or an errno value. */
static int
connect_one(const struct addrinfo *ai, int *fd_r)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    ai->ai_protocol);
	if (fd < 0)
		return errno;
	int err = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int n;
			do
				n = poll(&p, 1, TLS_IO_TIMEOUT_S * 1000);
			while (n < 0 && errno == EINTR);
			socklen_t len = sizeof err;
			if (n == 0)
				err = ETIMEDOUT;
			else if (n < 0)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		return err;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	set_io_timeouts(fd);
	*fd_r = fd;
	return 0;
}

int
tls_connect(const char *host, const char *port, struct tls_conn **conn_r, char **error_r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		error_set(error_r, "cannot resolve %s: %s", host, gai_strerror(gai));
		return TLS_ERR_NET;
	}
	int fd = -1, err = 0;
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		err = connect_one(ai, &fd);
		if (err == 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		error_set(error_r, "cannot connect to %s port %s: %s", host, port,
		    strerror(err ? err : ECONNREFUSED));
		return TLS_ERR_NET;
	}
	struct tls_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	*conn_r = c;
	return TLS_OK;
}

struct tls_conn *
tls_adopt(int fd)
{
	struct tls_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	return c;
}

static bool
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int
tls_start(struct tls_conn *c, const char *host, const char *ca_file, char **error_r)
{
	int ret;
	if (c->session != NULL) {
		error_set(error_r, "TLS already started");
		return TLS_ERR_NET;
	}
	if ((ret = gnutls_certificate_allocate_credentials(&c->cred)) < 0) {
		error_set(error_r, "GnuTLS: %s", gnutls_strerror(ret));
		return TLS_ERR_NET;
	}
	if (ca_file != NULL) {
		ret = gnutls_certificate_set_x509_trust_file(c->cred, ca_file, GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			error_set(error_r, "cannot read CA certificates from %s: %s", ca_file,
			    ret < 0 ? gnutls_strerror(ret) : "no certificate in the file");
			return TLS_ERR_CONFIG;
		}
	} else {
		ret = gnutls_certificate_set_x509_system_trust(c->cred);
		if (ret <= 0) {
			error_set(error_r, "cannot load the system trust store (%s); name a CA "
			    "file with tls_ca or --tls-ca",
			    ret < 0 ? gnutls_strerror(ret) : "no certificates");
			return TLS_ERR_CONFIG;
		}
	}
	gnutls_session_t s;
	if ((ret = gnutls_init(&s, GNUTLS_CLIENT)) < 0) {
		error_set(error_r, "GnuTLS: %s", gnutls_strerror(ret));
		return TLS_ERR_NET;
	}
	if ((ret = gnutls_set_default_priority(s)) < 0 ||
	    (ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred)) < 0 ||
	    (!is_ip_literal(host) &&
	     (ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host))) < 0)) {
		error_set(error_r, "GnuTLS: %s", gnutls_strerror(ret));
		gnutls_deinit(s);
		return TLS_ERR_NET;
	}
	/* Chain and host name are checked inside the handshake: it fails unless both hold. */
	gnutls_session_set_verify_cert(s, host, 0);
	gnutls_transport_set_int(s, c->fd);
	gnutls_handshake_set_timeout(s, TLS_IO_TIMEOUT_S * 1000);
	do
		ret = gnutls_handshake(s);
	while (ret == GNUTLS_E_INTERRUPTED);
	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		unsigned int status = gnutls_session_get_verify_cert_status(s);
		gnutls_datum_t out = { NULL, 0 };
		const char *why = "not trusted";
		if (gnutls_certificate_verification_status_print(status,
		    gnutls_certificate_type_get(s), &out, 0) == 0 && out.data != NULL)
			why = (const char *)out.data;
		error_set(error_r, "TLS certificate of %s refused: %s%s", host, why,
		    ca_file == NULL ? " (checked against the system trust store; "
		    "--tls-ca names another CA)" : "");
		gnutls_free(out.data);
		gnutls_deinit(s);
		return TLS_ERR_VERIFY;
	}
	if (ret < 0) {
		error_set(error_r, "TLS handshake with %s failed: %s", host,
		    ret == GNUTLS_E_AGAIN ? "timed out" : gnutls_strerror(ret));
		gnutls_deinit(s);
		return TLS_ERR_NET;
	}
	c->session = s;
	return TLS_OK;
}

ssize_t
tls_read(struct tls_conn *c, void *buf, size_t len)
{
	if (c->session == NULL) {
		ssize_t n;
		do
			n = read(c->fd, buf, len);
		while (n < 0 && errno == EINTR);
		return n;
	}
	/* A TLS 1.3 server sends session tickets after the handshake: gnutls_record_recv consumes
	 * them and returns GNUTLS_E_AGAIN without data. Wait for more, a bounded number of times
	 * so a peer sending only such records cannot keep us here. */
	for (int empty = 0; empty < TLS_MAX_EMPTY_READS; empty++) {
		if (gnutls_record_check_pending(c->session) == 0) {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			int r = poll(&p, 1, TLS_IO_TIMEOUT_S * 1000);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;	/* timeout or poll error */
		}
		ssize_t n = gnutls_record_recv(c->session, buf, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		return n < 0 ? -1 : n;
	}
	return -1;
}

ssize_t
tls_write(struct tls_conn *c, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n;
		if (c->session == NULL) {
			n = send(c->fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
		} else {
			n = gnutls_record_send(c->session, (const char *)buf + done, len - done);
			if (n == GNUTLS_E_INTERRUPTED)
				continue;
		}
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int
tls_fd(const struct tls_conn *c)
{
	return c->fd;
}

void
tls_close(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->session != NULL) {
		/* Bounded by SO_SNDTIMEO; the answer is not waited for. */
		(void)gnutls_bye(c->session, GNUTLS_SHUT_WR);
		gnutls_deinit(c->session);
	}
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
