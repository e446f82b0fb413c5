/* The provider mappings as a table: a body shaped like the provider's documented sample, and
 * what comes out of it, event by event ("KEY: ADDRESS CLASS REASON BLAME ..."), or the error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "webhook.h"

static const struct {
	enum webhook_provider p;
	const char *id;		/* SES: the SNS MessageId */
	const char *body;
	const char *want;	/* events "KEY: rcpt...;" then " ignored=N", or "error: ..." */
} rows[] = {
	/* SES Bounce, the notificationType form (AWS's sample), a 5.1.1 through the classifier. */
	{ WEBHOOK_SES, "m-1", "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
	  "\"bounceSubType\":\"General\",\"bouncedRecipients\":[{\"emailAddress\":\"jane@Example.COM\","
	  "\"action\":\"failed\",\"status\":\"5.1.1\",\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}],"
	  "\"timestamp\":\"2016-01-27T14:59:38.237Z\",\"feedbackId\":\"0000013786031775-fea503bc\","
	  "\"reportingMTA\":\"dsn; a8-70.smtp-out.amazonses.com\"},\"mail\":{\"timestamp\":"
	  "\"2016-01-27T14:59:38.237Z\",\"source\":\"john@example.com\",\"messageId\":\"00000137860315fd\","
	  "\"destination\":[\"jane@example.com\"],\"commonHeaders\":{\"messageId\":\"<a@example.com>\","
	  "\"subject\":\"Hello\"}}}",
	  "ses:m-1: jane@example.com hard user_unknown recipient; ignored=0" },
	/* Permanent/General without a diagnostic: SES's verdict fills in. */
	{ WEBHOOK_SES, "m-2", "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
	  "\"bounceSubType\":\"NoEmail\",\"bouncedRecipients\":[{\"emailAddress\":\"a@example.com\"},"
	  "{\"emailAddress\":\"b@example.com\"}]},\"mail\":{}}",
	  "ses:m-2: a@example.com hard user_unknown recipient, b@example.com hard user_unknown recipient; ignored=0" },
	/* A block worded by the remote server, under Permanent: the sender's problem. */
	{ WEBHOOK_SES, "m-3", "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
	  "\"bounceSubType\":\"General\",\"bouncedRecipients\":[{\"emailAddress\":\"c@example.com\","
	  "\"status\":\"5.7.1\",\"diagnosticCode\":\"smtp; 554 5.7.1 Service unavailable; Client host "
	  "[192.0.2.1] blocked using zen.spamhaus.org\"}]},\"mail\":{}}",
	  "ses:m-3: c@example.com soft blocked sender; ignored=0" },
	{ WEBHOOK_SES, "m-4", "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Transient\","
	  "\"bounceSubType\":\"MailboxFull\",\"bouncedRecipients\":[{\"emailAddress\":\"d@example.com\"}]},"
	  "\"mail\":{}}",
	  "ses:m-4: d@example.com soft mailbox_full recipient; ignored=0" },
	{ WEBHOOK_SES, "m-5", "{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":"
	  "[{\"emailAddress\":\"e@example.com\"}],\"complaintFeedbackType\":\"abuse\"},\"mail\":{}}",
	  "ses:m-5: e@example.com complaint complaint recipient; ignored=0" },
	{ WEBHOOK_SES, "m-6", "{\"notificationType\":\"Delivery\",\"delivery\":{\"recipients\":"
	  "[\"f@example.com\"],\"smtpResponse\":\"250 ok\"},\"mail\":{}}",
	  "ses:m-6: f@example.com none delivered ; ignored=0" },
	{ WEBHOOK_SES, "m-7", "{\"eventType\":\"Open\",\"open\":{},\"mail\":{}}", "ignored=1" },
	{ WEBHOOK_SES, "m-8", "{\"notificationType\":\"Bounce\",\"notificationType\":\"Delivery\"}",
	  "error: malformed JSON at line 1 column 47: duplicate object key near '\"notificationType\"'" },
	{ WEBHOOK_SES, "m-9", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	  "error: JSON nested deeper than 32" },
	{ WEBHOOK_SES, "m-10", "{\"notificationType\":\"Bounce\"", "error: malformed JSON at line 1 "
	  "column 28: '}' expected near end of file" },
	/* SendGrid: a batch; the key ignores sg_event_id, which changes on a retry. */
	{ WEBHOOK_SENDGRID, NULL, "[{\"email\":\"g@example.com\",\"timestamp\":1513299569,\"smtp-id\":"
	  "\"<14c5d75ce93.dfd.64b469@ismtpd-555>\",\"event\":\"bounce\",\"category\":\"cat facts\","
	  "\"sg_event_id\":\"6g4ZI7SA-xmRDv57GoPIPw==\",\"sg_message_id\":\"14c5d75ce93.dfd.64b469\","
	  "\"reason\":\"500 unknown recipient\",\"status\":\"5.0.0\",\"type\":\"bounce\","
	  "\"bounce_classification\":\"Invalid Address\"},{\"email\":\"h@example.com\",\"event\":\"open\"}]",
	  "sendgrid:sha256:7150d86e39af163194cfd65f42b57a47e781099dbbd0a8668c7020bbdb601594: g@example.com hard user_unknown recipient; ignored=1" },
	/* The same event retried: another sg_event_id, members in another order, the same key. */
	{ WEBHOOK_SENDGRID, NULL, "[{\"sg_event_id\":\"retry-2\",\"email\":\"g@example.com\","
	  "\"timestamp\":1513299569,\"smtp-id\":\"<14c5d75ce93.dfd.64b469@ismtpd-555>\",\"event\":"
	  "\"bounce\",\"category\":\"cat facts\",\"sg_message_id\":\"14c5d75ce93.dfd.64b469\","
	  "\"reason\":\"500 unknown recipient\",\"status\":\"5.0.0\",\"type\":\"bounce\","
	  "\"bounce_classification\":\"Invalid Address\"}]",
	  "sendgrid:sha256:7150d86e39af163194cfd65f42b57a47e781099dbbd0a8668c7020bbdb601594: g@example.com hard user_unknown recipient; ignored=0" },
	{ WEBHOOK_SENDGRID, NULL, "[{\"email\":\"i@example.com\",\"event\":\"bounce\",\"type\":\"blocked\","
	  "\"status\":\"5.0.0\",\"reason\":\"550 5.1.1 user unknown\",\"bounce_classification\":\"Reputation\"}]",
	  "*: i@example.com soft blocked sender; ignored=0" },
	{ WEBHOOK_SENDGRID, NULL, "[{\"email\":\"j@example.com\",\"event\":\"spamreport\"},"
	  "{\"email\":\"k@example.com\",\"event\":\"deferred\",\"response\":\"400 try again later\"},"
	  "{\"email\":\"l@example.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"status\":\"5.0.0\"}]",
	  "*: j@example.com complaint complaint recipient;*: k@example.com soft system_error network;"
	  "*: l@example.com hard user_unknown recipient; ignored=0" },
	{ WEBHOOK_SENDGRID, NULL, "{\"email\":\"x@example.com\"}",
	  "error: a SendGrid body is a JSON array of events" },
	/* Postmark, its documented bounce sample. */
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"Bounce\",\"MessageStream\":\"outbound\",\"ID\":"
	  "4323372036854775807,\"Type\":\"HardBounce\",\"TypeCode\":1,\"Name\":\"Hard bounce\",\"Tag\":"
	  "\"Test\",\"MessageID\":\"883953f4-6105-42a2-a16a-77a8eac79483\",\"ServerID\":23,\"Description\":"
	  "\"The server was unable to deliver your message (ex: unknown user, mailbox not found).\","
	  "\"Details\":\"Test bounce details\",\"Email\":\"john@example.com\",\"From\":\"sender@example.com\","
	  "\"BouncedAt\":\"2019-11-05T16:33:54.9070259Z\",\"Inactive\":true,\"Subject\":\"Test subject\"}",
	  "postmark:4323372036854775807: john@example.com hard user_unknown recipient; ignored=0" },
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"Bounce\",\"ID\":2,\"Type\":\"AutoResponder\","
	  "\"TypeCode\":64,\"Email\":\"m@example.com\"}",
	  "postmark:2: m@example.com autoreply auto_reply ; ignored=0" },
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"Bounce\",\"ID\":3,\"Type\":\"Blocked\",\"TypeCode\":100006,"
	  "\"Email\":\"n@example.com\",\"Details\":\"550 5.1.1 no such user\"}",
	  "postmark:3: n@example.com soft blocked sender; ignored=0" },
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"Bounce\",\"ID\":4,\"Type\":\"SoftBounce\",\"TypeCode\":4096,"
	  "\"Email\":\"o@example.com\",\"Details\":\"452 4.2.2 mailbox full\"}",
	  "postmark:4: o@example.com soft mailbox_full recipient; ignored=0" },
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"SpamComplaint\",\"ID\":5,\"Type\":\"SpamComplaint\","
	  "\"TypeCode\":100001,\"Email\":\"p@example.com\"}",
	  "postmark:5: p@example.com complaint complaint recipient; ignored=0" },
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"Bounce\",\"ID\":6,\"Type\":\"DMARCPolicy\",\"TypeCode\":100009,"
	  "\"Email\":\"q@example.com\"}",
	  "postmark:6: q@example.com soft policy sender; ignored=0" },
	{ WEBHOOK_POSTMARK, NULL, "{\"RecordType\":\"Open\",\"Recipient\":\"r@example.com\"}", "ignored=1" },
	/* Mailgun: permanent with the remote reply, temporary, complained. */
	{ WEBHOOK_MAILGUN, NULL, "{\"signature\":{\"timestamp\":\"1529006854\",\"token\":\"tok1\","
	  "\"signature\":\"00\"},\"event-data\":{\"event\":\"failed\",\"id\":\"G9Bn5sl1TC6nu79C8C0bwg\","
	  "\"severity\":\"permanent\",\"reason\":\"bounce\",\"recipient\":\"alice@example.com\","
	  "\"message\":{\"headers\":{\"message-id\":\"20130503192659.13651.20287@example.com\"}},"
	  "\"delivery-status\":{\"code\":550,\"message\":\"5.1.1 The email account that you tried to "
	  "reach does not exist\",\"description\":\"\"}}}",
	  "mailgun:tok1: alice@example.com hard user_unknown recipient; ignored=0" },
	{ WEBHOOK_MAILGUN, NULL, "{\"signature\":{\"timestamp\":\"1\",\"token\":\"tok2\",\"signature\":\"00\"},"
	  "\"event-data\":{\"event\":\"failed\",\"severity\":\"permanent\",\"reason\":\"suppress-bounce\","
	  "\"recipient\":\"s@example.com\",\"delivery-status\":{\"code\":605,\"description\":"
	  "\"Not delivering to previously bounced address\",\"message\":\"\"}}}",
	  "mailgun:tok2: s@example.com hard user_unknown recipient; ignored=0" },
	{ WEBHOOK_MAILGUN, NULL, "{\"signature\":{\"timestamp\":\"1\",\"token\":\"tok3\",\"signature\":\"00\"},"
	  "\"event-data\":{\"event\":\"complained\",\"recipient\":\"t@example.com\"}}",
	  "mailgun:tok3: t@example.com complaint complaint recipient; ignored=0" },
	{ WEBHOOK_MAILGUN, NULL, "{\"signature\":{\"timestamp\":\"1\",\"token\":\"tok4\",\"signature\":\"00\"},"
	  "\"event-data\":{\"event\":\"opened\",\"recipient\":\"t@example.com\"}}", "ignored=1" },
	/* SparkPost, Brevo, Mailjet, Postal. */
	{ WEBHOOK_SPARKPOST, NULL, "[{\"msys\":{\"message_event\":{\"type\":\"bounce\",\"bounce_class\":\"10\","
	  "\"event_id\":\"92356927693813856\",\"raw_reason\":\"550: 5.1.1 The email account that you tried "
	  "to reach does not exist.\",\"rcpt_to\":\"u@example.com\"}}},{\"msys\":{\"message_event\":"
	  "{\"type\":\"bounce\",\"bounce_class\":\"51\",\"event_id\":\"7\",\"rcpt_to\":\"v@example.com\","
	  "\"raw_reason\":\"550 5.7.1 blocked by spamhaus\"}}},{\"msys\":{}}]",
	  "sparkpost:92356927693813856: u@example.com hard user_unknown recipient;sparkpost:7: "
	  "v@example.com soft blocked sender; ignored=1" },
	{ WEBHOOK_BREVO, NULL, "{\"event\":\"hard_bounce\",\"email\":\"w@example.com\",\"id\":1,\"date\":"
	  "\"2020-10-09 00:00:00\",\"ts\":1604933619,\"message-id\":\"<201798300811.5787683@relay.domain.com>\","
	  "\"ts_event\":1604933654,\"subject\":\"My first Transactional\",\"reason\":\"user unknown\"}",
	  "*: w@example.com hard user_unknown recipient; ignored=0" },
	{ WEBHOOK_BREVO, NULL, "{\"event\":\"blocked\",\"email\":\"x@example.com\",\"reason\":\"550 5.1.1 x\"}",
	  "*: x@example.com soft blocked sender; ignored=0" },
	{ WEBHOOK_MAILJET, NULL, "[{\"event\":\"bounce\",\"time\":1430812195,\"MessageID\":13792286917004336,"
	  "\"email\":\"bounce@example.com\",\"blocked\":true,\"hard_bounce\":true,\"error_related_to\":"
	  "\"recipient\",\"error\":\"user unknown\",\"comment\":\"Host or domain name not found. Name service "
	  "error for name=lbjsnrftlsiuvbsren.com type=A: Host not found\"}]",
	  "*: bounce@example.com hard host_unknown recipient; ignored=0" },
	{ WEBHOOK_MAILJET, NULL, "{\"event\":\"spam\",\"email\":\"y@example.com\",\"source\":\"JMRPP\"}",
	  "*: y@example.com complaint complaint recipient; ignored=0" },
	{ WEBHOOK_POSTAL, NULL, "{\"event\":\"MessageDeliveryFailed\",\"timestamp\":1477945177.12994,"
	  "\"payload\":{\"message\":{\"id\":12345,\"token\":\"abcdef123\",\"direction\":\"outgoing\","
	  "\"message_id\":\"5817a64332f44_4ec93ff59e79d154565eb@app34.mail\",\"to\":\"z@example.com\","
	  "\"from\":\"sales@awesomeapp.com\",\"subject\":\"Welcome\"},\"status\":\"HardFail\",\"details\":"
	  "\"Permanent SMTP delivery error when sending to z@example.com\",\"output\":\"550 5.1.1 No such "
	  "user\",\"sent_with_ssl\":false},\"uuid\":\"0d2e0a64-6b7c-4e0d-9fb0-9f1e0e2d5f1a\"}",
	  "postal:0d2e0a64-6b7c-4e0d-9fb0-9f1e0e2d5f1a: z@example.com hard user_unknown recipient; ignored=0" },
};

