/* Postmark's webhooks: one event per request, RecordType Bounce (Type/TypeCode), SpamComplaint
 * and Delivery. Keyed by ID. Postmark's Description is its generic text for the type, not the
 * remote server's words: only Details is classified. */
#include <string.h>

#include "webhook_int.h"

static const struct {
	long long code;
	const char *type;
	enum bounce_reason reason;
	enum wh_mode mode;	/* WH_FORCE with REASON_DELIVERED: not a failure, ignored */
} types[] = {
	{ 1, "HardBounce", REASON_USER_UNKNOWN, WH_FILL },
	{ 2, "Transient", REASON_UNKNOWN, WH_FILL },
	{ 16, "Unsubscribe", REASON_DELIVERED, WH_FORCE },
	{ 32, "Subscribe", REASON_DELIVERED, WH_FORCE },
	{ 64, "AutoResponder", REASON_AUTO_REPLY, WH_FORCE },
	{ 128, "AddressChange", REASON_HAS_MOVED, WH_FILL },
	{ 256, "DnsError", REASON_NETWORK_ERROR, WH_FILL },
	{ 512, "SpamNotification", REASON_SPAM_DETECTED, WH_SENDER },
	{ 1024, "OpenRelayTest", REASON_DELIVERED, WH_FORCE },
	{ 2048, "Unknown", REASON_UNKNOWN, WH_FILL },
	{ 4096, "SoftBounce", REASON_UNKNOWN, WH_FILL },
	{ 8192, "VirusNotification", REASON_SPAM_DETECTED, WH_SENDER },
	{ 16384, "ChallengeVerification", REASON_AUTO_REPLY, WH_FORCE },
	{ 100000, "BadEmailAddress", REASON_USER_UNKNOWN, WH_FILL },
	{ 100001, "SpamComplaint", REASON_COMPLAINT, WH_FORCE },
	{ 100002, "ManuallyDeactivated", REASON_DELIVERED, WH_FORCE },
	{ 100003, "Unconfirmed", REASON_DELIVERED, WH_FORCE },
	{ 100006, "Blocked", REASON_BLOCKED, WH_SENDER },
	{ 100007, "SMTPApiError", REASON_SYNTAX_ERROR, WH_SENDER },
	{ 100008, "InboxPlacement", REASON_DELIVERED, WH_FORCE },
	{ 100009, "DMARCPolicy", REASON_POLICY, WH_SENDER },
	{ 100010, "TemplateRenderingFailed", REASON_SYSTEM_ERROR, WH_SENDER },
};

int
wh_map_postmark(struct wh *w, const json_t *root, char **error_r)
{
	if (!json_is_object(root)) {
		error_set(error_r, "a Postmark body is a JSON object");
		return -1;
	}
	const char *rt = wh_str(root, "RecordType");
	if (rt == NULL) {
		error_set(error_r, "not a Postmark event: no RecordType");
		return -1;
	}
	char idbuf[32], codebuf[32];
	const char *id = wh_text(root, "ID", idbuf);
	if (id == NULL)
		id = wh_str(root, "MessageID");	/* Delivery events carry no ID of their own */
	bool bounce = strcmp(rt, "Bounce") == 0, spam = strcmp(rt, "SpamComplaint") == 0,
	    delivery = strcmp(rt, "Delivery") == 0;
	if (!bounce && !spam && !delivery) {
		w->b->ignored++;	/* Open, Click, SubscriptionChange */
		return 0;
	}
	const char *type = wh_str(root, "Type");
	const char *code = wh_text(root, "TypeCode", codebuf);
	int found = -1;
	for (size_t i = 0; bounce && i < sizeof types / sizeof types[0]; i++) {
		char c[32];
		snprintf(c, sizeof c, "%lld", types[i].code);
		if ((code != NULL && strcmp(code, c) == 0) || (code == NULL && type != NULL &&
		    strcmp(type, types[i].type) == 0)) {
			found = (int)i;
			break;
		}
	}
	if (bounce && found >= 0 && types[found].reason == REASON_DELIVERED) {
		w->b->ignored++;	/* a subscription change or a test: no failure */
		return 0;
	}
	struct webhook_event *ev = wh_event(w, root, rt, id, NULL);
	const char *email = wh_str(root, delivery ? "Recipient" : "Email");
	if (delivery) {
		wh_rcpt(w, ev, email, "delivered", NULL, wh_str(root, "Details"));
	} else if (spam) {
		wh_complaint(wh_rcpt(w, ev, email, "", NULL, NULL), "abuse", "RecordType", rt);
	} else {
		const char *details = wh_str(root, "Details");
		struct bounce_recipient *rc = wh_rcpt(w, ev, email, "failed", NULL, details);
		char field[] = "Type/TypeCode", value[64];
		snprintf(value, sizeof value, "%s/%s", type != NULL ? type : "",
		    code != NULL ? code : "");
		if (found < 0)
			wh_verdict(rc, REASON_UNKNOWN, WH_FILL, field, value);
		else if (types[found].reason == REASON_COMPLAINT)
			wh_complaint(rc, "abuse", field, value);
		else if (types[found].reason == REASON_AUTO_REPLY) {
			wh_verdict(rc, REASON_AUTO_REPLY, WH_FORCE, field, value);
		} else
			wh_verdict(rc, types[found].reason, types[found].mode, field, value);
	}
	bounce_set(&ev->rep->original_subject, wh_str(root, "Subject"));
	bounce_set(&ev->rep->original_from, wh_str(root, "From"));
	if (ev->rep->nrcpts == 0) {
		error_set(error_r, "Postmark %s names no recipient (Email)", rt);
		return -1;
	}
	return 0;
}
