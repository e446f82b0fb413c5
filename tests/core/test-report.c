#include "report.h"
#include "test.h"

static const struct {
	enum bounce_reason reason;
	const char *name, *class_, *blame;
} table[] = {
	{ REASON_USER_UNKNOWN, "user_unknown", "hard", "recipient" },
	{ REASON_HOST_UNKNOWN, "host_unknown", "hard", "recipient" },
	{ REASON_HAS_MOVED, "has_moved", "hard", "recipient" },
	{ REASON_NOT_ACCEPT, "not_accept", "hard", "recipient" },
	{ REASON_MAILBOX_FULL, "mailbox_full", "soft", "recipient" },
	{ REASON_MAILBOX_DISABLED, "mailbox_disabled", "soft", "recipient" },
	{ REASON_MESSAGE_TOO_LARGE, "message_too_large", "soft", "sender" },
	{ REASON_FILTERED, "filtered", "soft", "recipient" },
	{ REASON_REJECTED, "rejected", "soft", "sender" },
	{ REASON_BLOCKED, "blocked", "soft", "sender" },
	{ REASON_SPAM_DETECTED, "spam_detected", "soft", "sender" },
	{ REASON_POLICY, "policy", "soft", "sender" },
	{ REASON_RATE_LIMITED, "rate_limited", "soft", "sender" },
	{ REASON_EXPIRED, "expired", "soft", "network" },
	{ REASON_NETWORK_ERROR, "network_error", "soft", "network" },
	{ REASON_SYSTEM_ERROR, "system_error", "soft", "network" },
	{ REASON_SYNTAX_ERROR, "syntax_error", "soft", "sender" },
	{ REASON_COMPLAINT, "complaint", "complaint", "recipient" },
	{ REASON_AUTO_REPLY, "auto_reply", "autoreply", "" },
	{ REASON_DELIVERED, "delivered", "none", "" },
	{ REASON_UNKNOWN, "unknown", "soft", "unknown" },
};

static struct bounce_report *
sample(void)
{
	struct bounce_report *r = bounce_report_new();
	r->kind = KIND_DSN;
	r->flags = BOUNCE_F_TRUNCATED | BOUNCE_F_NUL_BYTES;
	bounce_set(&r->message_id, "<m1@example.org>");
	bounce_set(&r->original_message_id, "<orig\"1@example.org>");
	r->verp_present = true;
	r->verp_verified = false;
	bounce_set(&r->verp_address, "joe@example.com");
	bounce_set(&r->verp_tag, "c42");
	struct bounce_recipient *rc = bounce_report_add(r, "joe@example.com");
	bounce_set(&rc->action, "failed");
	memcpy(rc->status, "5.1.1", 6);
	memcpy(rc->smtp_code, "550", 4);
	rc->class_ = CLASS_HARD;
	rc->reason = REASON_USER_UNKNOWN;
	rc->blame = BLAME_RECIPIENT;
	bounce_set(&rc->diagnostic, "550 5.1.1 <joe@example.com>: no such user \xff");
	bounce_set(&rc->remote_mta, "mx.example.com");
	rc = bounce_report_add(r, "ann@example.net");
	bounce_set(&rc->feedback_type, "fraud");
	rc->class_ = CLASS_COMPLAINT;
	rc->reason = REASON_COMPLAINT;
	rc->blame = BLAME_RECIPIENT;
	return r;
}

static const char sample_json[] =
    "{\"source\":\"a.eml\",\"kind\":\"dsn\",\"message_id\":\"<m1@example.org>\","
    "\"original_message_id\":\"<orig\\\"1@example.org>\","
    "\"verp\":{\"address\":\"joe@example.com\",\"tag\":\"c42\",\"verified\":false},"
    "\"recipients\":[{\"address\":\"joe@example.com\",\"action\":\"failed\",\"status\":\"5.1.1\","
    "\"smtp_code\":\"550\",\"class\":\"hard\",\"reason\":\"user_unknown\",\"blame\":\"recipient\","
    "\"diagnostic\":\"550 5.1.1 <joe@example.com>: no such user \xef\xbf\xbd\","
    "\"remote_mta\":\"mx.example.com\"},"
    "{\"address\":\"ann@example.net\",\"action\":\"\",\"status\":\"\",\"smtp_code\":\"\","
    "\"class\":\"complaint\",\"reason\":\"fraud\",\"blame\":\"recipient\",\"diagnostic\":\"\","
    "\"remote_mta\":\"\",\"feedback_type\":\"fraud\"}]}";

