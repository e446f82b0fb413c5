/* The VERP decoder, unsigned and signed, on arbitrary addresses; and verp.h's round-trip
 * contract: what verp_encode returns, verp_decode gives back, verified, with the same tag and the
 * same address (exactly for an address verp_decode made, the domain lowercased for raw input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
round_trip(const struct verp_config *c, const char *address, const char *tag, bool exact)
{
	char *e = verp_encode(c, "bounces@bounce.example.org", address, tag);
	if (e == NULL)
		return;		/* refused: allowed by the contract */
	struct verp_result back;
	memset(&back, 0, sizeof back);
	if (!verp_decode(c, e, &back) || !back.verified || !same(back.tag, tag) ||
	    (exact && !same(back.address, address)))
		abort();
	if (!exact)
		round_trip(c, back.address, tag, true);
	verp_result_clear(&back);
	free(e);
}

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
		if (verp_decode(&c, addr, &res)) {
			if (res.address == NULL)
				abort();
			round_trip(&c, res.address, keyed ? res.tag : NULL, true);
			verp_result_clear(&res);
		}
		/* The input as a recipient to encode. */
		round_trip(&c, addr, NULL, false);
	}
	free(addr);
	return 0;
}
