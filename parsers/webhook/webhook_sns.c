/* Amazon SNS, the envelope of SES notifications (see webhook.h): reading it, the string SNS
 * signs, and where its signing certificates and subscription URLs may come from. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "webhook_int.h"

void
webhook_sns_clear(struct webhook_sns *m)
{
	char **f[] = { &m->type, &m->message_id, &m->topic_arn, &m->subject, &m->message,
		&m->timestamp, &m->token, &m->signature_version, &m->signature,
		&m->signing_cert_url, &m->subscribe_url };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		free(*f[i]);
		*f[i] = NULL;
	}
}

int
webhook_sns_parse(const char *body, size_t len, struct webhook_sns *m, char **error_r)
{
	memset(m, 0, sizeof *m);
	json_t *root = wh_load(body, len, error_r);
	if (root == NULL)
		return -1;
	static const struct { const char *name; size_t off; } fields[] = {
		{ "Type", offsetof(struct webhook_sns, type) },
		{ "MessageId", offsetof(struct webhook_sns, message_id) },
		{ "TopicArn", offsetof(struct webhook_sns, topic_arn) },
		{ "Subject", offsetof(struct webhook_sns, subject) },
		{ "Message", offsetof(struct webhook_sns, message) },
		{ "Timestamp", offsetof(struct webhook_sns, timestamp) },
		{ "Token", offsetof(struct webhook_sns, token) },
		{ "SignatureVersion", offsetof(struct webhook_sns, signature_version) },
		{ "Signature", offsetof(struct webhook_sns, signature) },
		{ "SigningCertURL", offsetof(struct webhook_sns, signing_cert_url) },
		{ "SubscribeURL", offsetof(struct webhook_sns, subscribe_url) },
	};
	int rc = 0;
	if (!json_is_object(root)) {
		error_set(error_r, "an SNS message is a JSON object");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof fields / sizeof fields[0]; i++) {
		const json_t *v = json_object_get(root, fields[i].name);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			error_set(error_r, "SNS field %s is not a string", fields[i].name);
			rc = -1;
			break;
		}
		*(char **)((char *)m + fields[i].off) = xstrdup(json_string_value(v));
	}
	json_decref(root);
	if (rc == 0 && (m->type == NULL || m->message_id == NULL || m->topic_arn == NULL ||
	    m->message == NULL || m->timestamp == NULL)) {
		error_set(error_r, "not an SNS message: Type, MessageId, TopicArn, Message or "
		    "Timestamp missing");
		rc = -1;
	}
	if (rc != 0)
		webhook_sns_clear(m);
	return rc;
}

int
webhook_sns_string_to_sign(const struct webhook_sns *m, char **out_r, size_t *len_r,
    char **error_r)
{
	bool notification = strcmp(m->type, "Notification") == 0;
	bool subscription = strcmp(m->type, "SubscriptionConfirmation") == 0 ||
	    strcmp(m->type, "UnsubscribeConfirmation") == 0;
	if (!notification && !subscription) {
		error_set(error_r, "SNS Type '%s' is not Notification, SubscriptionConfirmation or "
		    "UnsubscribeConfirmation", m->type);
		return -1;
	}
	/* AWS: the fields in byte order of their names; Subject only when present. */
	const struct { const char *name; const char *v; bool optional; } nf[] = {
		{ "Message", m->message, false }, { "MessageId", m->message_id, false },
		{ "Subject", m->subject, true }, { "Timestamp", m->timestamp, false },
		{ "TopicArn", m->topic_arn, false }, { "Type", m->type, false },
	}, sf[] = {
		{ "Message", m->message, false }, { "MessageId", m->message_id, false },
		{ "SubscribeURL", m->subscribe_url, false }, { "Timestamp", m->timestamp, false },
		{ "Token", m->token, false }, { "TopicArn", m->topic_arn, false },
		{ "Type", m->type, false },
	};
	size_t n = notification ? sizeof nf / sizeof nf[0] : sizeof sf / sizeof sf[0];
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *name = notification ? nf[i].name : sf[i].name;
		const char *v = notification ? nf[i].v : sf[i].v;
		if (v == NULL) {
			if (notification && nf[i].optional)
				continue;
			strbuf_free(&b);
			error_set(error_r, "SNS %s has no %s", m->type, name);
			return -1;
		}
		strbuf_printf(&b, "%s\n%s\n", name, v);
	}
	*len_r = b.len;
	*out_r = strbuf_detach(&b);
	return 0;
}

/* Does host (lowercase) match pattern, '*' standing for one label of [a-z0-9-]? */
static bool
host_match(const char *host, size_t hlen, const char *pat)
{
	size_t i = 0;
	for (const char *q = pat; *q != '\0'; q++) {
		if (*q == '*') {
			size_t start = i;
			while (i < hlen && ((host[i] >= 'a' && host[i] <= 'z') ||
			    (host[i] >= '0' && host[i] <= '9') || host[i] == '-'))
				i++;
			if (i == start)
				return false;
		} else {
			char c = *q >= 'A' && *q <= 'Z' ? (char)(*q + 32) : *q;
			if (i >= hlen || host[i] != c)
				return false;
			i++;
		}
	}
	return i == hlen;
}

bool
webhook_sns_url_ok(const char *url, const char *pattern, bool pem)
{
	if (url == NULL || strncmp(url, "https://", 8) != 0 || strchr(url, '#') != NULL)
		return false;
	const char *auth = url + 8;
	size_t alen = strcspn(auth, "/?");
	if (alen == 0 || memchr(auth, '@', alen) != NULL || memchr(auth, '\\', alen) != NULL)
		return false;
	const char *colon = memchr(auth, ':', alen);
	size_t hlen = colon != NULL ? (size_t)(colon - auth) : alen;
	if (colon != NULL) {
		size_t plen = alen - hlen - 1;
		if (plen == 0 || plen > 5 || strspn(colon + 1, "0123456789") < plen)
			return false;
		long port = strtol(colon + 1, NULL, 10);
		if (port < 1 || port > 65535)
			return false;
	}
	char host[256];
	if (hlen == 0 || hlen >= sizeof host)
		return false;
	for (size_t i = 0; i < hlen; i++) {
		char c = auth[i];
		host[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	if (!host_match(host, hlen, pattern))
		return false;
	const char *path = auth + alen;
	if (*path != '/')
		return pem ? false : *path == '?' || *path == '\0';
	if (pem) {
		size_t plen = strcspn(path, "?");
		if (plen < 5 || memcmp(path + plen - 4, ".pem", 4) != 0)
			return false;
	}
	for (const char *q = url; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
			return false;
	return true;
}

