/* The guard and the MIME walk: libetpan must never see what crashes it or makes it slow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message *m = mime_parse((const char *)data, size);
	for (size_t i = 0; i < m->nparts; i++)
		if (m->parts[i].body == NULL || m->parts[i].content_type == NULL ||
		    strlen(m->parts[i].body) > m->parts[i].body_len)
			abort();
	mime_message_free(m);
	return 0;
}
