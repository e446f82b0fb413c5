/* The LMTP server of `bounced serve`: listeners, connections driving lmtp sessions, the parse
 * worker pool and group commit into the store, on one libevent loop. */
#ifndef BOUNCED_LMTP_SERVER_H
#define BOUNCED_LMTP_SERVER_H

#include <stddef.h>

#include "config.h"

/* Unix socket backlog and TCP backlog: Postfix opens at most its process limit of connections. */
#define SERVER_LISTEN_BACKLOG	256
/* Messages stored in one transaction at most: keeps one commit short for readers of the views. */
#define SERVER_COMMIT_BATCH	512

struct serve_options {
	const char *config_path;	/* for SIGHUP; NULL = defaults */
	struct config *cfg;		/* loaded; the server takes ownership */
	const char *db_path;		/* --db, overrides cfg (kept across SIGHUP); NULL = cfg's */
	const char *const *listen;	/* --listen, overrides cfg; NULL = cfg's */
	size_t nlisten;
	const char *hostname;		/* NULL = gethostname() */
	unsigned int workers;		/* --workers, overrides cfg (kept across SIGHUP); 0 = cfg's */
};

/* Runs until SIGTERM/SIGINT and all in-flight messages are answered. Returns an exit status
 * (commands.h): EXIT_OK after a clean stop. */
int lmtp_server_run(const struct serve_options *o);

#endif