/* Where SNS signing certificates and subscription URLs may come from. */
static const struct {
	const char *url, *pattern;
	bool pem, want;
} urls[] = {
	{ "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
	  WEBHOOK_SNS_HOST_DEFAULT, true, true },
	{ "https://SNS.EU-WEST-1.amazonaws.com/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, true },
	{ "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37",
	  WEBHOOK_SNS_HOST_DEFAULT, false, true },
	/* The test's HTTPS server: only with its pattern. */
	{ "https://localhost:8443/SimpleNotificationService-test.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://localhost:8443/SimpleNotificationService-test.pem", "localhost", true, true },
	{ "http://sns.us-east-1.amazonaws.com/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.us-east-1.amazonaws.com.evil.example/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://evil.example/sns.us-east-1.amazonaws.com/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.us-east-1.amazonaws.com@evil.example/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://user@sns.us-east-1.amazonaws.com/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.a.b.amazonaws.com/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns..amazonaws.com/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.txt", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem#frag", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.us-east-1.amazonaws.com:99999/x.pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ "https://sns.us-east-1.amazonaws.com/x .pem", WEBHOOK_SNS_HOST_DEFAULT, true, false },
	{ NULL, WEBHOOK_SNS_HOST_DEFAULT, true, false },
};

/* SNS envelopes and the string SNS signs for them. */
static const struct {
	const char *body;
	const char *want;	/* the string to sign, or "error: ..." */
} sns[] = {
	{ "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92\",\"TopicArn\":\"arn:t\","
	  "\"Subject\":\"s\",\"Message\":\"m\",\"Timestamp\":\"2012-05-02T00:54:06.655Z\","
	  "\"SignatureVersion\":\"1\",\"Signature\":\"x\",\"SigningCertURL\":\"u\"}",
	  "Message\nm\nMessageId\n22b80b92\nSubject\ns\nTimestamp\n2012-05-02T00:54:06.655Z\n"
	  "TopicArn\narn:t\nType\nNotification\n" },
	/* No Subject: left out, not signed empty. */
	{ "{\"Type\":\"Notification\",\"MessageId\":\"i\",\"TopicArn\":\"t\",\"Message\":\"m\","
	  "\"Timestamp\":\"ts\"}",
	  "Message\nm\nMessageId\ni\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n" },
	{ "{\"Type\":\"SubscriptionConfirmation\",\"MessageId\":\"i\",\"TopicArn\":\"t\","
	  "\"Message\":\"m\",\"Timestamp\":\"ts\",\"Token\":\"k\",\"SubscribeURL\":\"https://s\"}",
	  "Message\nm\nMessageId\ni\nSubscribeURL\nhttps://s\nTimestamp\nts\nToken\nk\nTopicArn\nt\n"
	  "Type\nSubscriptionConfirmation\n" },
	{ "{\"Type\":\"SubscriptionConfirmation\",\"MessageId\":\"i\",\"TopicArn\":\"t\","
	  "\"Message\":\"m\",\"Timestamp\":\"ts\"}",
	  "error: SNS SubscriptionConfirmation has no SubscribeURL" },
	{ "{\"Type\":\"Other\",\"MessageId\":\"i\",\"TopicArn\":\"t\",\"Message\":\"m\","
	  "\"Timestamp\":\"ts\"}",
	  "error: SNS Type 'Other' is not Notification, SubscriptionConfirmation or UnsubscribeConfirmation" },
	{ "{\"Type\":\"Notification\",\"MessageId\":5,\"TopicArn\":\"t\",\"Message\":\"m\","
	  "\"Timestamp\":\"ts\"}", "error: SNS field MessageId is not a string" },
	{ "{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"TopicArn\":\"u\"}",
	  "error: malformed JSON at line 1 column 48: duplicate object key near '\"TopicArn\"'" },
	{ "{\"Type\":\"Notification\"}", "error: not an SNS message: Type, MessageId, TopicArn, "
	  "Message or Timestamp missing" },
};

static int
test_sns(void)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
		if (webhook_sns_url_ok(urls[i].url, urls[i].pattern, urls[i].pem) != urls[i].want) {
			printf("FAIL url %zu: %s with %s: want %d\n", i, urls[i].url ? urls[i].url : "NULL",
			    urls[i].pattern, urls[i].want);
			failed++;
		}
	for (size_t i = 0; i < sizeof sns / sizeof sns[0]; i++) {
		struct webhook_sns m;
		char *err = NULL, *text = NULL;
		size_t len = 0;
		struct strbuf got = STRBUF_INIT;
		if (webhook_sns_parse(sns[i].body, strlen(sns[i].body), &m, &err) != 0)
			strbuf_printf(&got, "error: %s", err);
		else {
			if (webhook_sns_string_to_sign(&m, &text, &len, &err) != 0)
				strbuf_printf(&got, "error: %s", err);
			else
				strbuf_append(&got, text, len);
			webhook_sns_clear(&m);
		}
		if (strcmp(got.s, sns[i].want) != 0) {
			printf("FAIL sns %zu\n  want %s\n  got  %s\n", i, sns[i].want, got.s);
			failed++;
		}
		strbuf_free(&got);
		free(err);
		free(text);
	}
	return failed;
}

static void
summary(const struct webhook_batch *b, struct strbuf *out)
{
	for (size_t i = 0; i < b->n; i++) {
		strbuf_printf(out, "%s: ", b->ev[i].key);
		for (size_t k = 0; k < b->ev[i].rep->nrcpts; k++) {
			const struct bounce_recipient *r = &b->ev[i].rep->rcpts[k];
			strbuf_printf(out, "%s%s %s %s %s", k ? ", " : "", r->address,
			    bounce_class_name(r->class_), bounce_reason_name(r->reason),
			    bounce_blame_name(r->blame));
		}
		strbuf_puts(out, ";");
	}
	strbuf_printf(out, "%signored=%zu", b->n ? " " : "", b->ignored);
}

/* want may write "*" for a hashed key: the part up to ':' of each event is not compared. */
static bool
match(const char *want, const char *got)
{
	while (*want != '\0') {
		if (want[0] == '*' && want[1] == ':') {
			const char *c = strstr(got, ": ");
			if (c == NULL)
				return false;
			got = c + 2;
			want += 3;
			continue;
		}
		if (*want != *got)
			return false;
		want++;
		got++;
	}
	return *got == '\0';
}

int
main(void)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct webhook_batch b = { 0 };
		char *err = NULL;
		struct strbuf got = STRBUF_INIT;
		if (webhook_map(rows[i].p, rows[i].body, strlen(rows[i].body), rows[i].id, NULL, NULL,
		    &b, &err) != 0)
			strbuf_printf(&got, "error: %s", err);
		else
			summary(&b, &got);
		if (!match(rows[i].want, got.s)) {
			printf("FAIL row %zu (%s)\n  want %s\n  got  %s\n", i,
			    webhook_provider_name(rows[i].p), rows[i].want, got.s);
			failed++;
		}
		strbuf_free(&got);
		free(err);
		webhook_batch_free(&b);
	}
	failed += test_sns();
	printf("%zu rows, %zu urls, %zu sns, %d failed\n", sizeof rows / sizeof rows[0],
	    sizeof urls / sizeof urls[0], sizeof sns / sizeof sns[0], failed);
	return failed != 0;
}
