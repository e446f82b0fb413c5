/* Status code, SMTP reply code and wording → reason, class and blame (DESIGN.md reason table).
 * The wording table is data (parsers/rules/reasons.rules); the code tables are RFC 3463 and
 * RFC 5321 and live here. */
#include "classify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "smtpcode.h"
#include "rules_int.h"
#include "strbuf.h"

/* Bytes of the report text read for wording or for the SMTP stage of an address: the report's
 * own words come first, and this bounds the work per recipient on a hostile report. */
#define CLASSIFY_CONTEXT_BYTES	(64u * 1024)

/* How far past an address the report's paragraph about it is read for its SMTP stage ("in
 * reply to end of DATA"): Postfix and Sendmail put it within a few folded lines. */
#define CLASSIFY_STAGE_WINDOW	600

/* Longest piece of matched wording quoted in the evidence. */
#define CLASSIFY_WORDING_QUOTE	60

/* RFC 3463 subject.detail → reason when no wording decides. Ordered: exact details first. */
static const struct {
	int subject, detail;	/* detail -1: any */
	enum bounce_reason reason;
} status_table[] = {
	{ 1, 0, REASON_USER_UNKNOWN },		/* other address status: on a recipient, its address */
	{ 1, 1, REASON_USER_UNKNOWN },		/* bad destination mailbox address */
	{ 1, 2, REASON_HOST_UNKNOWN },		/* bad destination system address */
	{ 1, 3, REASON_USER_UNKNOWN },		/* bad destination mailbox address syntax */
	{ 1, 4, REASON_SYNTAX_ERROR },		/* destination mailbox address ambiguous */
	{ 1, 6, REASON_HAS_MOVED },		/* destination mailbox has moved */
	{ 1, 7, REASON_REJECTED },		/* bad sender's mailbox address syntax */
	{ 1, 8, REASON_REJECTED },		/* bad sender's system address */
	{ 1, 10, REASON_NOT_ACCEPT },		/* RFC 7505: recipient domain has a null MX */
	{ 2, 0, REASON_FILTERED },		/* other mailbox status: in practice filters */
	{ 2, 1, REASON_MAILBOX_DISABLED },	/* mailbox disabled, not accepting messages */
	{ 2, 2, REASON_MAILBOX_FULL },
	{ 2, 3, REASON_MESSAGE_TOO_LARGE },	/* message length exceeds administrative limit */
	{ 2, 4, REASON_SYSTEM_ERROR },		/* mailing list expansion problem */
	{ 3, 2, REASON_NOT_ACCEPT },		/* system not accepting network messages */
	{ 3, 4, REASON_MESSAGE_TOO_LARGE },
	{ 3, -1, REASON_SYSTEM_ERROR },
	{ 4, 3, REASON_SYSTEM_ERROR },		/* directory server failure */
	{ 4, 7, REASON_EXPIRED },		/* delivery time expired */
	{ 4, -1, REASON_NETWORK_ERROR },
	{ 5, 3, REASON_RATE_LIMITED },		/* too many recipients */
	{ 5, -1, REASON_SYNTAX_ERROR },
	{ 6, -1, REASON_POLICY },		/* media/content not acceptable */
	{ 7, 13, REASON_MAILBOX_DISABLED },	/* user account disabled */
	{ 7, 17, REASON_HAS_MOVED },		/* RFC 8098... mailbox owner has changed */
	{ 7, 25, REASON_BLOCKED },		/* reverse DNS validation failed */
	{ 7, 27, REASON_REJECTED },		/* sender address has null MX */
	{ 7, 28, REASON_RATE_LIMITED },		/* mail flood detected */
	{ 7, -1, REASON_POLICY },
};

/* Codes too generic to say anything on their own: wording found anywhere in the report's text
 * may decide instead. */
static bool
status_generic(const char *status)
{
	if (status[0] == '\0')
		return true;
	const char *d = strchr(status, '.');
	return d == NULL || strcmp(d, ".0.0") == 0 || strcmp(d, ".5.0") == 0 ||
	    strcmp(d, ".7.0") == 0 || strcmp(d, ".7.1") == 0 || strcmp(d, ".1.0") == 0 ||
	    strcmp(d, ".2.0") == 0 || strcmp(d, ".3.0") == 0 || strcmp(d, ".4.0") == 0;
}

static bool
status_reason(const char *status, enum bounce_reason *reason_r)
{
	int cls, subject, detail;
	char tail;
	if (sscanf(status, "%d.%d.%d%c", &cls, &subject, &detail, &tail) != 3)
		return false;
	for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
		if (status_table[i].subject == subject &&
		    (status_table[i].detail == detail || status_table[i].detail == -1)) {
			*reason_r = status_table[i].reason;
			return true;
		}
	return false;
}

