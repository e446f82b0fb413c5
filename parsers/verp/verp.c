/* VERP return paths, signed or not. The format is doc/verp.md; in short, the return path's
 * local part is
 *
 *	PREFIX SEP LOCAL AT DOMAIN				(unsigned)
 *	PREFIX SEP "s1" AT MAC AT TAG AT LOCAL AT DOMAIN	(signed; TAG may be empty)
 *
 * with SEP '+' and AT '=' by default. The LAST at-char separates LOCAL from DOMAIN, since no
 * domain contains one; LOCAL may contain anything else ('+', '=', '-', spaces when quoted).
 * MAC = base32(HMAC-SHA256(key, "s1:" TAG ":" LOCAL "@" DOMAIN)[0..10]) over the ASCII-lowercased
 * strings, so an MTA that case-folds the return path does not break the signature. */
#include "verp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "json.h"
#include "limits.h"
#include "strbuf.h"

/* Marker of a signed address, version 1; also the first field of the MAC input. */
#define VERP_SIGNED_MARK	"s1"
#define VERP_SIGNED_MARK_LEN	2
/* SRS wrapping (libsrs2, Postfix postsrsd) nests once: SRS1 carries an SRS0 body. */
#define VERP_SRS_DEPTH		1

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

void
verp_config_default(struct verp_config *c)
{
	c->prefix = "bounces";
	c->separator = '+';
	c->at_char = '=';
	c->key = NULL;
	c->key_len = 0;
	c->require_signature = false;
}

static char
lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext, plus UTF-8 octets (RFC 6531). */
static bool
is_atext(unsigned char c)
{
	return is_alnum(c) || c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_tag_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

bool
verp_config_check(const struct verp_config *c, const char **error_r)
{
	unsigned char at = (unsigned char)c->at_char, sep = (unsigned char)c->separator;
	if (at >= 0x80 || !is_atext(at) || is_tag_char(at)) {
		*error_r = "the VERP at-char must be one of !#$%&'*+/=?^`{|}~";
		return false;
	}
	if (sep >= 0x80 || !is_atext(sep) || is_alnum(sep)) {
		*error_r = "the VERP separator must be one of !#$%&'*+-/=?^_`{|}~";
		return false;
	}
	const char *p = c->prefix != NULL ? c->prefix : "";
	size_t n = strlen(p);
	if (n == 0 || n > VERP_PREFIX_MAX) {
		*error_r = "the VERP prefix must be 1 to 64 characters";
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_atext((unsigned char)p[i]) && p[i] != '.') {
			*error_r = "the VERP prefix may only contain letters, digits and !#$%&'*+-/=?^_`{|}~.";
			return false;
		}
	if (c->key != NULL && c->key_len < VERP_KEY_MIN) {
		*error_r = "the VERP key is shorter than 16 bytes";
		return false;
	}
	return true;
}

/* A local part (unquoted form) that can be carried: valid UTF-8, no control characters. */
static bool
local_ok(const char *p, size_t n)
{
	if (n == 0 || !utf8_valid(p, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

/* A domain: labels of letters, digits, '-', '_' or UTF-8 (IDN), separated by single dots. */
static bool
domain_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '.' || p[n - 1] == '.' || !utf8_valid(p, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.' && i + 1 < n && p[i + 1] == '.')
			return false;
		if (!is_alnum(c) && c < 0x80 && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

static bool
dot_atom(const char *p, size_t n)
{
	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (i + 1 < n && p[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)p[i]))
			return false;
	}
	return true;
}

/* Appends a local part in its RFC 5321 form: as is when a dot-atom, else quoted. */
static void
put_local(struct strbuf *out, const char *p, size_t n)
{
	if (dot_atom(p, n)) {
		strbuf_append(out, p, n);
		return;
	}
	strbuf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			strbuf_putc(out, '\\');
		strbuf_putc(out, p[i]);
	}
	strbuf_putc(out, '"');
}

/* When p is one quoted string, replaces it with its content; false when the quoting is broken.
 * Anything not starting with '"' is copied as is. */
static bool
unquote(const char *p, size_t n, struct strbuf *out)
{
	strbuf_reset(out);
	if (n == 0 || p[0] != '"') {
		strbuf_append(out, p, n);
		return true;
	}
	for (size_t i = 1; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			strbuf_putc(out, p[++i]);
		} else if (p[i] == '"') {
			return i == n - 1;
		} else
			strbuf_putc(out, p[i]);
	}
	return false;
}

/* Splits an address at its last '@' (a quoted local part may hold '@'; a domain never does),
 * after dropping blanks and one pair of angle brackets. */
static bool
split_address(const char *addr, size_t n, const char **local, size_t *llen, const char **dom,
    size_t *dlen)
{
	while (n > 0 && (addr[0] == ' ' || addr[0] == '\t')) {
		addr++;
		n--;
	}
	while (n > 0 && (addr[n - 1] == ' ' || addr[n - 1] == '\t'))
		n--;
	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
		addr++;
		n -= 2;
	}
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (addr[i] == '@')
			at = addr + i;
	if (at == NULL || at == addr || at == addr + n - 1)
		return false;
	*local = addr;
	*llen = (size_t)(at - addr);
	*dom = at + 1;
	*dlen = n - *llen - 1;
	return true;
}

static bool
ci_prefix(const char *p, size_t n, const char *prefix, size_t plen)
{
	if (n < plen)
		return false;
	for (size_t i = 0; i < plen; i++)
		if (lc(p[i]) != lc(prefix[i]))
			return false;
	return true;
}

static void
put_lower(struct strbuf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_putc(out, lc(p[i]));
}

/* The truncated MAC of (tag, local@domain), all ASCII-lowercased. */
static bool
compute_mac(const struct verp_config *c, const char *tag, size_t tlen, const char *local,
    size_t llen, const char *dom, size_t dlen, unsigned char mac[VERP_MAC_BYTES])
{
	struct strbuf m = STRBUF_INIT;
	strbuf_puts(&m, VERP_SIGNED_MARK ":");
	put_lower(&m, tag, tlen);
	strbuf_putc(&m, ':');
	put_lower(&m, local, llen);
	strbuf_putc(&m, '@');
	put_lower(&m, dom, dlen);
	unsigned char full[32];
	int rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, c->key, c->key_len, m.s, m.len, full);
	strbuf_free(&m);
	if (rc < 0)
		return false;
	memcpy(mac, full, VERP_MAC_BYTES);
	return true;
}

