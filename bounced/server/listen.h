/* The listening sockets of a server (LMTP today, an HTTP listener later): unix sockets created
 * with their mode and group and no window in which they are more open than asked, TCP sockets
 * on loopback, or on other addresses only with an allow list, which is checked on every accept
 * (loopback clients are always let in). Set up before privileges are dropped, then driven by
 * the server's libevent loop. */
#ifndef BOUNCED_LISTEN_H
#define BOUNCED_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "allow.h"

struct event_base;
struct listeners;

/* Unix socket and TCP backlog: Postfix opens at most its process limit of connections. */
#define LISTEN_BACKLOG		256
/* Sockets of one set at most: a TCP host name may resolve to several addresses. */
#define LISTEN_MAX_SOCKETS	32
/* A peer's name as listen_accept_fn gets it: an IPv6 address and some room, or "unix". */
#define LISTEN_PEER_MAX		64

/* A client connected on fd (non-blocking, owned by the callee from now on); peer is its
 * address as text for the log. */
typedef void listen_accept_fn(void *ctx, int fd, const struct sockaddr *sa, const char *peer);

struct listen_params {
	const char *name;		/* the protocol, for the log lines ("lmtp") */
	unsigned int socket_mode;	/* of unix sockets */
	const char *socket_group;	/* of unix sockets; NULL = the process's */
	const struct allow_list *allow;	/* non-loopback TCP clients let in (may be NULL); kept
					 * by pointer: listeners_set_allow replaces it */
	listen_accept_fn *accept;	/* NULL: every socket is taken (listeners_take_fd) */
	void *ctx;
};

/* Opens the sockets of specs[0..n-1] ("unix:PATH", "tcp:HOST:PORT", "tcp:[V6]:PORT") and
 * watches them on base. A unix socket left by a previous run is replaced, one a running server
 * answers on is not. Returns a set (free with listeners_close) or NULL with *error_r naming the
 * spec and what is wrong (caller frees). */
struct listeners *listeners_open(struct event_base *base, const char *const *specs, size_t n,
    const struct listen_params *p, char **error_r);
/* The spec of the i-th socket (for "listening on" lines); NULL past the last. */
const char *listeners_spec(const struct listeners *ls, size_t i);
/* For a protocol library that accepts by itself (libevent's evhttp): a duplicate of the i-th
 * listening socket (the caller owns and closes it), after which the set no longer accepts on
 * that socket; -1 past the last. The allow list is then the caller's to check (allow.h).
 * listeners_close still closes the set's own descriptor and removes a unix socket's file. */
int listeners_take_fd(struct listeners *ls, size_t i);
/* Replaces the allow list checked on accept (after a reload); the caller keeps it alive. */
void listeners_set_allow(struct listeners *ls, const struct allow_list *allow);
/* Stops accepting, closes the sockets and removes the unix ones. NULL-safe. */
void listeners_close(struct listeners *ls);

/* Writes sa's address into buf (LISTEN_PEER_MAX bytes): an IP address, or "unix". */
void listen_peer_name(const struct sockaddr *sa, char *buf, size_t size);

#endif
