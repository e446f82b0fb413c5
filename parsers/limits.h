/* Every limit bounced applies to untrusted input, in one place.
 * Going over a limit marks the result (BOUNCE_F_* flags); it never drops a message. */
#ifndef BOUNCED_LIMITS_H
#define BOUNCED_LIMITS_H

/* Bytes of one message that the parsers look at; the rest is kept in the store but not parsed.
 * Real bounces are a few KiB; 4 MiB covers a returned original with attachments. */
#define LIMIT_PARSE_BYTES        (4u * 1024 * 1024)
/* Largest message the daemon accepts and stores at all (LMTP SIZE, IMAP fetch). */
#define LIMIT_MESSAGE_BYTES      (64u * 1024 * 1024)
/* A header block larger than this is cut at this size before libetpan sees it. */
#define LIMIT_HEADER_BYTES       (256u * 1024)
/* Longer lines are cut; RFC 5322 says 998, bounces from broken MTAs go far beyond. */
#define LIMIT_LINE_BYTES         (64u * 1024)
/* libetpan's MIME parser is quadratic in nesting depth; real reports nest 3 or 4 deep. */
#define LIMIT_MIME_DEPTH         16
/* MIME parts walked in one message. */
#define LIMIT_MIME_PARTS         256
/* Longest boundary parameter (RFC 2046 says 70). */
#define LIMIT_BOUNDARY_BYTES     200
/* Recipients reported for one message (a DSN can list many). */
#define LIMIT_RECIPIENTS         1000
/* Bytes of decoded text per part handed to the rules (the human-readable part of a bounce). */
#define LIMIT_TEXT_BYTES         (256u * 1024)
/* Longest single header field value kept after unfolding. */
#define LIMIT_FIELD_BYTES        (16u * 1024)
/* Longest diagnostic text kept per recipient. */
#define LIMIT_DIAGNOSTIC_BYTES   2048
/* Longest address accepted (RFC 5321: 64 + 1 + 255, with room for quoting). */
#define LIMIT_ADDRESS_BYTES      512
/* PCRE2 match limit per match call: a limit hit counts as "no match" and is logged. */
#define LIMIT_REGEX_MATCH        200000
/* PCRE2 depth limit per match call. */
#define LIMIT_REGEX_DEPTH        5000
/* iconv_open calls while reading one message: real mail uses a handful of charsets; encoded
 * words cycling through more than the converter cache holds would otherwise cost an open and a
 * close each (seconds of CPU per message). Past it, text is kept unconverted. */
#define LIMIT_CHARSET_OPENS      64
/* Messages in one mbox file, to bound memory of the reader. */
#define LIMIT_MBOX_MESSAGE_BYTES LIMIT_MESSAGE_BYTES

#endif
