/* The LMTP session (RFC 2033, with the ESMTP extensions Postfix's lmtp client uses) as a pure
 * state machine: it is fed bytes and produces reply bytes, with no sockets, clocks or storage.
 * The server (lmtp_server.c) moves bytes between it and a socket; a fuzz target feeds it bytes.
 *
 * Flow: lmtp_session_new() queues the 220 greeting. lmtp_session_feed() consumes input and
 * appends replies to the output buffer (lmtp_session_output()). After the final dot of DATA the
 * session calls cb->message() and stops consuming input (state LMTP_S_WAIT) until the owner
 * calls lmtp_session_answer() — from inside the callback or at any later time — with one reply
 * per accepted recipient; the owner then feeds the bytes that were not consumed. */
#ifndef BOUNCED_LMTP_H
#define BOUNCED_LMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "limits.h"

/* RFC 5321 4.5.3.1.4 says 512 octets; MAIL with SIZE, BODY and SMTPUTF8 parameters and a long
 * address stays well under this. */
#define LMTP_MAX_COMMAND_LINE	2048
/* Data is unstuffed line by line; a longer line is passed on in pieces of this size, so a peer
 * cannot make the session buffer more than this outside the message itself. */
#define LMTP_MAX_DATA_CHUNK	8192
/* Recipients per transaction: Postfix sends at most lmtp_destination_recipient_limit (50). */
#define LMTP_MAX_RCPTS		1000
/* Longest ESMTP parameter keyword of MAIL/RCPT kept (BODY, SIZE, SMTPUTF8, RET, ENVID...). */
#define LMTP_MAX_PARAM_KEY	32
/* Digits of a SIZE= value (RFC 1870: up to 20, a 64-bit count). */
#define LMTP_MAX_SIZE_DIGITS	20
/* Commands that fail before the session gives up with 421: a peer that is not speaking LMTP. */
#define LMTP_MAX_ERRORS		20
/* Bytes of one message kept; the rest is counted and dropped, and the message marked truncated. */
#define LMTP_MAX_MESSAGE	LIMIT_MESSAGE_BYTES

enum lmtp_state {
	LMTP_S_INIT = 0,	/* greeted, waiting for LHLO */
	LMTP_S_READY,		/* LHLO done, no transaction */
	LMTP_S_MAIL,		/* MAIL accepted, no recipient yet */
	LMTP_S_RCPT,		/* at least one recipient accepted */
	LMTP_S_DATA,		/* reading the message after 354 */
	LMTP_S_WAIT,		/* final dot seen, waiting for lmtp_session_answer() */
	LMTP_S_CLOSED,		/* QUIT, too many errors, timeout or shutdown: flush output and close */
};

/* A message received in full. Pointers are owned by the session and stay valid until
 * lmtp_session_answer() (or lmtp_session_free()). */
struct lmtp_envelope {
	const char *helo;		/* LHLO argument */
	const char *mail_from;		/* reverse path without <>, "" for the null sender */
	const char *const *rcpts;	/* accepted recipients without <>, in order */
	size_t nrcpts;
	bool body_8bitmime;		/* BODY=8BITMIME */
	bool smtputf8;			/* SMTPUTF8 */
	const char *data;		/* dot-unstuffed message, line ends as sent, no final dot */
	size_t len;			/* bytes in data (at most max_message) */
	size_t size;			/* bytes the peer sent, counting what was dropped */
	bool truncated;			/* size > len */
};

struct lmtp_session;

struct lmtp_params {
	const char *hostname;		/* in the greeting and LHLO reply */
	size_t max_message;		/* bytes kept per message; 0 = LMTP_MAX_MESSAGE */
	/* A message is complete. The owner must eventually call lmtp_session_answer() once. */
	void (*message)(void *ctx, struct lmtp_session *s, const struct lmtp_envelope *env);
	void *ctx;
};

/* Returns a new session (caller frees) with the 220 greeting queued. p is copied. */
struct lmtp_session *lmtp_session_new(const struct lmtp_params *p);
void lmtp_session_free(struct lmtp_session *s);	/* NULL-safe */

/* Consumes input; returns the number of bytes consumed, less than len only when the session
 * entered LMTP_S_WAIT or LMTP_S_CLOSED: the caller keeps the rest and feeds it after the answer
 * (or drops it when closed). Never fails: bad input gets a reply. */
size_t lmtp_session_feed(struct lmtp_session *s, const char *p, size_t len);

/* Answers the message of LMTP_S_WAIT: replies[i] is the reply line (no CRLF, e.g.
 * "250 2.0.0 Ok") for the i-th recipient of the envelope (a missing one is answered 451). Resets
 * the transaction. Returns -1 (and does nothing) when the session is not waiting: an owner that
 * answers each message once never sees it, and the server treats it as a broken invariant. */
int lmtp_session_answer(struct lmtp_session *s, const char *const *replies, size_t n);
/* The same reply for every recipient. */
int lmtp_session_answer_all(struct lmtp_session *s, const char *reply);

/* Queues "421 4.4.2 ... timeout" and closes. */
void lmtp_session_timeout(struct lmtp_session *s);
/* Server shutting down: between transactions queues 421 and closes (returns true); during DATA
 * or WAIT returns false, and the session closes with 421 after the answer. */
bool lmtp_session_shutdown(struct lmtp_session *s);

/* Output produced so far; the caller sends it and calls lmtp_session_output_consume(). */
const char *lmtp_session_output(const struct lmtp_session *s, size_t *len_r);
void lmtp_session_output_consume(struct lmtp_session *s, size_t n);

enum lmtp_state lmtp_session_state(const struct lmtp_session *s);
const char *lmtp_state_name(enum lmtp_state st);

/* Postfix's queue ID from the first Received header of msg ("... with ESMTP id 4XyZ12abc ..."),
 * copied to buf (NUL-terminated). Returns false when there is none or it does not fit. Pure. */
bool lmtp_queue_id(const char *msg, size_t len, char *buf, size_t bufsize);

#endif