static void
b32_encode(const unsigned char in[VERP_MAC_BYTES], struct strbuf *out)
{
	/* 10 bytes = two groups of 5 bytes = 16 characters, no padding. */
	for (size_t g = 0; g < VERP_MAC_BYTES; g += 5) {
		unsigned long long v = 0;
		for (size_t i = 0; i < 5; i++)
			v = (v << 8) | in[g + i];
		for (int s = 35; s >= 0; s -= 5)
			strbuf_putc(out, b32_alphabet[(v >> s) & 31]);
	}
}

/* Decodes VERP_MAC_CHARS base32 characters, either case; false on any other character. */
static bool
b32_decode(const char *p, unsigned char out[VERP_MAC_BYTES])
{
	for (size_t g = 0; g < VERP_MAC_CHARS; g += 8) {
		unsigned long long v = 0;
		for (size_t i = 0; i < 8; i++) {
			const char *k = memchr(b32_alphabet, lc(p[g + i]), 32);
			if (p[g + i] == '\0' || k == NULL)
				return false;
			v = (v << 5) | (unsigned long long)(k - b32_alphabet);
		}
		for (size_t i = 0; i < 5; i++)
			out[g / 8 * 5 + i] = (unsigned char)(v >> (32 - 8 * i));
	}
	return true;
}

static bool
tag_ok(const char *t, size_t n)
{
	if (n > VERP_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tag_char((unsigned char)t[i]) || (t[i] == '.' && i + 1 < n && t[i + 1] == '.'))
			return false;
	return true;
}

