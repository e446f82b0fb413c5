/* The LMTP session fed arbitrary bytes without sockets. The first byte of the input (fed too, as
 * the first byte of the session) drives the harness: bits 0-5 the size of the pieces the rest is fed in (so pipelining splits are explored),
 * bit 6 whether messages are answered later, outside the callback, as the server does with its
 * parse workers, bit 7 whether the server shuts down half-way. Every envelope is checked against
 * lmtp.h, answered one reply per recipient, and its data goes through lmtp_queue_id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes kept per message in the harness: small, so truncation is reached. */
#define FUZZ_LMTP_MAX_MESSAGE	4096

struct harness {
	bool deferred;		/* answer after lmtp_session_feed returns, not in the callback */
	bool pending;		/* a message waits for its answer */
	size_t nrcpts;		/* recipients of the pending message */
};

static const char *const replies[] = {
	"250 2.0.0 Ok", "451 4.3.0 Try again later", "550 5.1.1 No such user",
};

static void
answer(struct lmtp_session *s, size_t nrcpts)
{
	const char **r = malloc((nrcpts ? nrcpts : 1) * sizeof *r);
	if (r == NULL)
		abort();
	for (size_t i = 0; i < nrcpts; i++)
		r[i] = replies[i % (sizeof replies / sizeof replies[0])];
	if (lmtp_session_answer(s, r, nrcpts) < 0)
		abort();	/* the session was waiting: the answer must be taken */
	free(r);
}

static void
on_message(void *ctx, struct lmtp_session *s, const struct lmtp_envelope *env)
{
	struct harness *h = ctx;
	if (env->nrcpts == 0 || env->nrcpts > LMTP_MAX_RCPTS || env->len > FUZZ_LMTP_MAX_MESSAGE ||
	    env->len > env->size || env->truncated != (env->size > env->len) ||
	    env->mail_from == NULL || env->helo == NULL || (env->len > 0 && env->data == NULL))
		abort();
	for (size_t i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i] == NULL)
			abort();
	char qid[32];
	(void)lmtp_queue_id(env->data, env->len, qid, sizeof qid);
	if (lmtp_session_state(s) != LMTP_S_WAIT)
		abort();
	if (h->deferred) {
		h->pending = true;
		h->nrcpts = env->nrcpts;
		return;
	}
	answer(s, env->nrcpts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl = size > 0 ? data[0] : 0;
	struct harness h = { .deferred = (ctl & 0x40) != 0 };
	struct lmtp_params p = { .hostname = "fuzz.example", .max_message = FUZZ_LMTP_MAX_MESSAGE,
		.message = on_message, .ctx = &h };
	struct lmtp_session *s = lmtp_session_new(&p);
	size_t off = 0, step = (size_t)(ctl & 0x3f) + 1;
	size_t shutdown_at = (ctl & 0x80) ? size / 2 : SIZE_MAX;
	while (off < size && lmtp_session_state(s) != LMTP_S_CLOSED) {
		if (off >= shutdown_at) {
			(void)lmtp_session_shutdown(s);
			shutdown_at = SIZE_MAX;
			continue;
		}
		size_t n = size - off < step ? size - off : step;
		size_t used = lmtp_session_feed(s, (const char *)data + off, n);
		size_t olen;
		lmtp_session_output(s, &olen);
		lmtp_session_output_consume(s, olen);
		if (h.pending) {
			h.pending = false;
			answer(s, h.nrcpts);
		} else if (used == 0 && lmtp_session_state(s) != LMTP_S_CLOSED) {
			abort();	/* answered: the session must make progress */
		}
		off += used;
	}
	if (lmtp_session_state(s) != LMTP_S_CLOSED)
		lmtp_session_timeout(s);
	if (lmtp_session_state(s) != LMTP_S_CLOSED)
		abort();
	lmtp_session_free(s);
	return 0;
}
