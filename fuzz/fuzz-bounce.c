/* The whole pipeline on arbitrary bytes: MIME guard and walk, ARF, DSN, auto-reply, rules,
 * classification, VERP, and the JSON of the result (which must stay valid UTF-8). */
#include <stdint.h>
#include <stdlib.h>

#include "bounce.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounce_report *r = bounce_parse((const char *)data, size, NULL);
	struct strbuf out = STRBUF_INIT;
	report_to_json(r, "fuzz", true, &out);
	if (!utf8_valid(out.s, out.len))
		abort();
	strbuf_reset(&out);
	report_pack(r, &out);
	struct bounce_report *u = report_unpack(out.s, out.len);
	if (u == NULL)
		abort();
	bounce_report_free(u);
	strbuf_free(&out);
	bounce_report_free(r);
	return 0;
}
