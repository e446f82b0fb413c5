/* The rule engine on arbitrary text, as the human-readable part of a bounce from a mail system. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "rules.h"
#include "smtpcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top_headers[] = "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
    "Subject: Undelivered Mail Returned to Sender\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);
	if (body == NULL)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';
	struct mime_part part = {
		.content_type = (char *)"text/plain", .charset = (char *)"utf-8",
		.depth = 0, .index = 0, .parent = -1,
		.headers = (char *)"", .headers_len = 0, .body = body, .body_len = size,
	};
	struct mime_message m = {
		.headers = top_headers, .headers_len = sizeof top_headers - 1,
		.parts = &part, .nparts = 1,
	};
	const struct rules *rules = rules_builtin();
	static struct rules_scratch *sc;	/* one for the process, as the daemon keeps it */
	if (sc == NULL)
		sc = rules_scratch_new();
	struct bounce_report *r = bounce_report_new();
	rules_extract(rules, sc, &m, r);
	for (size_t i = 0; i < r->nrcpts; i++)
		classify_recipient(&r->rcpts[i], body, size, rules, sc);
	enum bounce_reason reason;
	const char *rule;
	bool limit;
	rules_reason(rules, sc, body, size, &reason, &rule, &limit);
	char status[16] = "", code[4] = "";
	smtpcode_fill(body, size, status, code);
	bounce_report_free(r);
	free(body);
	return 0;
}
