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

#endif
