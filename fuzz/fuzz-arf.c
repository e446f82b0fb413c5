/* ARF and auto-reply detection on whatever the MIME walk makes of arbitrary bytes. */
#include <stdint.h>

#include "arf.h"
#include "autoreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message *m = mime_parse((const char *)data, size);
	struct bounce_report *r = bounce_report_new();
	arf_parse(m, r);
	bounce_report_free(r);
	r = bounce_report_new();
	autoreply_parse(m, r);
	mdn_parse(m, r);
	bounce_report_free(r);
	mime_message_free(m);
	return 0;
}
