/* VERP: the recipient encoded in the envelope sender of outgoing mail, optionally signed with a
 * truncated HMAC-SHA256 so forged bounces cannot suppress anyone. Pure (GnuTLS for the HMAC). */
#ifndef BOUNCED_VERP_H
#define BOUNCED_VERP_H

#include <stdbool.h>
#include <stddef.h>

/* The format is specified in doc/verp.md. */

/* Bytes of HMAC-SHA256 kept: 80 bits, far beyond what a forger can guess blind (no oracle). */
#define VERP_MAC_BYTES		10
/* The MAC in base32 (RFC 4648, lowercase, no padding): 80 bits = 16 characters exactly. */
#define VERP_MAC_CHARS		16
/* Longest tag: a campaign or message ID, kept short so the address stays under the limits. */
#define VERP_TAG_MAX		64
/* Shortest key accepted: below 128 bits a key could be guessed. */
#define VERP_KEY_MIN		16
/* Longest prefix accepted (RFC 5321 local parts are 64 octets). */
#define VERP_PREFIX_MAX		64

struct verp_config {
	const char *prefix;		/* local-part prefix, default "bounces" */
	char separator;			/* between prefix and encoded recipient, default '+' */
	char at_char;			/* stands for '@' in the encoded recipient, default '=' */
	const unsigned char *key;	/* HMAC key, NULL for unsigned VERP */
	size_t key_len;
	bool require_signature;		/* unsigned or invalid → unverified, acts on nothing */
};

/* Default unsigned configuration. */
void verp_config_default(struct verp_config *c);
/* Returns false (and *error_r, a static string) when the prefix, separator or at-char cannot
 * work: the at-char must be an atext character that no domain or tag contains ('=' by default),
 * the separator an atext character that is not a letter or digit. verp_decode and verp_encode
 * refuse an invalid configuration. */
bool verp_config_check(const struct verp_config *c, const char **error_r);

struct verp_result {
	char *address;	/* decoded recipient, domain lowercased */
	char *tag;	/* optional tag, or NULL */
	bool signed_;	/* a signature was present */
	bool verified;	/* signature valid, or unsigned and signatures not required */
};

/* Decodes a return-path address (optionally in <>; a quoted local part and SRS0/SRS1 wrapping
 * are undone). Returns false when it is not a VERP address of this configuration. On true,
 * *res is filled (caller frees with verp_result_clear): address is the recipient with its local
 * part as found (quoted when it is not a dot-atom) and its domain lowercased; tag is lowercased.
 * A signed address whose MAC does not verify (or any signed address without a key) is
 * returned with verified false. */
bool verp_decode(const struct verp_config *c, const char *addr, struct verp_result *res);
void verp_result_clear(struct verp_result *res);

/* Encodes recipient (and optional tag) into return_path's local part: return_path is
 * PREFIX@HOST, its local part taking the place of c->prefix. Signed when c->key is set; a tag
 * needs a key and is 1..VERP_TAG_MAX of [A-Za-z0-9._-] (no ".."). Returns NULL when the input
 * cannot be encoded so that verp_decode gives it back (caller frees the result). */
char *verp_encode(const struct verp_config *c, const char *return_path, const char *recipient,
    const char *tag);

#endif
