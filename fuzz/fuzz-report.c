/* report_unpack reads what a parse worker process sends back: treat it as hostile too. What it
 * accepts must survive a round trip: packed again, it unpacks, and packs to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounce_report *r = report_unpack((const char *)data, size);
	if (r == NULL)
		return 0;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	report_pack(r, &a);
	struct bounce_report *u = report_unpack(a.s, a.len);
	if (u == NULL)
		abort();
	report_pack(u, &b);
	if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
		abort();
	bounce_report_free(u);
	strbuf_free(&a);
	strbuf_free(&b);
	bounce_report_free(r);
	return 0;
}
