/* The providers without a signature of their own or with one over the raw body: SparkPost
 * (msys events, keyed by event_id), Brevo and Mailjet (keyed by a hash of the event: they give
 * no event id) and Postal (keyed by uuid). */
#include <string.h>

#include "webhook_int.h"

/* SparkPost's bounce_class (its "Bounce classification codes"). */
static const struct {
	long long code;
	enum bounce_reason reason;
	enum wh_mode mode;
} sparkpost_classes[] = {
	{ 10, REASON_USER_UNKNOWN, WH_FILL },		/* Invalid Recipient */
	{ 20, REASON_UNKNOWN, WH_FILL },		/* Soft Bounce */
	{ 21, REASON_NETWORK_ERROR, WH_FILL },		/* DNS Failure */
	{ 22, REASON_MAILBOX_FULL, WH_FILL },		/* Mailbox Full */
	{ 23, REASON_MESSAGE_TOO_LARGE, WH_SENDER },	/* Too Large */
	{ 24, REASON_EXPIRED, WH_FILL },		/* Timeout */
	{ 25, REASON_MAILBOX_DISABLED, WH_FILL },	/* Admin Failure */
	{ 30, REASON_USER_UNKNOWN, WH_FILL },		/* Generic Bounce: No RCPT */
	{ 40, REASON_UNKNOWN, WH_FILL },		/* Generic Bounce */
	{ 50, REASON_BLOCKED, WH_SENDER },		/* Mail Block */
	{ 51, REASON_BLOCKED, WH_SENDER },		/* Spam Block */
	{ 52, REASON_SPAM_DETECTED, WH_SENDER },	/* Spam Content */
	{ 53, REASON_POLICY, WH_SENDER },		/* Prohibited Attachment */
	{ 54, REASON_POLICY, WH_SENDER },		/* Relaying Denied */
	{ 60, REASON_AUTO_REPLY, WH_FORCE },		/* Auto-Reply */
	{ 70, REASON_UNKNOWN, WH_FILL },		/* Transient Failure */
	{ 100, REASON_AUTO_REPLY, WH_FORCE },		/* Challenge-Response */
};

static void
sparkpost_one(struct wh *w, const json_t *e)
{
	const char *type = wh_str(e, "type");
	if (type == NULL) {
		w->b->ignored++;
		return;
	}
	bool bounce = strcmp(type, "bounce") == 0 || strcmp(type, "out_of_band") == 0,
	    spam = strcmp(type, "spam_complaint") == 0, delay = strcmp(type, "delay") == 0,
	    delivery = strcmp(type, "delivery") == 0,
	    policy = strcmp(type, "policy_rejection") == 0;
	if (!bounce && !spam && !delay && !delivery && !policy) {
		w->b->ignored++;
		return;
	}
	struct webhook_event *ev = wh_event(w, e, type, wh_str(e, "event_id"), NULL);
	const char *rcpt = wh_str(e, "rcpt_to"), *raw = wh_str(e, "raw_reason");
	if (raw == NULL)
		raw = wh_str(e, "reason");
	if (spam) {
		wh_complaint(wh_rcpt(w, ev, rcpt, "", NULL, NULL), wh_str(e, "fbtype"), "type", type);
	} else if (delivery) {
		wh_rcpt(w, ev, rcpt, "delivered", NULL, raw);
	} else if (delay) {
		wh_rcpt(w, ev, rcpt, "delayed", NULL, raw);
	} else if (policy) {
		wh_verdict(wh_rcpt(w, ev, rcpt, "failed", NULL, raw), REASON_POLICY, WH_SENDER,
		    "type", type);
	} else {
		struct bounce_recipient *rc = wh_rcpt(w, ev, rcpt, "failed", NULL, raw);
		char buf[32];
		const char *cl = wh_text(e, "bounce_class", buf);
		bool found = false;
		for (size_t i = 0; cl != NULL && i < sizeof sparkpost_classes /
		    sizeof sparkpost_classes[0]; i++) {
			char c[32];
			snprintf(c, sizeof c, "%lld", sparkpost_classes[i].code);
			if (strcmp(cl, c) == 0) {
				wh_verdict(rc, sparkpost_classes[i].reason, sparkpost_classes[i].mode,
				    "bounce_class", cl);
				found = true;
			}
		}
		if (!found)
			wh_verdict(rc, REASON_UNKNOWN, WH_FILL, "bounce_class", cl);
	}
	bounce_set(&ev->rep->original_subject, wh_str(e, "subject"));
	bounce_set(&ev->rep->original_from, wh_str(e, "friendly_from"));
}

