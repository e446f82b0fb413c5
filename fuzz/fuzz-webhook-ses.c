/* The ses webhook mapping (parsers/webhook): any body, after the listener verified it, maps to
 * events or is refused; every event has a key and a report that prints as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	/* The SNS envelope the listener reads before the notification. */
	struct webhook_sns m;
	if (webhook_sns_parse((const char *)data, size, &m, &err) == 0) {
		char *s = NULL;
		size_t n;
		if (webhook_sns_string_to_sign(&m, &s, &n, &err) == 0 && strlen(s) != n)
			abort();
		free(s);
		webhook_sns_url_ok(m.signing_cert_url, WEBHOOK_SNS_HOST_DEFAULT, true);
		webhook_sns_url_ok(m.subscribe_url, WEBHOOK_SNS_HOST_DEFAULT, false);
		webhook_sns_clear(&m);
	}
	free(err);
	err = NULL;
	struct webhook_batch b = { 0 };
	if (webhook_map(WEBHOOK_SES, (const char *)data, size, "fuzz-id", NULL, NULL, &b, &err) != 0) {
		if (err == NULL || b.n != 0)
			abort();
		free(err);
		return 0;
	}
	for (size_t i = 0; i < b.n; i++) {
		if (b.ev[i].key == NULL || strlen(b.ev[i].key) > WEBHOOK_KEY_MAX + 16 ||
		    b.ev[i].rep->nrcpts > WEBHOOK_RCPTS_MAX)
			abort();
		struct strbuf out = STRBUF_INIT;
		report_to_json(b.ev[i].rep, NULL, true, &out);
		strbuf_free(&out);
	}
	webhook_batch_free(&b);
	return 0;
}
