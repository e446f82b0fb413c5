/* Byte-level helpers of the MIME layer (guard.c, mime.c, header.c): transfer decodings, charset
 * conversion to UTF-8, line endings, and Content-Type parameter parsing. Pure, length-counted.
 * Internal to the parsers library: other areas use mime.h and header.h. */
#ifndef BOUNCED_CODEC_H
#define BOUNCED_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Longest charset name looked up (IANA names are under 40 characters). */
#define CODEC_CHARSET_MAX 48

/* Appends the base64 decoding of p to out, skipping line breaks and spaces. Returns false when
 * the input was damaged (characters outside the alphabet, a dangling quantum): what could be
 * decoded is still appended. */
bool codec_base64(const char *p, size_t len, struct strbuf *out);
/* Appends the quoted-printable decoding of p (soft line breaks removed). With q_word, '_' is a
 * space (RFC 2047 "Q"). Returns false when an escape was invalid (kept literally). */
bool codec_qp(const char *p, size_t len, bool q_word, struct strbuf *out);

/* Appends p converted from charset to UTF-8. charset NULL, us-ascii and utf-8 copy p as is.
 * Returns false when the charset is unknown (p copied as is) or p is not valid in it (invalid
 * sequences become U+FFFD; for the utf-8 family the bytes are kept). */
bool codec_to_utf8(const char *charset, const char *p, size_t len, struct strbuf *out);
/* Starts a new message: resets the LIMIT_CHARSET_OPENS budget of this thread. */
void codec_new_message(void);
/* True when p is valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF);
 * NUL bytes are allowed. */
bool codec_utf8_valid(const char *p, size_t len);
/* Length (1-4) of the valid UTF-8 sequence at p[0, len), len > 0; 0 when it is invalid or
 * cut short, or p[0] is NUL. */
size_t codec_utf8_seq(const unsigned char *p, size_t len);
/* The code point of the n-byte sequence at p, n as codec_utf8_seq gave it (1-4). */
uint32_t codec_utf8_cp(const unsigned char *p, size_t n);
/* Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8 at out; returns its
 * length (1-4). */
size_t codec_utf8_put(uint32_t cp, char out[4]);
/* True for NULL, "" and the names of UTF-8 and its subsets (us-ascii): no conversion needed. */
bool codec_charset_is_utf8(const char *charset);

/* Appends p with CRLF and lone CR turned into LF. */
void codec_lf(const char *p, size_t len, struct strbuf *out);

/* Skips white space, line breaks and (nested) comments from p; returns the new position. */
const char *codec_cfws(const char *p, const char *end);
/* Lowercased "type/subtype" of a Content-Type value into out; false when unparsable. */
bool codec_ct_type(const char *v, size_t len, struct strbuf *out);
/* Value of parameter name (lowercase) in a Content-Type/Disposition value, unquoted, into out
 * (appended). Returns false when absent. */
bool codec_ct_param(const char *v, size_t len, const char *name, struct strbuf *out);

#endif
