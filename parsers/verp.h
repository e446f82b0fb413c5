/* VERP: the recipient encoded in the envelope sender of outgoing mail, optionally signed with a
 * truncated HMAC-SHA256 so forged bounces cannot suppress anyone. Pure (GnuTLS for the HMAC). */
#ifndef BOUNCED_VERP_H
#define BOUNCED_VERP_H

#include <stdbool.h>
#include <stddef.h>

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

struct verp_result {
	char *address;	/* decoded recipient, domain lowercased */
	char *tag;	/* optional tag, or NULL */
	bool signed_;	/* a signature was present */
	bool verified;	/* signature valid, or unsigned and signatures not required */
};

/* Decodes a return-path address. Returns false when it is not a VERP address of this
 * configuration. On true, *res is filled (caller frees with verp_result_clear). */
bool verp_decode(const struct verp_config *c, const char *addr, struct verp_result *res);
void verp_result_clear(struct verp_result *res);

/* Encodes recipient (and optional tag) into return_path's local part. Returns NULL when the
 * input cannot be encoded (caller frees the result). */
char *verp_encode(const struct verp_config *c, const char *return_path, const char *recipient,
    const char *tag);

#endif
