/* Amazon SES through SNS on /webhooks/ses (see http_webhook.h): the topic first (nothing else is
 * done for a stranger's topic), then the signing certificate's URL (its host must match
 * cert_host), the certificate itself (fetched off the loop by http_fetch.c, over verified TLS,
 * and cached by URL), the signature over SNS's string to sign, and only then the message. */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_fetch.h"
#include "http_server.h"
#include "http_verify.h"
#include "http_webhook_int.h"
#include "log.h"
#include "strbuf.h"

static void sns_verified(struct job *j, gnutls_pubkey_t key);

static struct sns_cert *
cert_cached(struct webhooks *w, const char *url)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < SNS_CERT_CACHE_MAX; i++)
		if (w->certs[i].url != NULL && strcmp(w->certs[i].url, url) == 0 &&
		    w->certs[i].at > now - SNS_CERT_TTL_S)
			return &w->certs[i];
	return NULL;
}

static gnutls_pubkey_t
cert_keep(struct webhooks *w, const char *url, gnutls_pubkey_t key)
{
	size_t oldest = 0;
	for (size_t i = 0; i < SNS_CERT_CACHE_MAX; i++) {
		if (w->certs[i].url != NULL && strcmp(w->certs[i].url, url) == 0) {
			oldest = i;
			break;
		}
		if (w->certs[i].at < w->certs[oldest].at)
			oldest = i;
	}
	struct sns_cert *c = &w->certs[oldest];
	free(c->url);
	if (c->key != NULL)
		gnutls_pubkey_deinit(c->key);
	c->url = xstrdup(url);
	c->key = key;
	c->at = time(NULL);
	return key;
}

static void
on_cert(void *ctx, const char *body, size_t len, const char *error)
{
	struct job *j = ctx;
	if (error != NULL) {
		log_warnx("http: %s: %s: signing certificate %s: %s: answered 503",
		    http_request_peer_name(j->req), j->pv->route, j->sns.signing_cert_url, error);
		http_reply_header(j->req, "Retry-After", "30");
		http_reply_error(j->req, 503, "cannot fetch the signing certificate, try again later");
		job_free(j);
		return;
	}
	gnutls_pubkey_t key;
	char *err = NULL;
	if (verify_cert_pubkey(body, len, (long long)time(NULL), &key, &err) != 0) {
		refuse(j, 403, "bad signing certificate", err);
		free(err);
		return;
	}
	sns_verified(j, cert_keep(j->pv->w, j->sns.signing_cert_url, key));
}

static void
on_subscribed(void *ctx, const char *body, size_t len, const char *error)
{
	struct job *j = ctx;
	if (error != NULL) {
		log_warnx("http: %s: %s: confirming the subscription to %s: %s: answered 503",
		    http_request_peer_name(j->req), j->pv->route, j->sns.topic_arn, error);
		http_reply_header(j->req, "Retry-After", "30");
		http_reply_error(j->req, 503, "cannot confirm the subscription, try again later");
	} else {
		log_info("http: %s: subscribed to %s", j->pv->source, j->sns.topic_arn);
		http_reply_json(j->req, 200, "{\"confirmed\":true}");
	}
	job_free(j);
}

/* The signature is checked against key; then the message is acted on. */
static void
sns_verified(struct job *j, gnutls_pubkey_t key)
{
	char *text = NULL, *err = NULL;
	size_t len;
	if (webhook_sns_string_to_sign(&j->sns, &text, &len, &err) != 0) {
		refuse(j, 400, "not a signed SNS message", err);
		free(err);
		return;
	}
	bool ok = signature_ok(key, j->algo, text, len, j->sns.signature);
	free(text);
	if (!ok) {
		refuse(j, 403, "bad signature", NULL);
		return;
	}
	if (strcmp(j->sns.type, "Notification") == 0) {
		store_events(j, j->sns.message, strlen(j->sns.message), j->sns.message_id);
	} else if (strcmp(j->sns.type, "SubscriptionConfirmation") == 0) {
		if (!j->pv->subscribe) {
			log_info("http: %s: subscription to %s not confirmed ([webhook ses] subscribe "
			    "= no): confirm it by hand: %s", j->pv->source, j->sns.topic_arn,
			    j->sns.subscribe_url != NULL ? j->sns.subscribe_url : "-");
			http_reply_json(j->req, 200, "{\"confirmed\":false}");
			job_free(j);
		} else if (!webhook_sns_url_ok(j->sns.subscribe_url, j->pv->cert_host, false))
			refuse(j, 403, "SubscribeURL on another host", j->sns.subscribe_url);
		else
			http_fetch(j->pv->w->fetcher, j->sns.subscribe_url, j->pv->tls_ca, on_subscribed,
			    j);
	} else {
		log_info("http: %s: unsubscribed from %s", j->pv->source, j->sns.topic_arn);
		http_reply_json(j->req, 200, "{\"unsubscribed\":true}");
		job_free(j);
	}
}

void
sns_handle(struct job *j)
{
	size_t blen;
	const char *body = http_request_body(j->req, &blen);
	char *err = NULL;
	if (webhook_sns_parse(body, blen, &j->sns, &err) != 0) {
		log_warnx("http: %s: %s: 400: %s", http_request_peer_name(j->req), j->pv->route, err);
		http_reply_error(j->req, 400, "%s", err);
		free(err);
		job_free(j);
		return;
	}
	/* The topic first: nothing else is done for a stranger's topic. */
	bool topic = false;
	for (size_t i = 0; i < j->pv->ntopics; i++)
		topic |= strcmp(j->sns.topic_arn, j->pv->topics[i]) == 0;
	if (!topic) {
		refuse(j, 403, "topic not allowed", j->sns.topic_arn);
		return;
	}
	const char *v = j->sns.signature_version;
	if (v != NULL && strcmp(v, "1") == 0)
		j->algo = GNUTLS_SIGN_RSA_SHA1;
	else if (v != NULL && strcmp(v, "2") == 0)
		j->algo = GNUTLS_SIGN_RSA_SHA256;
	else {
		refuse(j, 403, "unsigned or unknown SignatureVersion", v);
		return;
	}
	if (j->sns.signature == NULL ||
	    !webhook_sns_url_ok(j->sns.signing_cert_url, j->pv->cert_host, true)) {
		refuse(j, 403, "signing certificate URL on another host", j->sns.signing_cert_url);
		return;
	}
	struct sns_cert *c = cert_cached(j->pv->w, j->sns.signing_cert_url);
	if (c != NULL)
		sns_verified(j, c->key);
	else
		http_fetch(j->pv->w->fetcher, j->sns.signing_cert_url, j->pv->tls_ca, on_cert, j);
}

void
sns_certs_free(struct webhooks *w)
{
	for (size_t i = 0; i < SNS_CERT_CACHE_MAX; i++) {
		free(w->certs[i].url);
		if (w->certs[i].key != NULL)
			gnutls_pubkey_deinit(w->certs[i].key);
	}
}
