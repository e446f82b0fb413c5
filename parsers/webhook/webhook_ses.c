/* Amazon SES notifications (the Message of an SNS Notification): notificationType (SNS topics
 * set on an identity) or eventType (event publishing) Bounce, Complaint and Delivery. Keyed by
 * the SNS MessageId, which SNS keeps across its retries. */
#include <string.h>

#include "webhook_int.h"

/* SES's bounceSubType, when the diagnostic says nothing conclusive. */
static const struct {
	const char *type, *subtype;
	enum bounce_reason reason;
	enum wh_mode mode;
} ses_subtypes[] = {
	{ "Permanent", "General", REASON_USER_UNKNOWN, WH_FILL },
	{ "Permanent", "NoEmail", REASON_USER_UNKNOWN, WH_FILL },
	/* On SES's own suppression list: a hard bounce (or complaint) SES saw before. */
	{ "Permanent", "Suppressed", REASON_USER_UNKNOWN, WH_FILL },
	{ "Permanent", "OnAccountSuppressionList", REASON_USER_UNKNOWN, WH_FILL },
	{ "Transient", "MailboxFull", REASON_MAILBOX_FULL, WH_FILL },
	{ "Transient", "MessageTooLarge", REASON_MESSAGE_TOO_LARGE, WH_SENDER },
	{ "Transient", "ContentRejected", REASON_SPAM_DETECTED, WH_SENDER },
	{ "Transient", "AttachmentRejected", REASON_POLICY, WH_SENDER },
};

static int
ses_bounce(struct wh *w, const json_t *root, const json_t *bounce, const char *id)
{
	const char *type = wh_str(bounce, "bounceType"), *sub = wh_str(bounce, "bounceSubType");
	struct webhook_event *ev = wh_event(w, root, "Bounce", id, NULL);
	const json_t *list = json_object_get(bounce, "bouncedRecipients");
	size_t i;
	const json_t *r;
	char field[64], value[96];
	snprintf(field, sizeof field, "bounceType/bounceSubType");
	snprintf(value, sizeof value, "%s/%s", type != NULL ? type : "", sub != NULL ? sub : "");
	json_array_foreach(list, i, r) {
		const char *action = wh_str(r, "action");
		if (action == NULL)
			action = "failed";
		struct bounce_recipient *rc = wh_rcpt(w, ev, wh_str(r, "emailAddress"), action,
		    wh_str(r, "status"), wh_str(r, "diagnosticCode"));
		if (rc == NULL)
			continue;
		bool found = false;
		for (size_t k = 0; type != NULL && sub != NULL &&
		    k < sizeof ses_subtypes / sizeof ses_subtypes[0]; k++)
			if (strcmp(type, ses_subtypes[k].type) == 0 &&
			    strcmp(sub, ses_subtypes[k].subtype) == 0) {
				wh_verdict(rc, ses_subtypes[k].reason, ses_subtypes[k].mode, field, value);
				found = true;
			}
		if (!found)
			wh_verdict(rc, REASON_UNKNOWN, WH_FILL, field, value);
		const char *mta = wh_str(bounce, "reportingMTA");
		if (mta != NULL)
			bounce_set(&rc->remote_mta, strncmp(mta, "dsn;", 4) == 0 ? mta + 4 +
			    strspn(mta + 4, " ") : mta);
	}
	return 0;
}

static int
ses_complaint(struct wh *w, const json_t *root, const json_t *c, const char *id)
{
	struct webhook_event *ev = wh_event(w, root, "Complaint", id, NULL);
	const char *fb = wh_str(c, "complaintFeedbackType");
	const json_t *list = json_object_get(c, "complainedRecipients");
	size_t i;
	const json_t *r;
	json_array_foreach(list, i, r) {
		struct bounce_recipient *rc = wh_rcpt(w, ev, wh_str(r, "emailAddress"), "", NULL, NULL);
		/* SES's complaintFeedbackType is the ARF Feedback-Type; not-spam and virus are
		 * about the message, as DESIGN.md reads ARF. */
		if (fb != NULL && (strcmp(fb, "not-spam") == 0 || strcmp(fb, "virus") == 0 ||
		    strcmp(fb, "other") == 0)) {
			wh_verdict(rc, REASON_UNKNOWN, WH_FORCE, "complaintFeedbackType", fb);
			if (rc != NULL) {
				rc->class_ = CLASS_NONE;
				rc->blame = BLAME_NONE;
				bounce_set(&rc->feedback_type, fb);
			}
		} else
			wh_complaint(rc, fb, "notificationType", "Complaint");
	}
	return 0;
}

static int
ses_delivery(struct wh *w, const json_t *root, const json_t *d, const char *id)
{
	struct webhook_event *ev = wh_event(w, root, "Delivery", id, NULL);
	const json_t *list = json_object_get(d, "recipients");
	size_t i;
	const json_t *r;
	json_array_foreach(list, i, r)
		if (json_is_string(r))
			wh_rcpt(w, ev, json_string_value(r), "delivered", NULL,
			    wh_str(d, "smtpResponse"));
	return 0;
}

int
wh_map_ses(struct wh *w, const json_t *root, const char *id, char **error_r)
{
	if (!json_is_object(root)) {
		error_set(error_r, "an SES notification is a JSON object");
		return -1;
	}
	const char *t = wh_str(root, "notificationType");
	if (t == NULL)
		t = wh_str(root, "eventType");
	if (t == NULL) {
		error_set(error_r, "not an SES notification: no notificationType or eventType");
		return -1;
	}
	const json_t *mail = json_object_get(root, "mail");
	int rc = 0;
	size_t before = w->b->n;
	if (strcmp(t, "Bounce") == 0)
		rc = ses_bounce(w, root, json_object_get(root, "bounce"), id);
	else if (strcmp(t, "Complaint") == 0)
		rc = ses_complaint(w, root, json_object_get(root, "complaint"), id);
	else if (strcmp(t, "Delivery") == 0)
		rc = ses_delivery(w, root, json_object_get(root, "delivery"), id);
	else
		w->b->ignored++;	/* Send, Open, Click, Reject, Rendering Failure... */
	if (rc == 0 && w->b->n > before) {
		struct bounce_report *rep = w->b->ev[w->b->n - 1].rep;
		const json_t *h = json_object_get(mail, "commonHeaders");
		bounce_set(&rep->original_message_id, wh_str(h, "messageId"));
		bounce_set(&rep->original_subject, wh_str(h, "subject"));
		bounce_set(&rep->original_from, wh_str(mail, "source"));
		if (rep->nrcpts == 0) {
			error_set(error_r, "SES %s names no recipient", t);
			return -1;
		}
	}
	return rc;
}
