/* The ESP webhook routes of the HTTP listener: /webhooks/PROVIDER for each [webhook PROVIDER]
 * section (a provider without one is not routed: 404). Each request is checked as its provider
 * signs or authenticates it (a wrong signature, key or password, a stale timestamp, a replayed
 * token, a topic or a certificate host not allowed: 401/403, logged, nothing stored), then its
 * events are mapped (parsers/webhook/) and stored through group commit: 200 only after the
 * commit that holds them, 503 on database trouble (the provider retries), 400 for a body that
 * is not the provider's JSON. */
#ifndef BOUNCED_HTTP_WEBHOOK_H
#define BOUNCED_HTTP_WEBHOOK_H

#include "config.h"

struct event_base;
struct http_server;
struct commit_queue;
struct parse_setup;
struct webhooks;

/* SNS signing certificates kept, by URL: AWS signs with one certificate per region at a time. */
#define SNS_CERT_CACHE_MAX	16
/* Seconds a fetched certificate is trusted before it is fetched again. */
#define SNS_CERT_TTL_S		(24 * 3600)
/* Mailgun tokens remembered to refuse a replay with another body (within max_age). */
#define MAILGUN_TOKENS_MAX	4096

/* Routes every configured provider on h. Reads the keys and secrets the sections name. setup
 * (the rules) and commit stay the caller's and must outlive the routes. NULL with *error_r
 * naming the section and what is wrong. */
struct webhooks *webhooks_open(struct event_base *base, struct http_server *h,
    const struct config *cfg, const struct parse_setup *setup, struct commit_queue *commit,
    char **error_r);
/* Stops the certificate fetches; call before freeing the server. NULL-safe. */
void webhooks_free(struct webhooks *w);

#endif
