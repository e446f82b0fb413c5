/* SendGrid's Event Webhook: a JSON array of events. bounce (type bounce or blocked), dropped,
 * deferred, spamreport and delivered are kept; opens, clicks and the rest are counted ignored.
 * SendGrid changes sg_event_id on a retry: the key is a hash of the event without it. */
#include <string.h>

#include "webhook_int.h"

/* bounce_classification (SendGrid's documented values). */
static const struct {
	const char *name;
	enum bounce_reason reason;
	enum wh_mode mode;
} classifications[] = {
	{ "Invalid Address", REASON_USER_UNKNOWN, WH_FILL },
	{ "Mailbox Unavailable", REASON_MAILBOX_DISABLED, WH_FILL },
	{ "Technical Failure", REASON_SYSTEM_ERROR, WH_FILL },
	{ "Unclassified", REASON_UNKNOWN, WH_FILL },
	{ "Content", REASON_SPAM_DETECTED, WH_SENDER },
	{ "Reputation", REASON_BLOCKED, WH_SENDER },
	{ "Frequency or Volume Too High", REASON_RATE_LIMITED, WH_SENDER },
};

/* dropped's reason: SendGrid did not send because of one of its own lists. */
static const struct {
	const char *name;
	enum bounce_reason reason;
	enum wh_mode mode;
} dropped[] = {
	{ "Bounced Address", REASON_USER_UNKNOWN, WH_FILL },
	{ "Invalid", REASON_USER_UNKNOWN, WH_FILL },
	{ "Spam Reporting Address", REASON_COMPLAINT, WH_FORCE },
	{ "Unsubscribed Address", REASON_UNKNOWN, WH_FORCE },
};

static const char *const retry_members[] = { "sg_event_id", NULL };

static void
one(struct wh *w, const json_t *e)
{
	const char *event = wh_str(e, "event");
	if (event == NULL) {
		w->b->ignored++;
		return;
	}
	bool bounce = strcmp(event, "bounce") == 0, drop = strcmp(event, "dropped") == 0,
	    deferred = strcmp(event, "deferred") == 0, spam = strcmp(event, "spamreport") == 0,
	    delivered = strcmp(event, "delivered") == 0;
	if (!bounce && !drop && !deferred && !spam && !delivered) {
		w->b->ignored++;
		return;
	}
	struct webhook_event *ev = wh_event(w, e, event, NULL, retry_members);
	bounce_set(&ev->rep->original_message_id, wh_str(e, "smtp-id"));
	const char *email = wh_str(e, "email"), *type = wh_str(e, "type");
	struct bounce_recipient *rc;
	if (spam) {
		rc = wh_rcpt(w, ev, email, "", NULL, NULL);
		wh_complaint(rc, "abuse", "event", event);
	} else if (delivered) {
		wh_rcpt(w, ev, email, "delivered", NULL, wh_str(e, "response"));
	} else if (deferred) {
		wh_rcpt(w, ev, email, "delayed", NULL, wh_str(e, "response"));
	} else if (drop) {
		const char *why = wh_str(e, "reason");
		rc = wh_rcpt(w, ev, email, "failed", wh_str(e, "status"), NULL);
		bool found = false;
		for (size_t i = 0; why != NULL && i < sizeof dropped / sizeof dropped[0]; i++)
			if (strcmp(why, dropped[i].name) == 0) {
				if (dropped[i].reason == REASON_COMPLAINT)
					wh_complaint(rc, "abuse", "dropped reason", why);
				else
					wh_verdict(rc, dropped[i].reason, dropped[i].mode,
					    "dropped reason", why);
				found = true;
			}
		if (!found)	/* SendGrid's own refusal (a bad header, a deactivated account) */
			wh_verdict(rc, REASON_REJECTED, WH_SENDER, "dropped reason", why);
	} else {
		rc = wh_rcpt(w, ev, email, "failed", wh_str(e, "status"), wh_str(e, "reason"));
		if (type != NULL && strcmp(type, "blocked") == 0)
			wh_verdict(rc, REASON_BLOCKED, WH_SENDER, "type", type);
		const char *cl = wh_str(e, "bounce_classification");
		for (size_t i = 0; cl != NULL && i < sizeof classifications / sizeof classifications[0];
		    i++)
			if (strcmp(cl, classifications[i].name) == 0)
				wh_verdict(rc, classifications[i].reason, classifications[i].mode,
				    "bounce_classification", cl);
	}
}

int
wh_map_sendgrid(struct wh *w, const json_t *root, char **error_r)
{
	if (!json_is_array(root)) {
		error_set(error_r, "a SendGrid body is a JSON array of events");
		return -1;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(root, i, e) {
		if (!json_is_object(e)) {
			error_set(error_r, "SendGrid event %zu is not an object", i);
			return -1;
		}
		if (i >= WEBHOOK_EVENTS_MAX) {
			error_set(error_r, "more than %d events in one body", WEBHOOK_EVENTS_MAX);
			return -1;
		}
		one(w, e);
	}
	return 0;
}
