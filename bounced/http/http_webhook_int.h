/* What http_webhook.c (the routes, the checks, storing) and http_sns.c (Amazon SNS) share. Not a
 * contract: only those two include it. */
#ifndef BOUNCED_HTTP_WEBHOOK_INT_H
#define BOUNCED_HTTP_WEBHOOK_INT_H

#include <stdbool.h>
#include <time.h>

#include <gnutls/abstract.h>

#include "commit.h"
#include "config.h"
#include "http_webhook.h"
#include "webhook.h"

struct allow_list;
struct http_request;

struct provider {
	struct webhooks *w;
	enum webhook_provider p;
	char route[32];			/* /webhooks/NAME */
	char source[32];		/* webhook:NAME */
	gnutls_pubkey_t key;		/* sendgrid, postal */
	char *secret;			/* mailgun signing key */
	size_t secret_len;
	char *basic;			/* "user:password" */
	size_t basic_len;
	char *token;
	size_t token_len;
	struct allow_list *allow;
	char *topics[CONFIG_MAX_TOPICS];
	size_t ntopics;
	char *cert_host, *tls_ca;
	bool subscribe;
	unsigned int max_age_s;
};

struct sns_cert {
	char *url;
	gnutls_pubkey_t key;
	time_t at;
};

struct mg_token {
	char token[96];
	unsigned char body[32];		/* SHA-256 of the body it came with */
	time_t at;
};

struct webhooks {
	struct event_base *base;
	const struct parse_setup *setup;
	struct commit_queue *commit;
	struct http_fetcher *fetcher;
	struct provider prov[WEBHOOK__COUNT];
	bool on[WEBHOOK__COUNT];
	struct sns_cert certs[SNS_CERT_CACHE_MAX];
	struct mg_token *tokens;	/* a ring of MAILGUN_TOKENS_MAX */
	size_t next_token;
};

/* One request in progress. */
struct job {
	struct provider *pv;
	struct http_request *req;
	struct webhook_sns sns;
	gnutls_sign_algorithm_t algo;
	struct webhook_batch b;
	struct commit_entry *entries;
	struct commit_request creq;
};

/* Frees j (not its request: answered before). */
void job_free(struct job *j);
/* Answers status with why, logs it with detail (may be NULL), frees j. */
void refuse(struct job *j, int status, const char *why, const char *detail);
/* Maps events (SES: the SNS Message, keyed by id) and stores them through group commit; j is
 * answered and freed when that is done. */
void store_events(struct job *j, const char *events, size_t len, const char *id);
/* Does b64 (may be NULL) decode to a signature of data by key under algo? */
bool signature_ok(gnutls_pubkey_t key, gnutls_sign_algorithm_t algo, const char *data, size_t len,
    const char *b64);

/* http_sns.c: an SNS request to /webhooks/ses, from its topic to its signature to its
 * Notification (stored), SubscriptionConfirmation (confirmed) or UnsubscribeConfirmation. */
void sns_handle(struct job *j);
/* Frees the certificate cache of w. */
void sns_certs_free(struct webhooks *w);

#endif
