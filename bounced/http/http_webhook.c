/* ESP webhooks on the HTTP listener (see http_webhook.h): the routes, each provider's check but
 * SNS's (http_sns.c), and storing what passed. Trust boundary: nothing of a body is mapped
 * before its provider's check passed. SNS and Mailgun sign fields inside the JSON, so their
 * envelope is read first (strictly: a duplicated key is refused, so the verifier and the mapper
 * cannot read two values of one field); everything else is verified over the raw bytes. */
#include "http_webhook.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "allow.h"
#include "commit.h"
#include "http_fetch.h"
#include "http_server.h"
#include "http_verify.h"
#include "log.h"
#include "setup.h"
#include "store.h"
#include "strbuf.h"
#include "webhook.h"
#include "http_webhook_int.h"

void
job_free(struct job *j)
{
	webhook_sns_clear(&j->sns);
	webhook_batch_free(&j->b);
	free(j->entries);
	free(j);
}

void
refuse(struct job *j, int status, const char *why, const char *detail)
{
	log_warnx("http: %s: %s refused (%d): %s%s%s", http_request_peer_name(j->req),
	    j->pv->route, status, why, detail != NULL ? ": " : "", detail != NULL ? detail : "");
	http_reply_error(j->req, status, "%s", why);
	job_free(j);
}

/* ---- storing ------------------------------------------------------------------------------ */

