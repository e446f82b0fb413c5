/* The result of reading one message: what it is (kind), and per failed recipient how (class)
 * and why (reason, blame). This is the contract between the parsers, the store and `parse`. */
#ifndef BOUNCED_REPORT_H
#define BOUNCED_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

enum bounce_kind {
	KIND_NONE = 0,
	KIND_DSN,		/* RFC 3464 / RFC 6533 */
	KIND_ARF,		/* RFC 5965 */
	KIND_AUTOREPLY,		/* RFC 3834 or a common vacation form */
	KIND_HEURISTIC,		/* free-form bounce read by rules */
};

enum bounce_class {
	CLASS_NONE = 0,
	CLASS_HARD,
	CLASS_SOFT,
	CLASS_COMPLAINT,
	CLASS_AUTOREPLY,
};

enum bounce_blame {
	BLAME_NONE = 0,		/* printed as "" */
	BLAME_RECIPIENT,
	BLAME_SENDER,
	BLAME_NETWORK,
	BLAME_UNKNOWN,
};

/* The reason table of DESIGN.md, in its order. */
enum bounce_reason {
	REASON_UNKNOWN = 0,
	REASON_USER_UNKNOWN,
	REASON_HOST_UNKNOWN,
	REASON_HAS_MOVED,
	REASON_NOT_ACCEPT,
	REASON_MAILBOX_FULL,
	REASON_MAILBOX_DISABLED,
	REASON_MESSAGE_TOO_LARGE,
	REASON_FILTERED,
	REASON_REJECTED,
	REASON_BLOCKED,
	REASON_SPAM_DETECTED,
	REASON_POLICY,
	REASON_RATE_LIMITED,
	REASON_EXPIRED,
	REASON_NETWORK_ERROR,
	REASON_SYSTEM_ERROR,
	REASON_SYNTAX_ERROR,
	REASON_COMPLAINT,	/* ARF abuse; other feedback types keep their name in feedback_type */
	REASON_AUTO_REPLY,
	REASON_DELIVERED,
	REASON__COUNT
};

/* Flags on a report: a limit was hit or the input was damaged. The message still gets an answer. */
#define BOUNCE_F_TRUNCATED	0x0001u	/* over LIMIT_PARSE_BYTES: only the head was parsed */
#define BOUNCE_F_HEADER_CUT	0x0002u	/* header block over LIMIT_HEADER_BYTES */
#define BOUNCE_F_LONG_LINE	0x0004u	/* a line over LIMIT_LINE_BYTES was cut */
#define BOUNCE_F_TOO_DEEP	0x0008u	/* MIME nesting over LIMIT_MIME_DEPTH: MIME not walked */
#define BOUNCE_F_TOO_MANY_PARTS	0x0010u	/* over LIMIT_MIME_PARTS: the rest not walked */
#define BOUNCE_F_BAD_BOUNDARY	0x0020u	/* a boundary libetpan cannot take safely: MIME not walked */
#define BOUNCE_F_MIME_ERROR	0x0040u	/* libetpan refused the structure */
#define BOUNCE_F_REGEX_LIMIT	0x0080u	/* a rule hit the PCRE2 match/depth limit */
#define BOUNCE_F_BAD_ENCODING	0x0100u	/* broken base64/QP or unknown charset */
#define BOUNCE_F_NUL_BYTES	0x0200u	/* NUL bytes were replaced */
#define BOUNCE_F_TOO_MANY_RCPTS	0x0400u	/* over LIMIT_RECIPIENTS: the rest not reported */