/* Decodes the part after PREFIX SEP. */
static bool
decode_encoded(const struct verp_config *c, const char *e, size_t n, struct verp_result *res)
{
	char at = c->at_char;
	const char *tag = NULL, *mac = NULL;
	size_t tlen = 0;
	/* Signed: "s1" AT MAC AT TAG AT rest, where rest holds an AT too. A malformed MAC or TAG
	 * does not make it unsigned (that would let a damaged signature pass where signatures are
	 * optional): it is a signature that does not verify. */
	bool signed_ = false, well_formed = false;
	size_t mlen = 0;
	if (ci_prefix(e, n, VERP_SIGNED_MARK, VERP_SIGNED_MARK_LEN) && n > VERP_SIGNED_MARK_LEN &&
	    e[VERP_SIGNED_MARK_LEN] == at) {
		const char *m = e + VERP_SIGNED_MARK_LEN + 1, *end = e + n;
		const char *mend = memchr(m, at, (size_t)(end - m));
		const char *tend = mend != NULL ? memchr(mend + 1, at, (size_t)(end - mend - 1)) : NULL;
		if (tend != NULL && memchr(tend + 1, at, (size_t)(end - tend - 1)) != NULL) {
			signed_ = true;
			mac = m;
			mlen = (size_t)(mend - m);
			tag = mend + 1;
			tlen = (size_t)(tend - tag);
			well_formed = mlen == VERP_MAC_CHARS && tag_ok(tag, tlen);
			if (!tag_ok(tag, tlen))
				tlen = 0;	/* not handed out */
			n -= (size_t)(tend + 1 - e);
			e = tend + 1;
		}
	}
	const char *sep = NULL;
	for (size_t i = 0; i < n; i++)
		if (e[i] == at)
			sep = e + i;
	if (sep == NULL)
		return false;
	size_t llen = (size_t)(sep - e), dlen = n - llen - 1;
	const char *dom = sep + 1;
	/* A local part quoted inside the encoding ("bounces+\"a b\"=example.com") is unquoted. */
	struct strbuf local = STRBUF_INIT;
	if (!unquote(e, llen, &local) || !local_ok(local.s != NULL ? local.s : "", local.len) ||
	    !domain_ok(dom, dlen)) {
		strbuf_free(&local);
		return false;
	}

	bool verified;
	if (signed_) {
		unsigned char want[VERP_MAC_BYTES], got[VERP_MAC_BYTES];
		verified = c->key != NULL && well_formed && b32_decode(mac, got) &&
		    compute_mac(c, tag, tlen, local.s, local.len, dom, dlen, want) &&
		    gnutls_memcmp(want, got, VERP_MAC_BYTES) == 0;
	} else
		verified = !c->require_signature;

	struct strbuf out = STRBUF_INIT;
	put_local(&out, local.s, local.len);
	strbuf_putc(&out, '@');
	put_lower(&out, dom, dlen);
	strbuf_free(&local);
	res->address = strbuf_detach(&out);
	res->tag = NULL;
	if (tlen > 0) {
		struct strbuf tb = STRBUF_INIT;
		put_lower(&tb, tag, tlen);
		res->tag = strbuf_detach(&tb);
	}
	res->signed_ = signed_;
	res->verified = verified;
	return true;
}

/* Matches PREFIX SEP (case-insensitively) at the start of a local part (unquoted form). */
static bool
decode_local(const struct verp_config *c, const char *p, size_t n, struct verp_result *res)
{
	size_t plen = strlen(c->prefix);
	if (!ci_prefix(p, n, c->prefix, plen) || n == plen || p[plen] != c->separator)
		return false;
	return decode_encoded(c, p + plen + 1, n - plen - 1, res);
}

/* The SRS0 body after "SRS0" SEP: HASH '=' TT '=' DOMAIN '=' LOCAL. Sets the original local
 * part (LOCAL may contain '='; the first three fields do not). */
static bool
srs0_body(const char *p, size_t n, const char **local, size_t *llen)
{
	for (int field = 0; field < 3; field++) {
		const char *eq = memchr(p, '=', n);
		if (eq == NULL || eq == p)
			return false;
		n -= (size_t)(eq + 1 - p);
		p = eq + 1;
	}
	if (n == 0)
		return false;
	*local = p;
	*llen = n;
	return true;
}

static bool
is_srs_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

/* Undoes SRS0 / SRS1 (Shevek's Sender Rewriting Scheme as libsrs2 writes it):
 *	SRS0=HHH=TT=orig-domain=orig-local
 *	SRS1=HHH=first-forwarder==HHH=TT=orig-domain=orig-local
 * The hashes are the forwarder's, not ours, and are not checked: the VERP signature inside
 * is what is trusted. Gives the original local part. */
static bool
srs_unwrap(const char *p, size_t n, const char **local, size_t *llen)
{
	if (n < 5 || !ci_prefix(p, n, "srs", 3) || !is_srs_sep(p[4]))
		return false;
	if (p[3] == '0')
		return srs0_body(p + 5, n - 5, local, llen);
	if (p[3] != '1')
		return false;
	p += 5;
	n -= 5;
	for (int field = 0; field < 2; field++) {
		const char *eq = memchr(p, '=', n);
		if (eq == NULL || eq == p)
			return false;
		n -= (size_t)(eq + 1 - p);
		p = eq + 1;
	}
	if (n == 0 || !is_srs_sep(p[0]))
		return false;
	return srs0_body(p + 1, n - 1, local, llen);
}