int
wh_map_sparkpost(struct wh *w, const json_t *root, char **error_r)
{
	if (!json_is_array(root)) {
		error_set(error_r, "a SparkPost body is a JSON array of {\"msys\": {...}}");
		return -1;
	}
	size_t i;
	const json_t *item;
	json_array_foreach(root, i, item) {
		const json_t *msys = wh_path(item, "msys", NULL);
		if (!json_is_object(msys)) {
			error_set(error_r, "SparkPost item %zu has no msys object", i);
			return -1;
		}
		if (i >= WEBHOOK_EVENTS_MAX) {
			error_set(error_r, "more than %d events in one body", WEBHOOK_EVENTS_MAX);
			return -1;
		}
		/* One member: message_event, track_event, gen_event, unsubscribe_event... */
		const char *k;
		const json_t *e;
		json_object_foreach((json_t *)msys, k, e)
			if (json_is_object(e))
				sparkpost_one(w, e);
		if (json_object_size(msys) == 0)
			w->b->ignored++;	/* SparkPost's test ping: [{"msys": {}}] */
	}
	return 0;
}

/* ---- Brevo ---- */

static void
brevo_one(struct wh *w, const json_t *e)
{
	const char *event = wh_str(e, "event");
	static const struct {
		const char *name;
		const char *action;
		enum bounce_reason reason;
		enum wh_mode mode;
	} events[] = {
		{ "hard_bounce", "failed", REASON_USER_UNKNOWN, WH_FILL },
		{ "hardBounce", "failed", REASON_USER_UNKNOWN, WH_FILL },
		{ "invalid_email", "failed", REASON_USER_UNKNOWN, WH_FILL },
		{ "soft_bounce", "failed", REASON_UNKNOWN, WH_FILL },
		{ "softBounce", "failed", REASON_UNKNOWN, WH_FILL },
		{ "blocked", "failed", REASON_BLOCKED, WH_SENDER },
		{ "deferred", "delayed", REASON_UNKNOWN, WH_FILL },
		{ "error", "failed", REASON_SYSTEM_ERROR, WH_SENDER },
		{ "spam", "", REASON_COMPLAINT, WH_FORCE },
		{ "complaint", "", REASON_COMPLAINT, WH_FORCE },
		{ "delivered", "delivered", REASON_DELIVERED, WH_FORCE },
	};
	for (size_t i = 0; event != NULL && i < sizeof events / sizeof events[0]; i++) {
		if (strcmp(event, events[i].name) != 0)
			continue;
		static const char *const skip[] = { "id", NULL };	/* the webhook's, not the event's */
		struct webhook_event *ev = wh_event(w, e, event, NULL, skip);
		bounce_set(&ev->rep->original_message_id, wh_str(e, "message-id"));
		bounce_set(&ev->rep->original_subject, wh_str(e, "subject"));
		struct bounce_recipient *rc = wh_rcpt(w, ev, wh_str(e, "email"), events[i].action,
		    NULL, wh_str(e, "reason"));
		if (events[i].reason == REASON_COMPLAINT)
			wh_complaint(rc, "abuse", "event", event);
		else if (events[i].reason != REASON_DELIVERED)
			wh_verdict(rc, events[i].reason, events[i].mode, "event", event);
		return;
	}
	w->b->ignored++;	/* request, opened, click, unsubscribed, proxy_open... */
}

