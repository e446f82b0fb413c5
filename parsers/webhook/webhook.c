/* ESP webhooks (see webhook.h): the strict JSON reader, the shared steps of every mapping, and
 * Mailgun's signature block. The SNS envelope is webhook_sns.c's. */
#include "webhook.h"

#include <gnutls/crypto.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "header.h"
#include "limits.h"
#include "strbuf.h"
#include "webhook_int.h"

static const char *const provider_names[WEBHOOK__COUNT] = {
	[WEBHOOK_SES] = "ses", [WEBHOOK_SENDGRID] = "sendgrid", [WEBHOOK_POSTMARK] = "postmark",
	[WEBHOOK_MAILGUN] = "mailgun", [WEBHOOK_SPARKPOST] = "sparkpost", [WEBHOOK_BREVO] = "brevo",
	[WEBHOOK_MAILJET] = "mailjet", [WEBHOOK_POSTAL] = "postal",
};

const char *
webhook_provider_name(enum webhook_provider p)
{
	return p < WEBHOOK__COUNT ? provider_names[p] : "?";
}

bool
webhook_provider_from_name(const char *name, enum webhook_provider *p_r)
{
	for (int i = 0; i < WEBHOOK__COUNT; i++)
		if (strcmp(name, provider_names[i]) == 0) {
			*p_r = (enum webhook_provider)i;
			return true;
		}
	return false;
}

void
webhook_batch_free(struct webhook_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		bounce_report_free(b->ev[i].rep);
		free(b->ev[i].key);
		free(b->ev[i].raw);
	}
	free(b->ev);
	memset(b, 0, sizeof *b);
}

bool
webhook_json_depth_ok(const char *p, size_t len, unsigned int max)
{
	unsigned int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return false;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return true;
}

json_t *
wh_load(const char *body, size_t len, char **error_r)
{
	if (!webhook_json_depth_ok(body, len, WEBHOOK_JSON_DEPTH_MAX)) {
		error_set(error_r, "JSON nested deeper than %d", WEBHOOK_JSON_DEPTH_MAX);
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		error_set(error_r, "malformed JSON at line %d column %d: %s", je.line, je.column,
		    je.text);
	return root;
}

const char *
wh_str(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *
wh_text(const json_t *o, const char *key, char buf[32])
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

const json_t *
wh_path(const json_t *o, ...)
{
	va_list ap;
	va_start(ap, o);
	const char *k;
	while (o != NULL && (k = va_arg(ap, const char *)) != NULL)
		o = json_is_object(o) ? json_object_get(o, k) : NULL;
	va_end(ap);
	return o;
}

bool
wh_bool(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_true(v);
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of text as hex (65 bytes with the NUL). */
static void
sha256_hex(const char *text, size_t len, char out[65])
{
	unsigned char d[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, text, len, d) != 0)
		memset(d, 0, sizeof d);	/* cannot happen with a built-in digest */
	hex(d, sizeof d, out);
}

/* jansson could not allocate: out of memory, as xmalloc treats it. */
static void
dump_failed(void)
{
	fputs("bounced: out of memory\n", stderr);
	abort();
}

/* Can id be a key as it is: short, and printable ASCII? */
static bool
plain_id(const char *id, size_t room)
{
	size_t n = strlen(id);
	if (n == 0 || n > room)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return false;
	return true;
}

struct webhook_event *
wh_event(struct wh *w, const json_t *obj, const char *type, const char *id,
    const char *const *skip)
{
	struct webhook_batch *b = w->b;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 4;
		b->ev = xrealloc(b->ev, b->cap * sizeof *b->ev);
	}
	struct webhook_event *ev = &b->ev[b->n++];
	memset(ev, 0, sizeof *ev);
	ev->rep = bounce_report_new();
	snprintf(ev->type, sizeof ev->type, "%s", type != NULL ? type : "");
	const char *prov = webhook_provider_name(w->p);
	struct strbuf k = STRBUF_INIT;
	char h[65];
	if (id != NULL && plain_id(id, WEBHOOK_KEY_MAX - strlen(prov) - 1)) {
		strbuf_printf(&k, "%s:%s", prov, id);
	} else if (id != NULL) {
		sha256_hex(id, strlen(id), h);
		strbuf_printf(&k, "%s:sha256:%s", prov, h);
	} else {
		/* The event's content, its members sorted, without those that change on a retry. */
		json_t *copy = json_deep_copy(obj);
		for (; skip != NULL && *skip != NULL; skip++)
			json_object_del(copy, *skip);
		char *text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(copy);
		if (text == NULL)
			dump_failed();
		sha256_hex(text, strlen(text), h);
		free(text);
		strbuf_printf(&k, "%s:sha256:%s", prov, h);
	}
	ev->key = strbuf_detach(&k);
	if (w->many) {
		ev->raw = json_dumps(obj, JSON_COMPACT);
		if (ev->raw == NULL)
			dump_failed();
		ev->raw_len = strlen(ev->raw);
	}
	return ev;
}

/* Copies at most max bytes of s, cut at a UTF-8 character boundary. */
static char *
cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return xstrdup(s);
	while (n > 0 && n > max)
		n--;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xstrndup(s, n);
}

