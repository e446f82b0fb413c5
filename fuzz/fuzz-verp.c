/* The VERP decoder, unsigned and signed, on arbitrary addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	char *addr = malloc(size + 1);
	if (addr == NULL)
		abort();
	memcpy(addr, data, size);
	addr[size] = '\0';
	struct verp_config c;
	verp_config_default(&c);
	struct verp_result res;
	for (int keyed = 0; keyed < 2; keyed++) {
		if (keyed) {
			c.key = key;
			c.key_len = sizeof key - 1;
			c.require_signature = true;
		}
		memset(&res, 0, sizeof res);
		if (verp_decode(&c, addr, &res))
			verp_result_clear(&res);
	}
	free(addr);
	return 0;
}