int
main(void)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		CHECK_STR("name", bounce_reason_name(table[i].reason), table[i].name);
		CHECK_STR("class", bounce_class_name(bounce_reason_class(table[i].reason)), table[i].class_);
		CHECK_STR("blame", bounce_blame_name(bounce_reason_blame(table[i].reason)), table[i].blame);
		enum bounce_reason back;
		CHECK_INT("from_name", bounce_reason_from_name(table[i].name, &back), 1);
		CHECK_INT("from_name value", back, table[i].reason);
	}

	struct bounce_report *r = sample();
	struct strbuf j = STRBUF_INIT, j2 = STRBUF_INIT, packed = STRBUF_INIT;
	report_to_json(r, "a.eml", false, &j);
	CHECK_STR("json", j.s, sample_json);
	CHECK_INT("find case-insensitive", bounce_report_find(r, "JOE@Example.com") == &r->rcpts[0], 1);

	/* pack → unpack gives the same report, also under --explain. */
	report_pack(r, &packed);
	struct bounce_report *u = report_unpack(packed.s, packed.len);
	CHECK_INT("unpack", u != NULL, 1);
	if (u != NULL) {
		strbuf_reset(&j);
		report_to_json(r, "x", true, &j);
		report_to_json(u, "x", true, &j2);
		CHECK_STR("round trip", j2.s, j.s);
	}
	/* Every truncation of the packed form is refused, never read past its end. */
	size_t refused = 0;
	for (size_t n = 0; n < packed.len; n++) {
		struct bounce_report *t = report_unpack(packed.s, n);
		refused += t == NULL;
		bounce_report_free(t);
	}
	CHECK_INT("truncations refused", refused, packed.len);
	bounce_report_free(u);
	bounce_report_free(r);
	strbuf_free(&j);
	strbuf_free(&j2);
	strbuf_free(&packed);

	/* --explain shows what was read of the returned original: From, To, Subject, and its X-
	 * tags as an object (a name seen twice keeps its first value). */
	r = bounce_report_new();
	r->original_from = xstrdup("\"News\" <news@sender.example>");
	r->original_subject = xstrdup("Gr\xc3\xbc\xc3\x9f" "e");
	r->x_tags = xstrdup("X-Campaign: 2026-11\nX-List: a:b\nx-campaign: again\nX-Empty:\n");
	strbuf_reset(&j);
	report_to_json(r, "o", true, &j);
	CHECK_INT("explain original", strstr(j.s, ",\"original\":{\"from\":\"\\\"News\\\" "
	    "<news@sender.example>\",\"to\":\"\",\"subject\":\"Gr\xc3\xbc\xc3\x9f" "e\","
	    "\"x_tags\":{\"X-Campaign\":\"2026-11\",\"X-List\":\"a:b\",\"X-Empty\":\"\"}},") != NULL, 1);
	strbuf_reset(&j);
	report_to_json(r, "o", false, &j);
	CHECK_INT("no original without --explain", strstr(j.s, "\"original\"") == NULL, 1);
	bounce_report_free(r);
	strbuf_free(&j);

	/* LIMIT_RECIPIENTS holds, and saying so is a flag. */
	r = bounce_report_new();
	size_t added = 0;
	while (bounce_report_add(r, "a@b") != NULL && added < 100000)
		added++;
	CHECK_INT("recipient limit", added, 1000);
	CHECK_INT("recipient limit flagged", (r->flags & BOUNCE_F_TOO_MANY_RCPTS) != 0, 1);
	bounce_report_free(r);
	return TEST_DONE();
}
