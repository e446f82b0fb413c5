/* The sparkpost webhook mapping (parsers/webhook): any body, after the listener verified it, maps to
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
	struct webhook_batch b = { 0 };
	if (webhook_map(WEBHOOK_SPARKPOST, (const char *)data, size, "fuzz-id", NULL, NULL, &b, &err) != 0) {
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