/* A JSON string of s; bytes that are not UTF-8 (a wording cut inside a character) as '?'. */
static json_t *
jstr(const char *s)
{
	json_t *v = json_string(s != NULL ? s : "");
	if (v != NULL)
		return v;
	char *copy = xstrdup(s);
	for (unsigned char *p = (unsigned char *)copy; *p != '\0'; p++)
		if (*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

static void
stored(struct commit_request *creq)
{
	struct job *j = creq->ctx;
	struct webhook_batch *b = &j->b;
	if (creq->rc != STORE_OK) {
		log_warnx("http: %s: %s: %zu event%s not stored (store error %d): answered 503",
		    http_request_peer_name(j->req), j->pv->source, b->n, b->n == 1 ? "" : "s",
		    creq->rc);
		http_reply_header(j->req, "Retry-After", "30");
		http_reply_error(j->req, 503, "database unavailable, try again later");
		job_free(j);
		return;
	}
	json_t *events = json_array();
	size_t dup = 0;
	struct strbuf line = STRBUF_INIT;
	for (size_t i = 0; i < b->n; i++) {
		const struct webhook_event *ev = &b->ev[i];
		const struct store_add_result *res = &j->entries[i].res;
		dup += res->duplicate;
		json_t *rcpts = json_array();
		for (size_t k = 0; k < ev->rep->nrcpts; k++) {
			const struct bounce_recipient *r = &ev->rep->rcpts[k];
			json_array_append_new(rcpts, json_pack("{s:o, s:s, s:s, s:s, s:o}",
			    "address", jstr(r->address), "class", bounce_class_name(r->class_),
			    "reason", bounce_reason_name(r->reason), "blame", bounce_blame_name(r->blame),
			    "evidence", jstr(r->evidence)));
			if (i < 4)
				strbuf_printf(&line, " %s=%s/%s", r->address,
				    bounce_class_name(r->class_), bounce_reason_name(r->reason));
		}
		json_array_append_new(events, json_pack("{s:o, s:o, s:b, s:I, s:o}", "key",
		    jstr(ev->key), "type", jstr(ev->type), "duplicate", res->duplicate, "stored_as",
		    (json_int_t)res->message_rowid, "recipients", rcpts));
	}
	log_info("http: %s: %s: %zu event%s, %zu new, %zu duplicate, %zu ignored:%s%s",
	    http_request_peer_name(j->req), j->pv->source, b->n, b->n == 1 ? "" : "s", b->n - dup,
	    dup, b->ignored, line.len ? line.s : " -", b->n > 4 ? " ..." : "");
	strbuf_free(&line);
	json_t *o = json_pack("{s:I, s:I, s:I, s:o}", "stored", (json_int_t)(b->n - dup),
	    "duplicates", (json_int_t)dup, "ignored", (json_int_t)b->ignored, "events", events);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_reply_json(j->req, 200, text != NULL ? text : "{}");
	free(text);
	job_free(j);
}

/* Maps events (SES: the SNS Message) and hands them to group commit. */
void
store_events(struct job *j, const char *events, size_t len, const char *id)
{
	char *err = NULL;
	const struct parse_setup *setup = j->pv->w->setup;
	if (webhook_map(j->pv->p, events, len, id, setup->rules, setup->scratch, &j->b, &err) != 0) {
		log_warnx("http: %s: %s: 400: %s", http_request_peer_name(j->req), j->pv->route, err);
		http_reply_error(j->req, 400, "%s", err);
		free(err);
		job_free(j);
		return;
	}
	size_t blen;
	const char *body = http_request_body(j->req, &blen);
	if (j->b.n == 0) {
		log_info("http: %s: %s: no bounce, complaint or delivery (%zu ignored)",
		    http_request_peer_name(j->req), j->pv->source, j->b.ignored);
		char text[96];
		snprintf(text, sizeof text, "{\"stored\":0,\"duplicates\":0,\"ignored\":%zu,\"events\":[]}",
		    j->b.ignored);
		http_reply_json(j->req, 200, text);
		job_free(j);
		return;
	}
	j->entries = xcalloc(j->b.n, sizeof *j->entries);
	for (size_t i = 0; i < j->b.n; i++) {
		const struct webhook_event *ev = &j->b.ev[i];
		j->entries[i].msg = (struct store_msg){
			.data = ev->raw != NULL ? ev->raw : body,
			.len = ev->raw != NULL ? ev->raw_len : blen,
			.source = j->pv->source, .event_key = ev->key,
		};
		j->entries[i].rep = ev->rep;
	}
	j->creq = (struct commit_request){ .entries = j->entries, .n = j->b.n, .done = stored,
		.ctx = j };
	commit_submit(j->pv->w->commit, &j->creq);
}

/* ---- checks ----------------------------------------------------------------------------- */

/* A signed timestamp (decimal unix seconds) within max_age of now? */
static bool
fresh(const char *ts, unsigned int max_age)
{
	if (ts == NULL || *ts == '\0' || strspn(ts, "0123456789") != strlen(ts) || strlen(ts) > 12)
		return false;
	long long t = strtoll(ts, NULL, 10), now = (long long)time(NULL);
	return t >= now - (long long)max_age && t <= now + (long long)max_age;
}

bool
signature_ok(gnutls_pubkey_t key, gnutls_sign_algorithm_t algo, const char *data, size_t len,
    const char *b64)
{
	unsigned char *sig;
	size_t slen;
	if (b64 == NULL || verify_b64_decode(b64, strlen(b64), &sig, &slen) != 0)
		return false;
	bool ok = verify_signature(key, algo, data, len, sig, slen);
	free(sig);
	return ok;
}

static void
sendgrid(struct job *j)
{
	const char *sig = http_request_header(j->req, "X-Twilio-Email-Event-Webhook-Signature");
	const char *ts = http_request_header(j->req, "X-Twilio-Email-Event-Webhook-Timestamp");
	if (sig == NULL || ts == NULL) {
		refuse(j, 401, "no signature", "X-Twilio-Email-Event-Webhook-Signature/-Timestamp "
		    "missing");
		return;
	}
	if (!fresh(ts, j->pv->max_age_s)) {
		refuse(j, 403, "stale or bad timestamp", ts);
		return;
	}
	size_t blen;
	const char *body = http_request_body(j->req, &blen);
	struct strbuf signed_ = STRBUF_INIT;
	strbuf_puts(&signed_, ts);
	strbuf_append(&signed_, body, blen);
	bool ok = signature_ok(j->pv->key, GNUTLS_SIGN_ECDSA_SHA256, signed_.s, signed_.len, sig);
	strbuf_free(&signed_);
	if (!ok) {
		refuse(j, 403, "bad signature", NULL);
		return;
	}
	store_events(j, body, blen, NULL);
}

static void
postal(struct job *j)
{
	const char *sig = http_request_header(j->req, "X-Postal-Signature-256");
	if (sig == NULL) {
		refuse(j, 401, "no signature", "X-Postal-Signature-256 missing");
		return;
	}
	size_t blen;
	const char *body = http_request_body(j->req, &blen);
	if (!signature_ok(j->pv->key, GNUTLS_SIGN_RSA_SHA256, body, blen, sig)) {
		refuse(j, 403, "bad signature", NULL);
		return;
	}
	store_events(j, body, blen, NULL);
}

/* A token seen with another body is a replay of a captured signature: Mailgun signs only the
 * timestamp and the token, not the event. The same body again is a retry (stored once). */
static bool
mailgun_replay(struct webhooks *w, const char *token, const char *body, size_t len,
    unsigned int max_age)
{
	unsigned char h[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, body, len, h);
	time_t now = time(NULL);
	for (size_t i = 0; i < MAILGUN_TOKENS_MAX; i++) {
		struct mg_token *t = &w->tokens[i];
		if (t->at == 0 || t->at < now - (time_t)max_age || strcmp(t->token, token) != 0)
			continue;
		return memcmp(t->body, h, sizeof h) != 0;
	}
	struct mg_token *t = &w->tokens[w->next_token];
	w->next_token = (w->next_token + 1) % MAILGUN_TOKENS_MAX;
	snprintf(t->token, sizeof t->token, "%s", token);
	memcpy(t->body, h, sizeof h);
	t->at = now;
	return false;
}

static void
mailgun(struct job *j)
{
	size_t blen;
	const char *body = http_request_body(j->req, &blen);
	struct webhook_mailgun_sig s;
	char *err = NULL;
	if (webhook_mailgun_sig(body, blen, &s, &err) != 0) {
		log_warnx("http: %s: %s: 400: %s", http_request_peer_name(j->req), j->pv->route, err);
		http_reply_error(j->req, 400, "%s", err);
		free(err);
		job_free(j);
		return;
	}
	struct strbuf data = STRBUF_INIT;
	strbuf_printf(&data, "%s%s", s.timestamp, s.token);
	bool ok = fresh(s.timestamp, j->pv->max_age_s);
	bool mac = ok && strlen(s.token) < sizeof ((struct mg_token *)0)->token &&
	    verify_hmac_sha256_hex(j->pv->secret, j->pv->secret_len, data.s, data.len, s.signature);
	strbuf_free(&data);
	if (!ok)
		refuse(j, 403, "stale or bad timestamp", s.timestamp);
	else if (!mac)
		refuse(j, 403, "bad signature", NULL);
	else if (mailgun_replay(j->pv->w, s.token, body, blen, j->pv->max_age_s))
		refuse(j, 403, "replayed token", s.token);
	else
		store_events(j, body, blen, NULL);
	webhook_mailgun_sig_clear(&s);
}

/* ---- routes -------------------------------------------------------------------------------- */

/* The source address and the credentials every provider may have. */
static int
auth(struct http_request *req, void *ctx, const char **why_r)
{
	struct provider *pv = ctx;
	const struct sockaddr *sa = http_request_peer(req);
	if (pv->allow != NULL && (sa == NULL || !allow_list_match(pv->allow, sa))) {
		*why_r = "source address not in the provider's allow";
		return 403;
	}
	if (pv->basic == NULL && pv->token == NULL)
		return 0;
	const char *a = http_request_header(req, "Authorization");
	if (a == NULL) {
		*why_r = "no credentials";
		return 401;
	}
	if (pv->basic != NULL && strncasecmp(a, "Basic ", 6) == 0) {
		unsigned char *dec;
		size_t n;
		const char *b = a + 6;
		if (verify_b64_decode(b, strlen(b), &dec, &n) == 0) {
			bool ok = verify_equal(dec, n, pv->basic, pv->basic_len);
			free(dec);
			if (ok)
				return 0;
		}
	} else if (pv->token != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		const char *t = a + 7;
		if (verify_equal(t, strlen(t), pv->token, pv->token_len))
			return 0;
	}
	*why_r = "wrong credentials";
	return 401;
}

static void
handle(struct http_request *req, void *ctx)
{
	struct provider *pv = ctx;
	struct job *j = xcalloc(1, sizeof *j);
	j->pv = pv;
	j->req = req;
	size_t blen;
	const char *body;
	switch (pv->p) {
	case WEBHOOK_SES: sns_handle(j); break;
	case WEBHOOK_SENDGRID: sendgrid(j); break;
	case WEBHOOK_MAILGUN: mailgun(j); break;
	case WEBHOOK_POSTAL: postal(j); break;
	default:
		body = http_request_body(req, &blen);
		store_events(j, body, blen, NULL);
		break;
	}
}

static int
load_secret(const char *path, const char *section, char **out_r, size_t *len_r, char **error_r)
{
	char *err = NULL;
	if (verify_read_secret(path, out_r, len_r, &err) != 0) {
		error_set(error_r, "[webhook %s]: %s", section, err);
		free(err);
		return -1;
	}
	return 0;
}

static int
provider_open(struct provider *pv, const struct config_webhook *c, char **error_r)
{
	snprintf(pv->route, sizeof pv->route, "/webhooks/%s", c->name);
	snprintf(pv->source, sizeof pv->source, "webhook:%s", c->name);
	pv->max_age_s = c->max_age_s;
	pv->subscribe = c->subscribe;
	pv->cert_host = xstrdup(c->cert_host != NULL ? c->cert_host : WEBHOOK_SNS_HOST_DEFAULT);
	pv->tls_ca = c->tls_ca != NULL ? xstrdup(c->tls_ca) : NULL;
	for (size_t i = 0; i < c->ntopics; i++)
		pv->topics[pv->ntopics++] = xstrdup(c->topic_arn[i]);
	if (c->allow != NULL && allow_list_parse(c->allow, &pv->allow, error_r) != 0)
		return -1;
	char *text;
	size_t len;
	if (c->public_key_file != NULL) {
		char *err = NULL;
		if (load_secret(c->public_key_file, c->name, &text, &len, error_r) != 0)
			return -1;
		int rc = verify_pubkey_load(text, len, &pv->key, &err);
		free(text);
		if (rc != 0) {
			error_set(error_r, "[webhook %s]: %s: %s", c->name, c->public_key_file, err);
			free(err);
			return -1;
		}
	}
	if (c->signing_key_file != NULL &&
	    load_secret(c->signing_key_file, c->name, &pv->secret, &pv->secret_len, error_r) != 0)
		return -1;
	if (c->user != NULL) {
		if (load_secret(c->password_file, c->name, &text, &len, error_r) != 0)
			return -1;
		struct strbuf b = STRBUF_INIT;
		strbuf_printf(&b, "%s:%s", c->user, text);
		free(text);
		pv->basic_len = b.len;
		pv->basic = strbuf_detach(&b);
	}
	if (c->token_file != NULL &&
	    load_secret(c->token_file, c->name, &pv->token, &pv->token_len, error_r) != 0)
		return -1;
	return 0;
}

static void
provider_close(struct provider *pv)
{
	if (pv->key != NULL)
		gnutls_pubkey_deinit(pv->key);
	free(pv->secret);
	free(pv->basic);
	free(pv->token);
	allow_list_free(pv->allow);
	for (size_t i = 0; i < pv->ntopics; i++)
		free(pv->topics[i]);
	free(pv->cert_host);
	free(pv->tls_ca);
}

struct webhooks *
webhooks_open(struct event_base *base, struct http_server *h, const struct config *cfg,
    const struct parse_setup *setup, struct commit_queue *commit, char **error_r)
{
	struct webhooks *w = xcalloc(1, sizeof *w);
	w->base = base;
	w->setup = setup;
	w->commit = commit;
	for (size_t i = 0; i < cfg->nwebhook; i++) {
		enum webhook_provider p;
		if (!webhook_provider_from_name(cfg->webhook[i].name, &p))
			continue;	/* config.c let in only providers */
		struct provider *pv = &w->prov[p];
		pv->w = w;
		pv->p = p;
		w->on[p] = true;
		if (provider_open(pv, &cfg->webhook[i], error_r) != 0) {
			webhooks_free(w);
			return NULL;
		}
		struct http_route r = { .path = pv->route, .methods = HTTP_M_POST, .auth = auth,
			.auth_ctx = pv, .handler = handle, .ctx = pv };
		if (http_server_route(h, &r) != 0) {
			error_set(error_r, "%s: cannot route", pv->route);
			webhooks_free(w);
			return NULL;
		}
		if (p == WEBHOOK_MAILGUN)
			w->tokens = xcalloc(MAILGUN_TOKENS_MAX, sizeof *w->tokens);
		if (p == WEBHOOK_SES && (w->fetcher = http_fetcher_new(base)) == NULL) {
			error_set(error_r, "[webhook ses]: cannot start the certificate fetcher");
			webhooks_free(w);
			return NULL;
		}
	}
	return w;
}

void
webhooks_free(struct webhooks *w)
{
	if (w == NULL)
		return;
	http_fetcher_free(w->fetcher);
	for (int i = 0; i < WEBHOOK__COUNT; i++)
		if (w->on[i])
			provider_close(&w->prov[i]);
	sns_certs_free(w);
	free(w->tokens);
	free(w);
}
