/* A TCP connection to a mail server, optionally wrapped in TLS by GnuTLS with the certificate
 * chain verified against the system trust store (or a CA file) and the host name checked.
 * libetpan's own TLS does not verify certificates, so bounced does the handshake here and hands
 * libetpan a stream that reads and writes through this connection (imap.c). */
#ifndef BOUNCED_TLS_H
#define BOUNCED_TLS_H

#include <stddef.h>
#include <sys/types.h>

#define TLS_OK		0
#define TLS_ERR_NET	1	/* cannot connect, timeout, connection dropped: try again later */
#define TLS_ERR_VERIFY	2	/* the server's certificate is not trusted or not for this host */
#define TLS_ERR_CONFIG	3	/* the CA file cannot be read */

/* Seconds a connect, a TLS handshake or one read/write may take before the attempt fails. */
#define TLS_IO_TIMEOUT_S	60

struct tls_conn;

/* Connects to host:port over TCP, trying each address the name resolves to. Returns TLS_OK or
 * TLS_ERR_NET with *error_r set (caller frees). */
int tls_connect(const char *host, const char *port, struct tls_conn **conn_r, char **error_r);
/* Takes a connected socket as tls_connect would have made it (plain until tls_start): for the
 * IMAP fuzz target, which plays the server through a socketpair. Owns fd from then on. */
struct tls_conn *tls_adopt(int fd);

/* Starts TLS on an open connection (right after connecting for imaps, after STARTTLS for imap)
 * and verifies the peer: chain against ca_file (NULL = the system trust store) and host. Returns
 * TLS_OK, or TLS_ERR_* with *error_r a message naming the reason (caller frees). */
int tls_start(struct tls_conn *c, const char *host, const char *ca_file, char **error_r);

/* Reads or writes through TLS when started, else in plain text. Return as read(2)/write(2):
 * -1 on error or timeout. */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t len);
ssize_t tls_write(struct tls_conn *c, const void *buf, size_t len);
int tls_fd(const struct tls_conn *c);

/* Sends a TLS close_notify when started, closes the socket and frees c. NULL-safe. */
void tls_close(struct tls_conn *c);

#endif
