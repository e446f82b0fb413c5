/* Auto-replies (RFC 3834, vacation forms) and read receipts (RFC 8098). Pure. */
#ifndef BOUNCED_AUTOREPLY_H
#define BOUNCED_AUTOREPLY_H

#include <stdbool.h>

#include "mime.h"
#include "report.h"

/* True when m is an auto-reply: Auto-Submitted: auto-replied (auto-generated and auto-notified
 * alone are notifications, not replies: RFC 3834 5), Precedence auto_reply, X-Autoreply,
 * X-Autorespond, or a vacation phrase in the common languages at the start of the subject (alone
 * or as the responder's prefix; never after a person's Re:/Fwd:). A message from a
 * mailer-daemon / postmaster, or one carrying a delivery-status part, is never an auto-reply.
 * On true, sets kind KIND_AUTOREPLY and adds the replying address (From, else Reply-To) with
 * class autoreply, reason auto_reply, blame none, and the evidence. */
bool autoreply_parse(const struct mime_message *m, struct bounce_report *r);

/* True when m is a read receipt (message/disposition-notification). Sets kind KIND_NONE and
 * adds the Final-Recipient with class none, reason delivered, action "" and the evidence. Sets
 * original_message_id from Original-Message-ID when the returned original has no Message-ID
 * field (the caller reads that one afterwards). */
bool mdn_parse(const struct mime_message *m, struct bounce_report *r);

#endif
