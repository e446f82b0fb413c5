/* ESP webhooks: a provider's JSON event (Amazon SES through SNS, SendGrid, Postmark, Mailgun,
 * SparkPost, Brevo, Mailjet, Postal) mapped to bounce reports, one per event, whose recipients
 * go through the same classifier as a DSN's (classify.h: a diagnosticCode, a description, an
 * SMTP reply) before the provider's own verdict is weighed. Pure and length-counted: no I/O; the
 * caller has verified the request (bounced/http/) before any of this reads the event itself.
 *
 * JSON is read with jansson, strictly: a duplicated key is refused (a verifier and a mapper must
 * never read two different values of one field), so is nesting deeper than WEBHOOK_JSON_DEPTH_MAX
 * (checked before jansson recurses) and a NUL in a string. */
#ifndef BOUNCED_WEBHOOK_H
#define BOUNCED_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

struct rules;
struct rules_scratch;

enum webhook_provider {
	WEBHOOK_SES = 0,
	WEBHOOK_SENDGRID,
	WEBHOOK_POSTMARK,
	WEBHOOK_MAILGUN,
	WEBHOOK_SPARKPOST,
	WEBHOOK_BREVO,
	WEBHOOK_MAILJET,
	WEBHOOK_POSTAL,
	WEBHOOK__COUNT
};

/* Nesting of arrays and objects in one body at most: the deepest documented payload (SparkPost's
 * msys.message_event with its rcpt_meta) is 5 deep; 32 leaves room and bounds recursion. */
#define WEBHOOK_JSON_DEPTH_MAX	32
/* Events in one body at most: SendGrid batches up to about 1,000 (its docs); past this the
 * body is refused (400) rather than committed as one oversized transaction. */
#define WEBHOOK_EVENTS_MAX	2000
/* Recipients of one event at most (SES bouncedRecipients[]): SES sends at most 50 per message. */
#define WEBHOOK_RCPTS_MAX	100
/* Longest idempotency key kept ("ses:" and an SNS MessageId, a Mailgun token...): longer ids
 * are hashed, so a peer cannot make the unique index hold kilobytes per row. */
#define WEBHOOK_KEY_MAX		128

/* The provider's name as in paths and config sections ("ses", "sendgrid"...). */
const char *webhook_provider_name(enum webhook_provider p);
/* false when name is none of them. */
bool webhook_provider_from_name(const char *name, enum webhook_provider *p_r);

/* One event taken from a body. */
struct webhook_event {
	struct bounce_report *rep;	/* owned; kind KIND_NONE, its recipients classified */
	char *key;			/* owned: "PROVIDER:ID", unique per event (the idempotency key) */
	char *raw;			/* owned: the event's own JSON when the body held several; NULL:
					 * the body itself is the event's raw payload */
	size_t raw_len;
	char type[32];			/* the provider's event type as found, for the log */
};

struct webhook_batch {
	struct webhook_event *ev;
	size_t n, cap;
	size_t ignored;		/* events of other types (opens, clicks, sends...): not stored */
};

void webhook_batch_free(struct webhook_batch *b);	/* frees what b holds, not b */

/* Maps a body of provider p (for WEBHOOK_SES, the SNS notification's Message, with id the SNS
 * MessageId; id is NULL for the others) into b. rules: the wording rules (NULL: the built-in
 * set); sc: their scratch (NULL: one made per call). Returns 0, or -1 with *error_r saying what
 * is wrong with the body (malformed JSON, not the provider's shape: answer 400). Events of types
 * that are not bounces, complaints or deliveries are counted in b->ignored. */
int webhook_map(enum webhook_provider p, const char *body, size_t len, const char *id,
    const struct rules *rules, struct rules_scratch *sc, struct webhook_batch *b, char **error_r);

/* Is the nesting of arrays and objects in p (outside strings) at most max deep? */
bool webhook_json_depth_ok(const char *p, size_t len, unsigned int max);

/* ---- Amazon SNS, the envelope of SES notifications ---- */

struct webhook_sns {
	char *type;		/* Notification, SubscriptionConfirmation, UnsubscribeConfirmation */
	char *message_id, *topic_arn, *subject, *message, *timestamp, *token;
	char *signature_version, *signature, *signing_cert_url, *subscribe_url;
};
/* Reads an SNS message (strict JSON, every field a string). Returns 0 or -1 with *error_r. */
int webhook_sns_parse(const char *body, size_t len, struct webhook_sns *m, char **error_r);
void webhook_sns_clear(struct webhook_sns *m);
/* The string SNS signs ("Key\nvalue\n" for each signed field in SNS's order); -1 with *error_r
 * when a field the type signs is missing. */
int webhook_sns_string_to_sign(const struct webhook_sns *m, char **out_r, size_t *len_r,
    char **error_r);
/* The host pattern of SNS signing certificates and subscription URLs: one '*' stands for one
 * DNS label of letters, digits and '-' (a region). */
#define WEBHOOK_SNS_HOST_DEFAULT	"sns.*.amazonaws.com"
/* Is url an https URL (no user, no fragment) whose host matches pattern? With pem, its path
 * must also end in ".pem" (a signing certificate). */
bool webhook_sns_url_ok(const char *url, const char *pattern, bool pem);

/* ---- Mailgun's signature block ---- */
struct webhook_mailgun_sig {
	char *timestamp, *token, *signature;
};
/* Reads {"signature": {timestamp, token, signature}} of a Mailgun body. 0 or -1 with *error_r. */
int webhook_mailgun_sig(const char *body, size_t len, struct webhook_mailgun_sig *s,
    char **error_r);
void webhook_mailgun_sig_clear(struct webhook_mailgun_sig *s);

#endif
