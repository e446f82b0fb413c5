/* Signatures, keys and secrets for the webhook checks (see http_verify.h). */
#include "http_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

/* A secret file larger than this is not a key, a password or a token. */
#define VERIFY_SECRET_MAX	16384

int
verify_b64_decode(const char *b64, size_t len, unsigned char **out_r, size_t *len_r)
{
	if (len > VERIFY_B64_MAX)
		return -1;
	/* gnutls reads no blanks: take them out. */
	char *clean = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (b64[i] != ' ' && b64[i] != '\t' && b64[i] != '\r' && b64[i] != '\n')
			clean[n++] = b64[i];
	clean[n] = '\0';
	gnutls_datum_t in = { (unsigned char *)clean, (unsigned int)n }, out = { NULL, 0 };
	int rc = n > 0 ? gnutls_base64_decode2(&in, &out) : -1;
	free(clean);
	if (rc < 0)
		return -1;
	*out_r = xmalloc(out.size + 1);
	memcpy(*out_r, out.data, out.size);
	*len_r = out.size;
	gnutls_free(out.data);
	return 0;
}

int
verify_pubkey_load(const char *text, size_t len, gnutls_pubkey_t *key_r, char **error_r)
{
	gnutls_pubkey_t key;
	if (gnutls_pubkey_init(&key) < 0) {
		error_set(error_r, "cannot allocate a key");
		return -1;
	}
	int rc;
	if (memmem(text, len, "-----BEGIN", 10) != NULL) {
		gnutls_datum_t d = { (unsigned char *)text, (unsigned int)len };
		rc = gnutls_pubkey_import(key, &d, GNUTLS_X509_FMT_PEM);
	} else {
		unsigned char *der;
		size_t dlen;
		if (verify_b64_decode(text, len, &der, &dlen) != 0) {
			gnutls_pubkey_deinit(key);
			error_set(error_r, "neither a PEM public key nor base64");
			return -1;
		}
		gnutls_datum_t d = { der, (unsigned int)dlen };
		rc = gnutls_pubkey_import(key, &d, GNUTLS_X509_FMT_DER);
		free(der);
	}
	if (rc < 0) {
		gnutls_pubkey_deinit(key);
		error_set(error_r, "not a public key: %s", gnutls_strerror(rc));
		return -1;
	}
	*key_r = key;
	return 0;
}

int
verify_cert_pubkey(const char *pem, size_t len, long long now, gnutls_pubkey_t *key_r,
    char **error_r)
{
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0) {
		error_set(error_r, "cannot allocate a certificate");
		return -1;
	}
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned int)len };
	int rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		gnutls_x509_crt_deinit(crt);
		error_set(error_r, "not a PEM certificate: %s", gnutls_strerror(rc));
		return -1;
	}
	long long from = (long long)gnutls_x509_crt_get_activation_time(crt);
	long long until = (long long)gnutls_x509_crt_get_expiration_time(crt);
	if (now < from || now > until) {
		gnutls_x509_crt_deinit(crt);
		error_set(error_r, "the signing certificate is not valid now");
		return -1;
	}
	gnutls_pubkey_t key;
	if (gnutls_pubkey_init(&key) < 0 || (rc = gnutls_pubkey_import_x509(key, crt, 0)) < 0) {
		gnutls_x509_crt_deinit(crt);
		error_set(error_r, "no public key in the certificate");
		return -1;
	}
	gnutls_x509_crt_deinit(crt);
	*key_r = key;
	return 0;
}

bool
verify_signature(gnutls_pubkey_t key, gnutls_sign_algorithm_t algo, const void *data,
    size_t len, const unsigned char *sig, size_t siglen)
{
	gnutls_datum_t d = { (unsigned char *)data, (unsigned int)len };
	gnutls_datum_t s = { (unsigned char *)sig, (unsigned int)siglen };
	unsigned int flags = algo == GNUTLS_SIGN_RSA_SHA1 ? GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 : 0;
	return len <= 0xffffffffu && gnutls_pubkey_verify_data2(key, algo, flags, &d, &s) >= 0;
}

bool
verify_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char ha[32], hb[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, a, alen, ha) != 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, b, blen, hb) != 0)
		return false;
	return gnutls_memcmp(ha, hb, sizeof ha) == 0 && alen == blen;
}

bool
verify_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
    const char *hex)
{
	unsigned char mac[32];
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, keylen, data, len, mac) != 0)
		return false;
	char want[65];
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof mac; i++) {
		want[2 * i] = digits[mac[i] >> 4];
		want[2 * i + 1] = digits[mac[i] & 0xf];
	}
	want[64] = '\0';
	char got[65];
	size_t n = strlen(hex);
	if (n != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		got[i] = hex[i] >= 'A' && hex[i] <= 'F' ? (char)(hex[i] + 32) : hex[i];
	got[64] = '\0';
	return gnutls_memcmp(want, got, 64) == 0;
}

int
verify_read_secret(const char *path, char **data_r, size_t *len_r, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_set(error_r, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct strbuf b = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		strbuf_append(&b, buf, (size_t)n);
		if (b.len > VERIFY_SECRET_MAX)
			break;
	}
	int e = errno;
	close(fd);
	if (n < 0 || b.len > VERIFY_SECRET_MAX || b.len == 0 || memchr(b.s, '\0', b.len) != NULL) {
		error_set(error_r, "%s: %s", path, n < 0 ? strerror(e) : b.len == 0 ? "empty" :
		    b.len > VERIFY_SECRET_MAX ? "larger than a secret" : "holds a NUL byte");
		strbuf_free(&b);
		return -1;
	}
	while (b.len > 0 && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == '\r'))
		b.s[--b.len] = '\0';
	*len_r = b.len;
	*data_r = strbuf_detach(&b);
	return 0;
}
