/* The LMTP session fed arbitrary bytes without sockets, answering every message. The input is
 * fed in pieces whose sizes come from the input itself, so pipelining splits are explored. */
#include <stdint.h>
#include <stdlib.h>

#include "lmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_message(void *ctx, struct lmtp_session *s, const struct lmtp_envelope *env)
{
	(void)ctx;
	(void)env;
	lmtp_session_answer_all(s, "250 2.0.0 Ok");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lmtp_params p = { .hostname = "fuzz.example", .max_message = 65536,
		.message = on_message, .ctx = NULL };
	struct lmtp_session *s = lmtp_session_new(&p);
	size_t off = 0, step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	while (off < size && lmtp_session_state(s) != LMTP_S_CLOSED) {
		size_t n = size - off < step ? size - off : step;
		size_t used = lmtp_session_feed(s, (const char *)data + off, n);
		size_t olen;
		lmtp_session_output(s, &olen);
		lmtp_session_output_consume(s, olen);
		if (used == 0 && lmtp_session_state(s) != LMTP_S_CLOSED)
			abort();	/* answered synchronously: the session must make progress */
		off += used;
	}
	lmtp_session_free(s);
	return 0;
}
