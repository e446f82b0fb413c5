/* The LMTP server of `bounced serve`: connections driving lmtp sessions, on one libevent loop
 * with the listeners (listen.h), the parse worker pool (lmtp_worker.h), group commit into the
 * store (commit.h) and, when configured, the HTTP listener (http_server.h, http_webhook.h). */
#ifndef BOUNCED_LMTP_SERVER_H
#define BOUNCED_LMTP_SERVER_H

#include <stddef.h>

#include "config.h"

struct serve_options {
	const char *config_path;	/* for SIGHUP; NULL = defaults */
	struct config *cfg;		/* loaded; the server takes ownership */
	const char *db_path;		/* --db, overrides cfg (kept across SIGHUP); NULL = cfg's */
	const char *const *listen;	/* --listen, overrides cfg; NULL = cfg's */
	size_t nlisten;
	const char *const *http_listen;	/* --listen http:..., overrides [http] listen; NULL =
					 * cfg's (none: no HTTP listener) */
	size_t nhttp_listen;
	const char *hostname;		/* NULL = gethostname() */
	unsigned int workers;		/* --workers, overrides cfg (kept across SIGHUP); 0 = cfg's */
};

/* Runs until SIGTERM/SIGINT and all in-flight messages are answered. Returns an exit status
 * (commands.h): EXIT_OK after a clean stop. */
int lmtp_server_run(const struct serve_options *o);

#endif
