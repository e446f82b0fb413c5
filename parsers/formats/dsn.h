/* RFC 3464 delivery-status fields (and RFC 6533 message/global-delivery-status). Pure. */
#ifndef BOUNCED_DSN_H
#define BOUNCED_DSN_H

#include <stddef.h>

#include "report.h"

/* Parses the body of a message/delivery-status part (LF line endings, UTF-8 allowed): the
 * per-message group, then one group per recipient. Appends one recipient to r per group with a
 * Final-Recipient (or Original-Recipient when Final is missing), filling action, status,
 * smtp_code and diagnostic (from Diagnostic-Code, with the SMTP and enhanced codes inside it),
 * remote_mta, last_attempt and original_recipient; sets r->reporting_mta. Does not classify.
 * Returns the number of recipients added. */
size_t dsn_parse(const char *body, size_t len, struct bounce_report *r);

/* For a report whose MIME structure is broken (no boundary, a mangled one, no Content-Type):
 * finds delivery-status fields in free text, starting at the first line that begins (column 0)
 * with Reporting-MTA:, Final-Recipient: or Original-Recipient: and only when an Action: or
 * Status: line follows; then parses from there as dsn_parse does. Quoted lines ("> ...") never
 * match. The caller decides whether the message is a report at all (sender, report type).
 * Returns the number of recipients added. */
size_t dsn_parse_text(const char *text, size_t len, struct bounce_report *r);

#endif