struct bounce_recipient {
	char *address;		/* as found, domain lowercased; never NULL */
	/* The address the report says delivery failed at, when another is acted on: the DSN's
	 * Final-Recipient or Postfix's address under Original-Recipient / "(expanded from <X>)",
	 * the report's address when a VERP address wins. Printed as final_recipient, stored as
	 * original_address (the report's own address). NULL when it is address itself. */
	char *original_recipient;
	char *action;		/* "failed", "delayed", "delivered", "relayed", "expanded" or "" */
	char status[16];	/* RFC 3463 "5.1.1" or "" */
	/* DSN, for --explain: status came from the Diagnostic-Code (the Status field was missing,
	 * a bare x.0.0, or the remote server's own code beat it); reported_status is what the
	 * Status field said ("" when none). Read by classify in the same process; not packed. */
	bool status_from_diag;
	char reported_status[16];
	char smtp_code[4];	/* "550" or "" */
	enum bounce_class class_;
	enum bounce_reason reason;
	enum bounce_blame blame;
	char *diagnostic;	/* may be NULL; at most LIMIT_DIAGNOSTIC_BYTES */
	char *remote_mta;	/* may be NULL */
	char *last_attempt;	/* DSN Last-Attempt-Date, may be NULL */
	char *feedback_type;	/* ARF Feedback-Type, may be NULL */
	/* --explain: what decided class and reason, e.g. "Status field 5.1.1; wording 'quota' (rule
	 * common-mailbox-full)". Always filled; printed only with --explain. */
	char *evidence;
	char *rule;		/* name of the heuristic rule that found or classified it, may be NULL */
	char *rule_at;		/* where that rule is written, "FILE:LINE"; NULL when rule is */
};

struct bounce_report {
	enum bounce_kind kind;
	unsigned int flags;		/* BOUNCE_F_* */
	char *message_id;		/* of the report itself, may be NULL */
	char *original_message_id;	/* of the returned original, may be NULL */
	char *original_from;		/* returned original's From, may be NULL */
	char *original_to;		/* returned original's To, may be NULL */
	char *original_subject;		/* may be NULL */
	char *x_tags;			/* "X-Name: value\n" lines of the returned original, may be NULL */
	char *reporting_mta;		/* DSN Reporting-MTA, may be NULL */
	char *mta_family;		/* heuristic: family recognised ("exim", "qmail"...), may be NULL */
	/* VERP decoded from the envelope recipient (or Delivered-To & co.). */
	bool verp_present;
	bool verp_verified;
	char *verp_address;
	char *verp_tag;
	char *verp_source;		/* which field it came from, for --explain */
	char *evidence;			/* message-level: why this kind */
	/* --explain: the heuristic rules that matched while reading it (family, sender, cut,
	 * forward, delayed, recipient), space-separated, each once, in the order they matched;
	 * may be NULL. The wording rules that decided are each recipient's rule. */
	char *rules_matched;

	struct bounce_recipient *rcpts;
	size_t nrcpts;
	size_t rcpts_cap;
};

/* The names printed in JSON and stored in the database: static strings. */
const char *bounce_kind_name(enum bounce_kind k);
const char *bounce_class_name(enum bounce_class c);
const char *bounce_blame_name(enum bounce_blame b);
const char *bounce_reason_name(enum bounce_reason r);
/* Default class and blame of a reason (the DESIGN.md table). */
enum bounce_class bounce_reason_class(enum bounce_reason r);
enum bounce_blame bounce_reason_blame(enum bounce_reason r);
/* The reason named name (a DESIGN.md reason name); false when it names none. */
bool bounce_reason_from_name(const char *name, enum bounce_reason *r);

/* A zeroed report (kind none, no recipient), owned by the caller; its strings and recipients are
 * owned by the report and freed with it. */
struct bounce_report *bounce_report_new(void);
void bounce_report_free(struct bounce_report *r);	/* NULL-safe */
/* Appends a zeroed recipient (strings NULL, action "") owned by the report. Returns NULL when
 * LIMIT_RECIPIENTS is reached. */
struct bounce_recipient *bounce_report_add(struct bounce_report *r, const char *address);
/* Finds a recipient by address, compared case-insensitively; NULL when none (owned by r). */
struct bounce_recipient *bounce_report_find(struct bounce_report *r, const char *address);
/* Replaces *dst (freed) with a copy of src; src NULL leaves *dst NULL. */
void bounce_set(char **dst, const char *src);

/* One JSON object on one line (no newline) following DESIGN.md's parse contract. source may be
 * NULL. With explain, each recipient gets "evidence", "rule" and "rule_at", and the report gets "evidence"
 * and "flags". Invalid UTF-8 anywhere is replaced by U+FFFD: the output is always valid JSON. */
void report_to_json(const struct bounce_report *r, const char *source, bool explain, struct strbuf *out);

/* A compact binary form of a report, for passing it between processes (the LMTP parse worker).
 * report_unpack returns NULL on malformed input. */
void report_pack(const struct bounce_report *r, struct strbuf *out);
struct bounce_report *report_unpack(const char *p, size_t len);

#endif
