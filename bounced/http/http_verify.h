/* What the webhook providers' authenticity checks are made of, on GnuTLS: public keys (PEM, or
 * the base64 DER a provider's page shows), X.509 signing certificates (SNS), RSA and ECDSA
 * signatures, HMAC-SHA256, and comparisons of secrets in constant time. No I/O. */
#ifndef BOUNCED_HTTP_VERIFY_H
#define BOUNCED_HTTP_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>

/* A signature or key in base64 longer than this is not one (an RSA-4096 key is 800 bytes). */
#define VERIFY_B64_MAX		8192

/* Decodes standard base64 (blanks and line breaks allowed). Returns 0 with *out_r (caller frees)
 * or -1. */
int verify_b64_decode(const char *b64, size_t len, unsigned char **out_r, size_t *len_r);

/* A public key from text: a PEM "PUBLIC KEY" (or "RSA PUBLIC KEY") block, or the base64 of its
 * DER (SubjectPublicKeyInfo), as SendGrid's and Postal's pages show it. 0 with *key_r (caller
 * frees with gnutls_pubkey_deinit), or -1 with *error_r. */
int verify_pubkey_load(const char *text, size_t len, gnutls_pubkey_t *key_r, char **error_r);
/* The public key of a PEM X.509 certificate that is valid at now (unix seconds). 0 with *key_r,
 * or -1 with *error_r. */
int verify_cert_pubkey(const char *pem, size_t len, long long now, gnutls_pubkey_t *key_r,
    char **error_r);

/* Does sig (raw bytes: PKCS#1 v1.5 for RSA, DER for ECDSA) sign data with key under algo? SHA-1
 * (SNS SignatureVersion 1) is allowed only when the algorithm says so. */
bool verify_signature(gnutls_pubkey_t key, gnutls_sign_algorithm_t algo, const void *data,
    size_t len, const unsigned char *sig, size_t siglen);

/* Is hex (any case) the HMAC-SHA256 of data under key? Compared in constant time. */
bool verify_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
    const char *hex);

/* Are a and b the same bytes? Constant time in their contents (and their lengths: both are
 * hashed first). For secrets: passwords, tokens. */
bool verify_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Reads a secret file (a key, a password, a token): its content without the trailing line
 * break. 0 with *data_r (caller frees; NUL-terminated) or -1 with *error_r naming the file. */
int verify_read_secret(const char *path, char **data_r, size_t *len_r, char **error_r);

#endif
