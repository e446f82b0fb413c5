/* What the provider mappings (webhook_*.c) share: reading jansson values, adding a classified
 * recipient, and weighing the provider's verdict against the classifier's. Not a contract. */
#ifndef BOUNCED_WEBHOOK_INT_H
#define BOUNCED_WEBHOOK_INT_H

#include <jansson.h>

#include "webhook.h"

/* Longest address taken from an event: RFC 5321's 64 + 1 + 255 and the angle brackets. */
#define WEBHOOK_ADDRESS_MAX	322

struct wh {
	const struct rules *rules;
	struct rules_scratch *sc;
	struct webhook_batch *b;
	enum webhook_provider p;
	bool many;		/* the body holds a list: each event keeps its own JSON as raw */
};

/* Parses body strictly (see webhook.h). NULL with *error_r when it is not what JSON allows. */
json_t *wh_load(const char *body, size_t len, char **error_r);
/* A string member of o (NULL when absent, not an object, or not a string). */
const char *wh_str(const json_t *o, const char *key);
/* A member as text: a string as is, an integer in decimal; NULL otherwise. buf: 32 bytes. */
const char *wh_text(const json_t *o, const char *key, char buf[32]);
/* A member at a path of object keys ("a", "b", NULL); NULL when a step is missing. */
const json_t *wh_path(const json_t *o, ...);
/* A boolean member; false when absent or not a boolean. */
bool wh_bool(const json_t *o, const char *key);

/* A new event of type type for obj (its raw JSON kept when w->many), keyed "PROVIDER:id"
 * (id NULL: a hash of obj without the members named in skip[], NULL-terminated, may be NULL). */
struct webhook_event *wh_event(struct wh *w, const json_t *obj, const char *type, const char *id,
    const char *const *skip);
/* Adds a recipient to ev's report: address (angle brackets and blanks taken off, the domain
 * lowercased), action, status (an RFC 3463 code, or NULL), diagnostic (may be NULL), and
 * classifies it as a DSN recipient. NULL when address is empty or too long, or the report is
 * full. */
struct bounce_recipient *wh_rcpt(struct wh *w, struct webhook_event *ev, const char *address,
    const char *action, const char *status, const char *diag);

/* The provider's verdict on rc, written to its evidence as "FIELD=VALUE":
 *  WH_FILL:   used only when the classifier found nothing conclusive (reason unknown);
 *  WH_SENDER: the provider blames the sender (a block, its reputation, the content): wins,
 *             so that it never suppresses, whatever the wording;
 *  WH_FORCE:  the event itself says what it is (a complaint, an auto-reply, a delivery). */
enum wh_mode { WH_FILL, WH_SENDER, WH_FORCE };
void wh_verdict(struct bounce_recipient *rc, enum bounce_reason reason, enum wh_mode mode,
    const char *field, const char *value);
/* A complaint on rc with its feedback type (NULL: "abuse"). */
void wh_complaint(struct bounce_recipient *rc, const char *feedback_type, const char *field,
    const char *value);

int wh_map_ses(struct wh *w, const json_t *root, const char *id, char **error_r);
int wh_map_sendgrid(struct wh *w, const json_t *root, char **error_r);
int wh_map_postmark(struct wh *w, const json_t *root, char **error_r);
int wh_map_mailgun(struct wh *w, const json_t *root, char **error_r);
int wh_map_sparkpost(struct wh *w, const json_t *root, char **error_r);
int wh_map_brevo(struct wh *w, const json_t *root, char **error_r);
int wh_map_mailjet(struct wh *w, const json_t *root, char **error_r);
int wh_map_postal(struct wh *w, const json_t *root, char **error_r);

#endif