struct bounce_recipient *
wh_rcpt(struct wh *w, struct webhook_event *ev, const char *address, const char *action,
    const char *status, const char *diag)
{
	if (address == NULL)
		return NULL;
	const char *p = address, *end = address + strlen(address);
	while (p < end && (*p == ' ' || *p == '\t' || *p == '<'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '>'))
		end--;
	if (end == p || (size_t)(end - p) > WEBHOOK_ADDRESS_MAX || ev->rep->nrcpts >= WEBHOOK_RCPTS_MAX)
		return NULL;
	for (const char *q = p; q < end; q++)
		if ((unsigned char)*q < ' ')
			return NULL;	/* no control characters in an address we keep */
	char *a = xstrndup(p, (size_t)(end - p));
	address_lower_domain(a);
	struct bounce_recipient *rc = bounce_report_add(ev->rep, a);
	free(a);
	if (rc == NULL)
		return NULL;
	bounce_set(&rc->action, action != NULL ? action : "");
	if (status != NULL) {
		/* Only an RFC 3463 code is a status; SES sometimes writes "5.0.0", SendGrid "5.1.1". */
		const char *s = status;
		while (*s == ' ')
			s++;
		size_t n = strlen(s);
		if (n >= 5 && n < sizeof rc->status && (s[0] == '2' || s[0] == '4' || s[0] == '5') &&
		    s[1] == '.' && strspn(s + 2, "0123456789.") == n - 2)
			memcpy(rc->status, s, n + 1);
	}
	if (diag != NULL && diag[0] != '\0') {
		/* SES and SparkPost put the DSN's type in front: "smtp; 550 ...". */
		if (strncmp(diag, "smtp;", 5) == 0) {
			diag += 5;
			while (*diag == ' ')
				diag++;
		}
		rc->diagnostic = cut(diag, LIMIT_DIAGNOSTIC_BYTES);
	}
	classify_recipient(rc, NULL, 0, w->rules, w->sc);
	return rc;
}

void
wh_verdict(struct bounce_recipient *rc, enum bounce_reason reason, enum wh_mode mode,
    const char *field, const char *value)
{
	if (rc == NULL)
		return;
	bool use = mode == WH_FORCE || (mode == WH_FILL && rc->reason == REASON_UNKNOWN) ||
	    (mode == WH_SENDER && rc->blame != BLAME_SENDER);
	struct strbuf ev = STRBUF_INIT;
	if (use) {
		rc->reason = reason;
		rc->class_ = bounce_reason_class(reason);
		rc->blame = bounce_reason_blame(reason);
		strbuf_printf(&ev, "%s=%s decided", field, value != NULL ? value : "");
		if (rc->evidence != NULL && rc->evidence[0] != '\0')
			strbuf_printf(&ev, " (the diagnostic gave: %s)", rc->evidence);
		free(rc->rule);
		free(rc->rule_at);
		rc->rule = rc->rule_at = NULL;
	} else {
		strbuf_printf(&ev, "%s; %s=%s weighed, the diagnostic decided",
		    rc->evidence != NULL ? rc->evidence : "", field, value != NULL ? value : "");
	}
	free(rc->evidence);
	rc->evidence = strbuf_detach(&ev);
}

void
wh_complaint(struct bounce_recipient *rc, const char *feedback_type, const char *field,
    const char *value)
{
	if (rc == NULL)
		return;
	wh_verdict(rc, REASON_COMPLAINT, WH_FORCE, field, value);
	bounce_set(&rc->feedback_type, feedback_type != NULL && feedback_type[0] != '\0' ?
	    feedback_type : "abuse");
}

int
webhook_map(enum webhook_provider p, const char *body, size_t len, const char *id,
    const struct rules *rules, struct rules_scratch *sc, struct webhook_batch *b, char **error_r)
{
	json_t *root = wh_load(body, len, error_r);
	if (root == NULL)
		return -1;
	struct wh w = { .rules = rules, .sc = sc, .b = b, .p = p, .many = json_is_array(root) };
	int rc;
	switch (p) {
	case WEBHOOK_SES: rc = wh_map_ses(&w, root, id, error_r); break;
	case WEBHOOK_SENDGRID: rc = wh_map_sendgrid(&w, root, error_r); break;
	case WEBHOOK_POSTMARK: rc = wh_map_postmark(&w, root, error_r); break;
	case WEBHOOK_MAILGUN: rc = wh_map_mailgun(&w, root, error_r); break;
	case WEBHOOK_SPARKPOST: rc = wh_map_sparkpost(&w, root, error_r); break;
	case WEBHOOK_BREVO: rc = wh_map_brevo(&w, root, error_r); break;
	case WEBHOOK_MAILJET: rc = wh_map_mailjet(&w, root, error_r); break;
	case WEBHOOK_POSTAL: rc = wh_map_postal(&w, root, error_r); break;
	default: error_set(error_r, "unknown provider"); rc = -1; break;
	}
	json_decref(root);
	if (rc == 0 && b->n + b->ignored > WEBHOOK_EVENTS_MAX) {
		error_set(error_r, "more than %d events in one body", WEBHOOK_EVENTS_MAX);
		rc = -1;
	}
	if (rc != 0)
		webhook_batch_free(b);
	return rc;
}

/* ---- Mailgun ---- */

void
webhook_mailgun_sig_clear(struct webhook_mailgun_sig *s)
{
	free(s->timestamp);
	free(s->token);
	free(s->signature);
	memset(s, 0, sizeof *s);
}

int
webhook_mailgun_sig(const char *body, size_t len, struct webhook_mailgun_sig *s, char **error_r)
{
	memset(s, 0, sizeof *s);
	json_t *root = wh_load(body, len, error_r);
	if (root == NULL)
		return -1;
	const json_t *sig = wh_path(root, "signature", NULL);
	char buf[32];
	const char *ts = wh_text(sig, "timestamp", buf);
	const char *token = wh_str(sig, "token"), *mac = wh_str(sig, "signature");
	int rc = 0;
	if (ts == NULL || token == NULL || mac == NULL) {
		error_set(error_r, "no signature {timestamp, token, signature} in the body");
		rc = -1;
	} else {
		s->timestamp = xstrdup(ts);
		s->token = xstrdup(token);
		s->signature = xstrdup(mac);
	}
	json_decref(root);
	return rc;
}
