/* Mailgun's webhooks (the JSON form): {"signature": {...}, "event-data": {...}}; event failed
 * (severity permanent or temporary, delivery-status code, message and description), complained
 * and delivered. Keyed by signature.token, which Mailgun makes once per event. */
#include <string.h>

#include "webhook_int.h"

/* event-data.reason values for which Mailgun did not try the address itself. */
static const struct {
	const char *name;
	enum bounce_reason reason;
	enum wh_mode mode;
} reasons[] = {
	{ "suppress-bounce", REASON_USER_UNKNOWN, WH_FILL },
	{ "suppress-complaint", REASON_COMPLAINT, WH_FORCE },
	{ "suppress-unsubscribe", REASON_UNKNOWN, WH_FORCE },
	{ "espblock", REASON_BLOCKED, WH_SENDER },
	{ "old", REASON_EXPIRED, WH_FILL },
};

int
wh_map_mailgun(struct wh *w, const json_t *root, char **error_r)
{
	const json_t *ed = wh_path(root, "event-data", NULL);
	const char *event = wh_str(ed, "event");
	const char *token = wh_str(wh_path(root, "signature", NULL), "token");
	if (event == NULL || token == NULL) {
		error_set(error_r, "not a Mailgun event: no event-data.event or signature.token");
		return -1;
	}
	bool failed = strcmp(event, "failed") == 0, complained = strcmp(event, "complained") == 0,
	    delivered = strcmp(event, "delivered") == 0;
	if (!failed && !complained && !delivered) {
		w->b->ignored++;
		return 0;
	}
	struct webhook_event *ev = wh_event(w, root, event, token, NULL);
	const json_t *h = wh_path(ed, "message", "headers", NULL);
	bounce_set(&ev->rep->original_message_id, wh_str(h, "message-id"));
	bounce_set(&ev->rep->original_subject, wh_str(h, "subject"));
	bounce_set(&ev->rep->original_from, wh_str(h, "from"));
	const char *rcpt = wh_str(ed, "recipient");
	const json_t *ds = wh_path(ed, "delivery-status", NULL);
	if (complained) {
		wh_complaint(wh_rcpt(w, ev, rcpt, "", NULL, NULL), "abuse", "event", event);
	} else if (delivered) {
		wh_rcpt(w, ev, rcpt, "delivered", NULL, wh_str(ds, "message"));
	} else {
		const char *sev = wh_str(ed, "severity");
		bool temporary = sev != NULL && strcmp(sev, "temporary") == 0;
		/* message is the remote server's reply; description Mailgun's own words, used only
		 * when there is no reply. A code is an SMTP reply only from 200 to 599 (Mailgun
		 * writes its own 605, 607 for what it did not send). */
		const char *msg = wh_str(ds, "message");
		if (msg == NULL || msg[0] == '\0')
			msg = wh_str(ds, "description");
		const json_t *code = json_object_get(ds, "code");
		char diag[2200];
		if (json_is_integer(code) && json_integer_value(code) >= 200 &&
		    json_integer_value(code) < 600 && msg != NULL && strncmp(msg, "5", 1) != 0 &&
		    strncmp(msg, "4", 1) != 0) {
			snprintf(diag, sizeof diag, "%lld %s", (long long)json_integer_value(code), msg);
			msg = diag;
		}
		struct bounce_recipient *rc = wh_rcpt(w, ev, rcpt, temporary ? "delayed" : "failed",
		    NULL, msg);
		const char *why = wh_str(ed, "reason");
		bool found = false;
		for (size_t i = 0; why != NULL && i < sizeof reasons / sizeof reasons[0]; i++)
			if (strcmp(why, reasons[i].name) == 0) {
				found = true;
				if (reasons[i].reason == REASON_COMPLAINT)
					wh_complaint(rc, "abuse", "reason", why);
				else
					wh_verdict(rc, reasons[i].reason, reasons[i].mode, "reason", why);
			}
		if (!found)
			wh_verdict(rc, REASON_UNKNOWN,
			    WH_FILL, "severity", sev);
	}
	if (ev->rep->nrcpts == 0) {
		error_set(error_r, "Mailgun %s names no recipient", event);
		return -1;
	}
	return 0;
}
