/* report_unpack reads what a parse worker process sends back: treat it as hostile too. */
#include <stdint.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bounce_report_free(report_unpack((const char *)data, size));
	return 0;
}
