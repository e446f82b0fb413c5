/* One pass of `bounced fetch` over one IMAP account: find the mail not yet processed, fetch it
 * in batches, record each batch in one store transaction, and only after the commit move, delete
 * or flag what was recorded. Safe to kill at any point: mail is acted on only once committed,
 * and a re-run finds committed-but-not-moved mail again as duplicates (content hash). */
#ifndef BOUNCED_IMAP_POLL_H
#define BOUNCED_IMAP_POLL_H

#include <stdbool.h>
#include <stddef.h>

struct store;
struct bounce_options;

enum imap_action {
	IMAP_ACT_MOVE,		/* to a folder, created when missing */
	IMAP_ACT_DELETE,	/* \Deleted + UID EXPUNGE */
	IMAP_ACT_FLAG,		/* \Seen + $BouncedDone, left in place */
	IMAP_ACT_LEAVE,		/* $BouncedDone only (not bounces: a person may still read it) */
};

/* Messages per batch (one transaction, one UID FETCH) unless configured. */
#define IMAP_BATCH_DEFAULT	100
/* Most messages per batch: bounds the FETCH response libetpan holds in memory. */
#define IMAP_BATCH_MAX		1000
/* Most bytes of mail per batch (by RFC822.SIZE); a single larger message gets its own batch. */
#define IMAP_BATCH_BYTES	(32u * 1024 * 1024)

struct imap_account {
	const char *name;		/* config section name, or the URL's user@host */
	const char *url;
	const char *password;
	const char *tls_ca;		/* NULL = system trust store */
	bool allow_plaintext;		/* imap:// without any TLS */
	enum imap_action action;	/* for bounces: MOVE, DELETE or FLAG */
	const char *move_to;
	enum imap_action nonbounce_action;	/* MOVE, DELETE or LEAVE */
	const char *nonbounce_move_to;
	size_t batch;			/* 0 = IMAP_BATCH_DEFAULT */
	unsigned int timeout_s;		/* per IMAP command; 0 = IMAP_COMMAND_TIMEOUT_S */
};

struct imap_poll_stats {
	size_t pending;		/* messages found not yet processed */
	size_t messages;	/* fetched and recorded (duplicates included) */
	size_t bounces;		/* of which bounces (kind != none) */
	size_t nonbounces;
	size_t duplicates;	/* already in the store: counted once, acted on again */
	size_t events;
	size_t suppressed;
	size_t truncated;	/* over LIMIT_MESSAGE_BYTES: only the head fetched and stored */
	unsigned int uidvalidity;
};

/* Processes account a into st. progress: draw a progress bar on stderr. Returns an exit status
 * (EXIT_OK, EXIT_TEMPFAIL, EXIT_NOPERM, EXIT_CONFIG, EXIT_SOFTWARE) and on failure *error_r
 * (caller frees). *stats_r is filled as far as the pass got. */
int imap_poll(struct store *st, const struct imap_account *a, const struct bounce_options *opt,
    bool progress, struct imap_poll_stats *stats_r, char **error_r);

#endif