int
wh_map_brevo(struct wh *w, const json_t *root, char **error_r)
{
	if (json_is_object(root)) {
		brevo_one(w, root);
		return 0;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(root, i, e) {
		if (!json_is_object(e) || i >= WEBHOOK_EVENTS_MAX) {
			error_set(error_r, "Brevo event %zu is not an object (or too many)", i);
			return -1;
		}
		brevo_one(w, e);
	}
	return 0;
}

/* ---- Mailjet ---- */

static void
mailjet_one(struct wh *w, const json_t *e)
{
	const char *event = wh_str(e, "event");
	bool bounce = event != NULL && strcmp(event, "bounce") == 0,
	    blocked = event != NULL && strcmp(event, "blocked") == 0,
	    spam = event != NULL && strcmp(event, "spam") == 0;
	if (!bounce && !blocked && !spam) {
		w->b->ignored++;	/* sent, open, click, unsub */
		return;
	}
	struct webhook_event *ev = wh_event(w, e, event, NULL, NULL);
	const char *email = wh_str(e, "email");
	if (spam) {
		wh_complaint(wh_rcpt(w, ev, email, "", NULL, NULL), "abuse", "event", event);
		return;
	}
	/* comment is the remote server's words when there are any; error Mailjet's category. */
	const char *comment = wh_str(e, "comment"), *error = wh_str(e, "error"),
	    *related = wh_str(e, "error_related_to");
	struct bounce_recipient *rc = wh_rcpt(w, ev, email, "failed", NULL,
	    comment != NULL && comment[0] != '\0' ? comment : error);
	char value[128];
	snprintf(value, sizeof value, "%s/%s", related != NULL ? related : "",
	    error != NULL ? error : "");
	static const struct {
		const char *error;
		enum bounce_reason reason;
		enum wh_mode mode;
	} errors[] = {
		{ "user unknown", REASON_USER_UNKNOWN, WH_FILL },
		{ "invalid domain", REASON_HOST_UNKNOWN, WH_FILL },
		{ "no mail host", REASON_HOST_UNKNOWN, WH_FILL },
		{ "mailbox inactive", REASON_MAILBOX_DISABLED, WH_FILL },
		{ "quota exceeded", REASON_MAILBOX_FULL, WH_FILL },
		{ "spam reporter", REASON_COMPLAINT, WH_FORCE },
		{ "blacklisted", REASON_BLOCKED, WH_SENDER },
		{ "sender blocked", REASON_BLOCKED, WH_SENDER },
		{ "content blocked", REASON_SPAM_DETECTED, WH_SENDER },
		{ "policy issue", REASON_POLICY, WH_SENDER },
		{ "relay/access denied", REASON_POLICY, WH_SENDER },
		{ "greylisted", REASON_RATE_LIMITED, WH_SENDER },
		{ "system issue", REASON_SYSTEM_ERROR, WH_FILL },
		{ "protocol issue", REASON_SYNTAX_ERROR, WH_FILL },
		{ "connection issue", REASON_NETWORK_ERROR, WH_FILL },
		{ "preblocked", REASON_USER_UNKNOWN, WH_FILL },
		{ "spam preblocked", REASON_COMPLAINT, WH_FORCE },
	};
	bool found = false;
	for (size_t i = 0; error != NULL && i < sizeof errors / sizeof errors[0]; i++)
		if (strcmp(error, errors[i].error) == 0) {
			found = true;
			if (errors[i].reason == REASON_COMPLAINT)
				wh_complaint(rc, "abuse", "error_related_to/error", value);
			else
				wh_verdict(rc, errors[i].reason, errors[i].mode,
				    "error_related_to/error", value);
		}
	if (!found && blocked)
		wh_verdict(rc, REASON_BLOCKED, WH_SENDER, "event", event);
	else if (!found)
		wh_verdict(rc, wh_bool(e, "hard_bounce") ? REASON_USER_UNKNOWN : REASON_UNKNOWN,
		    WH_FILL, "hard_bounce", wh_bool(e, "hard_bounce") ? "true" : "false");
}

int
wh_map_mailjet(struct wh *w, const json_t *root, char **error_r)
{
	if (json_is_object(root)) {
		mailjet_one(w, root);
		return 0;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(root, i, e) {
		if (!json_is_object(e) || i >= WEBHOOK_EVENTS_MAX) {
			error_set(error_r, "Mailjet event %zu is not an object (or too many)", i);
			return -1;
		}
		mailjet_one(w, e);
	}
	return 0;
}

/* ---- Postal ---- */

int
wh_map_postal(struct wh *w, const json_t *root, char **error_r)
{
	const char *event = wh_str(root, "event"), *uuid = wh_str(root, "uuid");
	const json_t *pl = wh_path(root, "payload", NULL);
	if (event == NULL || !json_is_object(pl)) {
		error_set(error_r, "not a Postal event: no event or payload");
		return -1;
	}
	bool failed = strcmp(event, "MessageDeliveryFailed") == 0,
	    delayed = strcmp(event, "MessageDelayed") == 0,
	    sent = strcmp(event, "MessageSent") == 0,
	    bounced = strcmp(event, "MessageBounced") == 0;
	if (!failed && !delayed && !sent && !bounced) {
		w->b->ignored++;	/* MessageHeld, MessageLinkClicked, MessageLoaded, DomainDNSError */
		return 0;
	}
	/* MessageBounced: a bounce message came back for the original; Postal gives no
	 * diagnostic but the bounce's own headers, so it counts as a failure nothing explains. */
	const json_t *msg = wh_path(pl, bounced ? "original_message" : "message", NULL);
	struct webhook_event *ev = wh_event(w, root, event, uuid, NULL);
	bounce_set(&ev->rep->original_message_id, wh_str(msg, "message_id"));
	bounce_set(&ev->rep->original_subject, wh_str(msg, "subject"));
	bounce_set(&ev->rep->original_from, wh_str(msg, "from"));
	const char *to = wh_str(msg, "to"), *out = wh_str(pl, "output"),
	    *status = wh_str(pl, "status");
	if (sent)
		wh_rcpt(w, ev, to, "delivered", NULL, out);
	else {
		struct bounce_recipient *rc = wh_rcpt(w, ev, to, delayed ? "delayed" : "failed", NULL,
		    out != NULL && out[0] != '\0' ? out : wh_str(pl, "details"));
		wh_verdict(rc, failed && status != NULL && strcmp(status, "HardFail") == 0 ?
		    REASON_USER_UNKNOWN : REASON_UNKNOWN, WH_FILL, bounced ? "event" : "status",
		    bounced ? event : status);
	}
	if (ev->rep->nrcpts == 0) {
		error_set(error_r, "Postal %s names no recipient (payload.message.to)", event);
		return -1;
	}
	return 0;
}
