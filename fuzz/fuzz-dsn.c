/* The delivery-status field parser on arbitrary text, as a message/delivery-status body and as the
 * free text of a report whose MIME is broken (dsn_parse_text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Parts reach dsn_parse NUL-terminated (mime.h); keep that contract, and nothing more. */
	char *body = malloc(size + 1);
	if (body == NULL)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';
	struct bounce_report *r = bounce_report_new();
	dsn_parse(body, size, r);
	bounce_report_free(r);
	r = bounce_report_new();
	dsn_parse_text(body, size, r);
	bounce_report_free(r);
	free(body);
	return 0;
}