/* RFC 5321 reply codes → reason when neither status nor wording decides. */
static bool
smtp_reason(const char *code, enum bounce_reason *reason_r)
{
	static const struct {
		const char *code;
		enum bounce_reason reason;
	} t[] = {
		{ "421", REASON_NETWORK_ERROR },	/* service not available, closing channel */
		{ "451", REASON_SYSTEM_ERROR },		/* local error in processing */
		{ "452", REASON_MAILBOX_FULL },		/* insufficient system storage */
		{ "500", REASON_SYNTAX_ERROR },
		{ "501", REASON_SYNTAX_ERROR },
		{ "502", REASON_SYNTAX_ERROR },
		{ "503", REASON_SYNTAX_ERROR },
		{ "504", REASON_SYNTAX_ERROR },
		{ "521", REASON_NOT_ACCEPT },		/* RFC 7504: host does not accept mail */
		{ "552", REASON_MAILBOX_FULL },		/* exceeded storage allocation */
		{ "556", REASON_NOT_ACCEPT },		/* RFC 7504: domain does not accept mail */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(code, t[i].code) == 0) {
			*reason_r = t[i].reason;
			return true;
		}
	return false;
}

/* Evidence: the words a rule matched, quoted and cut short on a character boundary. */
static void
quote_wording(struct strbuf *ev, const char *p, size_t len)
{
	if (len == 0)
		return;
	size_t n = len;
	if (n > CLASSIFY_WORDING_QUOTE) {
		n = CLASSIFY_WORDING_QUOTE;
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
	}
	strbuf_putc(ev, '\'');
	strbuf_append(ev, p, n);
	strbuf_puts(ev, n < len ? "...' " : "' ");
}

/* x.1.x: the code itself is about the address. */
static bool
address_code(const char *status)
{
	return status[0] != '\0' && status[1] == '.' && status[2] == '1' && status[3] == '.';
}

static bool
has_word(const char *p, size_t len, const char *w)
{
	size_t wl = strlen(w);
	int first = tolower((unsigned char)w[0]);
	for (size_t i = 0; i + wl <= len; i++)
		if (tolower((unsigned char)p[i]) == first && strncasecmp(p + i, w, wl) == 0)
			return true;
	return false;
}

/* The refusal answered RCPT TO (Postfix "in reply to RCPT TO command", Yahoo "[RCPT_TO]",
 * Exim "after RCPT TO", qmail "RCPT TO response", Sendmail ">>> RCPT To"). */
static bool
rcpt_stage(const char *p, size_t len)
{
	return has_word(p, len, "RCPT");
}

static bool
data_stage(const char *p, size_t len)
{
	return has_word(p, len, "end of DATA") || has_word(p, len, "after DATA") ||
	    has_word(p, len, ">>> DATA") || has_word(p, len, "command DATA");
}

/* The report text names the stage for this address: the paragraph where it appears says RCPT
 * (data false) or end of DATA (data true). */
static bool
stage_in_context(const char *ctx, size_t len, const char *address, bool data)
{
	if (ctx == NULL || address == NULL || address[0] == '\0')
		return false;
	if (len > CLASSIFY_CONTEXT_BYTES)
		len = CLASSIFY_CONTEXT_BYTES;
	size_t al = strlen(address);
	char first = (char)tolower((unsigned char)address[0]);
	for (size_t i = 0; i + al <= len; i++) {
		if ((char)tolower((unsigned char)ctx[i]) != first || strncasecmp(ctx + i, address, al) != 0)
			continue;
		size_t e = i + al;
		while (e < len && e - i < CLASSIFY_STAGE_WINDOW && !(ctx[e] == '\n' && e + 1 < len && ctx[e + 1] == '\n'))
			e++;
		if (data ? data_stage(ctx + i, e - i) : rcpt_stage(ctx + i, e - i))
			return true;
	}
	return false;
}

static bool
is_hard(enum bounce_reason r)
{
	return r == REASON_USER_UNKNOWN || r == REASON_HOST_UNKNOWN || r == REASON_HAS_MOVED ||
	    r == REASON_NOT_ACCEPT;
}

