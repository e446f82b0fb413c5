/* Reading one message end to end: MIME → ARF | DSN | auto-reply | heuristic rules → VERP →
 * classification. Pure: no I/O. */
#ifndef BOUNCED_BOUNCE_H
#define BOUNCED_BOUNCE_H

#include <stddef.h>

#include "report.h"

struct rules;
struct rules_scratch;
struct verp_config;

struct bounce_options {
	/* The envelope recipient the message was delivered to (LMTP RCPT TO, --envelope-recipient);
	 * NULL to look at Delivered-To, X-Original-To, Envelope-To, then To. */
	const char *envelope_recipient;
	/* Compiled heuristic rules; NULL for the built-in set (rules_builtin()). */
	const struct rules *rules;
	/* What matching the rules writes (rules_scratch_new), reused across messages by one thread;
	 * NULL: bounce_parse makes one for the call. */
	struct rules_scratch *scratch;
	/* VERP decoding and signature checking; NULL for the default unsigned format. */
	const struct verp_config *verp;
};

/* Parses msg (len bytes, any content). Always returns a report, owned by the caller. */
struct bounce_report *bounce_parse(const char *msg, size_t len, const struct bounce_options *opt);

#endif