bool
verp_decode(const struct verp_config *c, const char *addr, struct verp_result *res)
{
	const char *err;
	if (addr == NULL || !verp_config_check(c, &err))
		return false;
	size_t n = strnlen(addr, LIMIT_ADDRESS_BYTES + 1);
	if (n > LIMIT_ADDRESS_BYTES)
		return false;
	const char *lp, *host;
	size_t llen, hlen;
	if (!split_address(addr, n, &lp, &llen, &host, &hlen))
		return false;
	struct strbuf local = STRBUF_INIT;
	bool ok = false;
	if (unquote(lp, llen, &local) && local.len > 0) {
		struct verp_result r = { NULL, NULL, false, false };
		const char *p = local.s;
		size_t pn = local.len;
		for (int depth = 0; depth <= VERP_SRS_DEPTH && !ok; depth++) {
			ok = decode_local(c, p, pn, &r);
			if (!ok && !srs_unwrap(p, pn, &p, &pn))
				break;
		}
		if (ok)
			*res = r;
	}
	strbuf_free(&local);
	return ok;
}

void
verp_result_clear(struct verp_result *res)
{
	if (res == NULL)
		return;
	free(res->address);
	free(res->tag);
	res->address = res->tag = NULL;
}

char *
verp_encode(const struct verp_config *c, const char *return_path, const char *recipient,
    const char *tag)
{
	const char *err;
	if (return_path == NULL || recipient == NULL || !verp_config_check(c, &err))
		return NULL;
	size_t tlen = tag != NULL ? strlen(tag) : 0;
	if (tlen > 0 && (c->key == NULL || !tag_ok(tag, tlen)))
		return NULL;
	const char *rl, *rh, *al, *ad;
	size_t rllen, rhlen, allen, adlen;
	size_t rpn = strnlen(return_path, LIMIT_ADDRESS_BYTES + 1);
	size_t rcn = strnlen(recipient, LIMIT_ADDRESS_BYTES + 1);
	if (rpn > LIMIT_ADDRESS_BYTES || rcn > LIMIT_ADDRESS_BYTES ||
	    !split_address(return_path, rpn, &rl, &rllen, &rh, &rhlen) ||
	    !split_address(recipient, rcn, &al, &allen, &ad, &adlen) || !domain_ok(rh, rhlen) ||
	    !domain_ok(ad, adlen))
		return NULL;

	struct strbuf prefix = STRBUF_INIT, local = STRBUF_INIT, lp = STRBUF_INIT;
	char *out = NULL;
	if (!unquote(rl, rllen, &prefix) || !unquote(al, allen, &local) ||
	    !local_ok(local.s != NULL ? local.s : "", local.len))
		goto done;
	/* The local part of the return path is the prefix. */
	struct verp_config cc = *c;
	cc.prefix = prefix.s != NULL ? prefix.s : "";
	cc.require_signature = false;
	if (!verp_config_check(&cc, &err))
		goto done;

	strbuf_puts(&lp, cc.prefix);
	strbuf_putc(&lp, c->separator);
	if (c->key != NULL) {
		unsigned char mac[VERP_MAC_BYTES];
		if (!compute_mac(c, tag, tlen, local.s, local.len, ad, adlen, mac))
			goto done;
		strbuf_puts(&lp, VERP_SIGNED_MARK);
		strbuf_putc(&lp, c->at_char);
		b32_encode(mac, &lp);
		strbuf_putc(&lp, c->at_char);
		put_lower(&lp, tag != NULL ? tag : "", tlen);
		strbuf_putc(&lp, c->at_char);
	}
	strbuf_append(&lp, local.s, local.len);
	strbuf_putc(&lp, c->at_char);
	put_lower(&lp, ad, adlen);

	struct strbuf res = STRBUF_INIT;
	put_local(&res, lp.s, lp.len);
	strbuf_putc(&res, '@');
	put_lower(&res, rh, rhlen);
	out = strbuf_detach(&res);

	/* What decodes back to something else (an unsigned local part that looks signed, an
	 * address over the length limit) is not handed out. */
	struct verp_result back;
	struct strbuf want = STRBUF_INIT;
	put_local(&want, local.s, local.len);
	strbuf_putc(&want, '@');
	put_lower(&want, ad, adlen);
	bool same = verp_decode(&cc, out, &back);
	if (same) {
		same = strcmp(back.address, want.s) == 0 && back.signed_ == (c->key != NULL) &&
		    back.verified && (tlen == 0 ? back.tag == NULL :
		    back.tag != NULL && strcasecmp(back.tag, tag) == 0);
		verp_result_clear(&back);
	}
	strbuf_free(&want);
	if (!same) {
		free(out);
		out = NULL;
	}
done:
	strbuf_free(&prefix);
	strbuf_free(&local);
	strbuf_free(&lp);
	return out;
}