bool
classify_recipient(struct bounce_recipient *rc, const char *context, size_t context_len,
    const struct rules *rules, struct rules_scratch *sc)
{
	if (rc->class_ == CLASS_COMPLAINT || rc->class_ == CLASS_AUTOREPLY)
		return false;
	const char *action = rc->action != NULL ? rc->action : "";
	struct strbuf ev = STRBUF_INIT;
	if (strcmp(action, "delivered") == 0 || strcmp(action, "relayed") == 0 ||
	    strcmp(action, "expanded") == 0) {
		rc->class_ = CLASS_NONE;
		rc->reason = REASON_DELIVERED;
		rc->blame = BLAME_NONE;
		strbuf_printf(&ev, "action %s", action);
		free(rc->evidence);
		rc->evidence = strbuf_detach(&ev);
		return false;
	}
	const char *diag = rc->diagnostic != NULL ? rc->diagnostic : "";
	bool status_given = rc->status[0] != '\0';
	/* A report's bare x.0.0 says less than the remote server's own enhanced code of the same
	 * class in the diagnostic ("Status: 5.0.0" over "550 5.7.25 … Reverse DNS …"). */
	bool status_refined = false;
	if (status_given && strlen(rc->status) == 5 && strcmp(rc->status + 1, ".0.0") == 0) {
		char found[SMTPCODE_STATUS_SIZE] = "", code[4] = "";
		smtpcode_fill(diag, strlen(diag), found, code);
		if (found[0] == rc->status[0] && strcmp(found + 1, ".0.0") != 0) {
			memcpy(rc->status, found, sizeof(found));
			status_refined = true;
		}
	}
	smtpcode_fill(diag, strlen(diag), rc->status, rc->smtp_code);
	bool delayed = strcmp(action, "delayed") == 0;
	bool temporary = delayed || rc->status[0] == '4' || (rc->status[0] == '\0' && rc->smtp_code[0] == '4');
	/* A sender's MTA that gave up (action failed) on an address the remote server kept
	 * calling unknown, even with a 4xx, reports a dead address: Postfix does so after its
	 * queue lifetime of "450 4.1.1 User unknown". */
	bool gave_up = strcmp(action, "failed") == 0;

	enum bounce_reason reason = REASON_UNKNOWN;
	const struct rule *rule = NULL;
	bool limit = false, decided = false;
	if (rc->status[0] == '\0')
		;
	else if (status_refined)
		strbuf_printf(&ev, "status %s (from the diagnostic, over the report's x.0.0)",
		    rc->status);
	else if (rc->status_from_diag && rc->reported_status[0] != '\0')
		strbuf_printf(&ev, "status %s (from the Diagnostic-Code, over Status %s)", rc->status,
		    rc->reported_status);
	else if (rc->status_from_diag || !status_given)
		strbuf_printf(&ev, "status %s (from the diagnostic)", rc->status);
	else
		strbuf_printf(&ev, "status %s (as reported)", rc->status);
	if (rc->smtp_code[0] != '\0')
		strbuf_printf(&ev, "%ssmtp %s", ev.len ? "; " : "", rc->smtp_code);
	/* A report's own code and words wrapping the remote server's reply ("5.1.0 - Unknown
	 * address error 550-'5.7.1 ... Access denied'"): the reply is the specific statement,
	 * so only its words are read, and its code decides when they say nothing. */
	size_t at = 0, mlen = 0, quoted = 0;
	bool wrapped = smtpcode_quoted_reply(diag, strlen(diag), &quoted);
	const char *wdiag = diag + quoted;
	const struct rule *wr = wdiag[0] != '\0' ?
	    rules_reason_rule(rules, sc, wdiag, strlen(wdiag), &at, &mlen, &limit) : NULL;
	at += quoted;
	if (wrapped && wr == NULL && rc->status[0] != '\0' && !delayed &&
	    status_reason(rc->status, &reason)) {
		decided = true;
		strbuf_printf(&ev, "%scode %s of the quoted reply", ev.len ? "; " : "", rc->status);
	}
	if (wr != NULL) {
		decided = true;
		reason = wr->reason;
		rule = wr;
		strbuf_printf(&ev, "%swording ", ev.len ? "; " : "");
		quote_wording(&ev, diag + at, mlen);
		strbuf_printf(&ev, "(rule %s)", rule->name);
		/* "No such user" said at DATA time (in the diagnostic, or where the report text
		 * names this address) comes from a filter on an address that was accepted at RCPT,
		 * unless the code itself is about the address, or the reply says the mailbox does
		 * not exist ("mailbox not found", "... does not exist": Yahoo, mail.ru), in the words
		 * the rule matched or further on ("invalid mailbox. Local mailbox ... is unavailable:
		 * user not found"). */
		size_t dl = strlen(diag);
		if (wr->rcpt_only && !address_code(rc->status) && !rcpt_stage(diag, dl) &&
		    (data_stage(diag, dl) || stage_in_context(context, context_len, rc->address, true)) &&
		    !has_word(diag, dl, "exist") && !has_word(diag, dl, "not found")) {
			reason = REASON_FILTERED;
			strbuf_printf(&ev, "; refused after DATA, so filtered");
		}
	}
	/* "User unknown" under 5.2.0 (mailbox status) comes from carriers that accept the address
	 * and refuse the message after DATA: a filter, not a known-missing mailbox. Under a bare
	 * x.7.x the words win: "550 5.7.1 No such user" names the mailbox, the code is generic. */
	if (decided && reason == REASON_USER_UNKNOWN && rc->status[0] != '\0' &&
	    strcmp(rc->status + 1, ".2.0") == 0) {
		reason = REASON_FILTERED;
		strbuf_printf(&ev, "; under %s, so filtered", rc->status);
	}
	if (!decided && !delayed && status_reason(rc->status, &reason)) {
		/* A specific code wins over wording elsewhere in the report; a generic one does not. */
		decided = !status_generic(rc->status);
		if (decided)
			strbuf_printf(&ev, "%scode %s", ev.len ? "; " : "", rc->status);
	}
	/* The report's text, only when nothing else speaks: no diagnostic, or one with no code
	 * that no rule read ("Message delivery to 'x' failed.", the reason given further down).
	 * Only the report's own words: the returned message it may quote after them (a cut rule's
	 * place) is the sender's mail, its "Received-SPF:" or "virus-free" no evidence. */
	size_t own = 0;
	if (!decided && (diag[0] == '\0' || (rc->status[0] == '\0' && rc->smtp_code[0] == '\0')) &&
	    context != NULL && context_len > 0)
		own = rules_report_end(rules, sc, context, context_len < CLASSIFY_CONTEXT_BYTES ?
		    context_len : CLASSIFY_CONTEXT_BYTES, &limit);
	if (own > 0 && (rule = rules_reason_rule(rules, sc, context, own, NULL, NULL, &limit)) != NULL) {
		decided = true;
		reason = rule->reason;
		strbuf_printf(&ev, "%swording in the report text (rule %s)", ev.len ? "; " : "",
		    rule->name);
	}
	if (!decided && delayed) {
		reason = REASON_EXPIRED;
		decided = true;
		strbuf_printf(&ev, "%saction delayed", ev.len ? "; " : "");
	}
	if (!decided && status_reason(rc->status, &reason)) {
		decided = true;
		strbuf_printf(&ev, "%scode %s", ev.len ? "; " : "", rc->status);
	}
	if (!decided && rc->smtp_code[0] != '\0' && smtp_reason(rc->smtp_code, &reason)) {
		decided = true;
		strbuf_printf(&ev, "%sreply code %s", ev.len ? "; " : "", rc->smtp_code);
	}
	if (!decided) {
		reason = REASON_UNKNOWN;
		strbuf_printf(&ev, "%snothing conclusive", ev.len ? "; " : "");
	}
	if (limit)
		strbuf_printf(&ev, "; a wording rule hit the regex limit");

	rc->reason = reason;
	rc->class_ = bounce_reason_class(reason);
	rc->blame = bounce_reason_blame(reason);
	/* A permanent refusal of the address at RCPT says at least that the recipient's side
	 * refused it, whatever the words ("550 Administrative prohibition" at RCPT TO). */
	if (reason == REASON_UNKNOWN && rc->smtp_code[0] == '5' && strcmp(rc->smtp_code, "550") == 0 &&
	    (rcpt_stage(diag, strlen(diag)) || stage_in_context(context, context_len, rc->address,
	    false))) {
		rc->blame = BLAME_RECIPIENT;
		strbuf_printf(&ev, "; 550 at RCPT, so the recipient's");
	}
	/* Hard means permanently undeliverable: never for a temporary failure or a delay. */
	/* Only the remote server's own words: a bare 4.1.1 is also Postfix's "unverified address"
	 * while its probe cannot reach the recipient's server, which says nothing of the user. */
	bool unknown_for_good = reason == REASON_USER_UNKNOWN && rule != NULL && gave_up && !delayed;
	if (rc->class_ == CLASS_HARD && ((temporary && !unknown_for_good) || !is_hard(reason)))
		rc->class_ = CLASS_SOFT;
	if (rc->class_ != CLASS_HARD && is_hard(reason) && temporary)
		strbuf_printf(&ev, "; temporary, so soft");
	else if (rc->class_ == CLASS_HARD && temporary)
		strbuf_printf(&ev, "; temporary code, but delivery failed for good");
	strbuf_printf(&ev, " → %s", bounce_reason_name(reason));
	if (rule != NULL) {
		bounce_set(&rc->rule, rule->name);
		bounce_set(&rc->rule_at, rule->origin);
	}
	free(rc->evidence);
	rc->evidence = strbuf_detach(&ev);
	return limit;
}
