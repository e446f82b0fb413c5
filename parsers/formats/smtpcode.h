/* SMTP reply codes (RFC 5321: "550") and enhanced status codes (RFC 3463: "5.7.1") in the free
 * text of a diagnostic: the one reader every parser uses. Pure, length-counted. */
#ifndef BOUNCED_SMTPCODE_H
#define BOUNCED_SMTPCODE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest enhanced code kept ("5.123.123" and its NUL fit). */
#define SMTPCODE_STATUS_SIZE	16

/* Length (3) of a reply code [245][0-5][0-9] standing alone at s[i], or 0. Alone: not after a
 * letter, digit, '.', '-', '_', '@', '/' or '=', and followed by the end, white space, '-' (a
 * multi-line reply), or one of , ; : ) ] and a '.' that ends a sentence. After '#' it counts
 * only when its enhanced code follows (Exchange "#550 5.1.1"; "#555" in a style sheet is a
 * colour). Not a reply code: "X-Unix; 67", "550@example.com", "12550", "10.0.550.1". */
size_t smtpcode_reply_at(const char *s, size_t len, size_t i);

/* Length of an enhanced code "C.S.D" standing alone at s[i] (class 2, 4 or 5, subject one digit
 * 0-7, detail one to three digits), or 0. Alone: not after a letter, digit, '.', '_' or '-'
 * (except the '-' of a multi-line reply, "550-5.7.1"), and not followed by a letter, a digit or
 * ".digit" (an IP address, a version number). "#5.1.1" and "(#5.7.17)" (qmail) count. */
size_t smtpcode_status_at(const char *s, size_t len, size_t i);

/* The enhanced code that belongs to the reply code at s[i]: the one right after it, past a
 * space or the '-' of a multi-line reply and an optional quote or '#' ("550 5.7.1",
 * "550-5.7.1", "550-'5.2.2", "554 #5.7.1"), of the same class. Returns its length and sets
 * *at_r, or 0. */
size_t smtpcode_paired(const char *s, size_t len, size_t i, size_t *at_r);

/* What a diagnostic says, as smtpcode_scan finds it; "" where nothing was found. */
struct smtpcode {
	char reply[4];				/* "550" */
	char status[SMTPCODE_STATUS_SIZE];	/* "5.7.1" */
	bool paired;		/* status is the reply's own ("550 5.7.1", "550-5.7.1") */
	size_t at;		/* paired: where the reply code starts in the text */
};

/* Reads text: the first reply code followed by its enhanced code gives both (the remote
 * server's own answer); otherwise the first reply code and the first enhanced code, each
 * wherever it stands. Always fills *out. */
void smtpcode_scan(const char *text, size_t len, struct smtpcode *out);

/* Where a remote server's reply that a report quotes starts in text: a reply code with its
 * own enhanced code ("550-'5.7.1 ... Access denied'") after an enhanced code the report put
 * before it ("5.1.0 - Unknown address error 550-'5.7.1 ..."). The report's words around its
 * own code are a wrapper; the reply says what happened. Returns false when text quotes no
 * such reply. */
bool smtpcode_quoted_reply(const char *text, size_t len, size_t *at_r);

/* smtpcode_scan, copied into status (SMTPCODE_STATUS_SIZE) and reply (4) where they are
 * still empty: a code a report gave elsewhere is kept. */
void smtpcode_fill(const char *text, size_t len, char status[SMTPCODE_STATUS_SIZE], char reply[4]);

#endif
