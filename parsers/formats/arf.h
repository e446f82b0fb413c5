/* RFC 5965 abuse reports. Pure. */
#ifndef BOUNCED_ARF_H
#define BOUNCED_ARF_H

#include <stdbool.h>

#include "mime.h"
#include "report.h"

/* Recognises an ARF report (multipart/report; report-type=feedback-report, or a
 * message/feedback-report part) and adds the complained-about recipients: Original-Rcpt-To,
 * else the To of the returned message. Sets kind KIND_ARF, class complaint, reason complaint
 * (feedback_type kept as found), blame recipient. Returns false when m is not ARF. */
bool arf_parse(const struct mime_message *m, struct bounce_report *r);

/* Class, blame and reason of a recipient a feedback report of type ftype names ("abuse",
 * "not-spam"...): complaint for the types in which the recipient asked not to get the mail,
 * none (a report on the message) for the others; the reason is REASON_COMPLAINT, printed as
 * the type when it is not abuse. Also used for other feedback loops (SES notifications). */
void arf_set_class(struct bounce_recipient *rc, const char *ftype);

#endif
