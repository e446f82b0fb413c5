/* verp_encode / verp_decode: round trips over awkward addresses, the signed format's known
 * answers (computed by contrib/verp_example.py), tampering, wrong keys, case-folding relays,
 * SRS wrapping, configurations, and inputs that are not VERP at all. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "limits.h"
#include "verp.h"
#include "../core/test.h"

#define KEY	"k3y-for-tests-0123456789abcdef"
#define KEY2	"another-key-0123456789abcdefgh"
#define RP	"bounces@bounce.example.org"

enum cfg { UNSIGNED, UNSIGNED_REQ, SIGNED, SIGNED_NOREQ, WRONG_KEY, OTHER_FORMAT };

static void
make_cfg(enum cfg which, struct verp_config *c)
{
	verp_config_default(c);
	switch (which) {
	case UNSIGNED: break;
	case UNSIGNED_REQ: c->require_signature = true; break;
	case SIGNED:
	case SIGNED_NOREQ:
		c->key = (const unsigned char *)KEY;
		c->key_len = strlen(KEY);
		c->require_signature = which == SIGNED;
		break;
	case WRONG_KEY:
		c->key = (const unsigned char *)KEY2;
		c->key_len = strlen(KEY2);
		c->require_signature = true;
		break;
	case OTHER_FORMAT:
		c->prefix = "Bnc";
		c->separator = '-';
		c->at_char = '%';
		break;
	}
}

/* Decoding: { config, input, ok, address, tag, signed, verified }. */
static const struct {
	enum cfg cfg;
	const char *in;
	bool ok;
	const char *address, *tag;
	bool signed_, verified;
} dec[] = {
	/* The default unsigned format. */
	{ UNSIGNED, "bounces+joe=example.com@bounce.example.org", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, "<bounces+joe=example.com@bounce.example.org>", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, " bounces+joe=Example.COM@bounce.example.org ", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, "BOUNCES+JOE=EXAMPLE.COM@BOUNCE.EXAMPLE.ORG", true, "JOE@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+joe+news=example.com@h.example", true, "joe+news@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+a=b=example.com@h.example", true, "a=b@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+first-last=ex-ample.com@h.example", true, "first-last@ex-ample.com", NULL, false, true },
	{ UNSIGNED, "bounces+o'brien=example.com@h.example", true, "o'brien@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+bounces+x=example.com@h.example", true, "bounces+x@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+jörg=exämple.de@h.example", true, "jörg@exämple.de", NULL, false, true },
	{ UNSIGNED, "bounces+jörg=EXÄMPLE.DE@h.example", true, "jörg@exÄmple.de", NULL, false, true },
	/* Quoted local parts: the whole return path quoted (LMTP), the internal form (Postfix's
	 * Delivered-To), and the recipient quoted inside. */
	{ UNSIGNED, "\"bounces+john doe=example.com\"@h.example", true, "\"john doe\"@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+john doe=example.com@h.example", true, "\"john doe\"@example.com", NULL, false, true },
	{ UNSIGNED, "bounces+\"john doe\"=example.com@h.example", true, "\"john doe\"@example.com", NULL, false, true },
	{ UNSIGNED, "\"bounces+a@b=example.com\"@h.example", true, "\"a@b\"@example.com", NULL, false, true },
	{ UNSIGNED, "\"bounces+q\\\"t=example.com\"@h.example", true, "\"q\\\"t\"@example.com", NULL, false, true },
	{ UNSIGNED, "\"bounces+a..b=example.com\"@h.example", true, "\"a..b\"@example.com", NULL, false, true },
	/* Unsigned while signatures are required: decoded, not verified. */
	{ UNSIGNED_REQ, "bounces+joe=example.com@h.example", true, "joe@example.com", NULL, false, false },
	{ SIGNED, "bounces+joe=example.com@h.example", true, "joe@example.com", NULL, false, false },
	{ SIGNED_NOREQ, "bounces+joe=example.com@h.example", true, "joe@example.com", NULL, false, true },
	/* Signed: known answers of contrib/verp_example.py with KEY. */
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, true },
	{ SIGNED, "bounces+s1=b3cx7tugjlldzpet==joe=example.com@bounce.example.org", true, "joe@example.com", NULL, true, true },
	{ SIGNED, "bounces+s1=57cjkcny5oglcnxu=c42=Joe.Smith=example.com@bounce.example.org", true, "Joe.Smith@example.com", "c42", true, true },
	{ SIGNED, "bounces+s1=s5pp532klncqba5p==a=b+c-d=example.com@bounce.example.org", true, "a=b+c-d@example.com", NULL, true, true },
	{ SIGNED, "bounces+s1=httf4sh3omp3slnd=c42=jörg=exämple.de@bounce.example.org", true, "jörg@exämple.de", "c42", true, true },
	/* ... case-folded by a relay, whole address. */
	{ SIGNED, "BOUNCES+S1=TO2IQGF6I2F45UNC=C42=JOE=EXAMPLE.COM@BOUNCE.EXAMPLE.ORG", true, "JOE@example.com", "c42", true, true },
	{ SIGNED, "bounces+s1=57cjkcny5oglcnxu=c42=joe.smith=example.com@bounce.example.org", true, "joe.smith@example.com", "c42", true, true },
	{ SIGNED, "BOUNCES+S1=HTTF4SH3OMP3SLND=C42=JöRG=EXäMPLE.DE@BOUNCE.EXAMPLE.ORG", true, "JöRG@exämple.de", "c42", true, true },
	{ SIGNED_NOREQ, "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, true },
	/* ... tampered: address, domain, tag, MAC, tag dropped, tag added. */
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c42=jo=example.com@bounce.example.org", true, "jo@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.net@bounce.example.org", true, "joe@example.net", "c42", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c43=joe=example.com@bounce.example.org", true, "joe@example.com", "c43", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45und=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1=uo2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc==joe=example.com@bounce.example.org", true, "joe@example.com", NULL, true, false },
	{ SIGNED, "bounces+s1=b3cx7tugjlldzpet=x=joe=example.com@bounce.example.org", true, "joe@example.com", "x", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45un1=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED_NOREQ, "bounces+s1=to2iqgf6i2f45und=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	/* ... a malformed signature is still a signature, one that does not verify (MAC short,
	 * long, empty, not base32; tag not a tag: not handed out), even where signatures are
	 * optional; with too few fields it is an unsigned local part. */
	{ SIGNED, "bounces+s1=to2iqgf6i2f45un=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unca=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1==c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45u!c=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c+42=joe=example.com@bounce.example.org", true, "joe@example.com", NULL, true, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c..42=joe=example.com@bounce.example.org", true, "joe@example.com", NULL, true, false },
	{ SIGNED_NOREQ, "bounces+s1=to2iqgf6i2f45un=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ UNSIGNED, "bounces+s1=x==joe=example.com@bounce.example.org", true, "joe@example.com", NULL, true, false },
	{ SIGNED_NOREQ, "bounces+s1=x=joe=example.com@bounce.example.org", true, "s1=x=joe@example.com", NULL, false, true },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c42=@bounce.example.org", false, NULL, NULL, false, false },
	{ SIGNED, "bounces+s1=to2iqgf6i2f45unc=c42==example.com@bounce.example.org", false, NULL, NULL, false, false },
	/* ... wrong key, and no key at all. */
	{ WRONG_KEY, "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	{ UNSIGNED, "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org", true, "joe@example.com", "c42", true, false },
	/* SRS-wrapped by a forwarder (SRS0 with each separator, lowercased; SRS1). */
	{ SIGNED, "SRS0=HHHH=TT=bounce.example.org=bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@fwd.example", true, "joe@example.com", "c42", true, true },
	{ UNSIGNED, "SRS0=x1Yz=AB=bounce.example.org=bounces+joe=example.com@fwd.example", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, "SRS0+x1Yz=AB=bounce.example.org=bounces+a=b=example.com@fwd.example", true, "a=b@example.com", NULL, false, true },
	{ UNSIGNED, "srs0-x1yz=ab=bounce.example.org=bounces+joe=example.com@fwd.example", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, "SRS1=HHHH=fwd1.example==x1Yz=AB=bounce.example.org=bounces+joe=example.com@fwd2.example", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, "SRS1=HHHH=fwd1.example=+x1Yz=AB=bounce.example.org=bounces+joe=example.com@fwd2.example", true, "joe@example.com", NULL, false, true },
	{ UNSIGNED, "SRS0=x1Yz=AB=example.net=alice@fwd.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "SRS0=x1Yz=AB=example.net=alice=example.org@fwd.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "SRS0==AB=bounce.example.org=bounces+joe=example.com@fwd.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "SRS0=x1Yz=AB=bounce.example.org=@fwd.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "SRS0=a=b=c=SRS0=d=e=f=bounces+joe=example.com@fwd.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "SRS2=x1Yz=AB=bounce.example.org=bounces+joe=example.com@fwd.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "SRS1=HHHH=fwd1.example=x1Yz=AB=bounce.example.org=bounces+joe=example.com@fwd2.example", false, NULL, NULL, false, false },
	/* Another format: prefix "Bnc", separator '-', at-char '%'. */
	{ OTHER_FORMAT, "bnc-joe-x=y%example.com@h.example", true, "joe-x=y@example.com", NULL, false, true },
	{ OTHER_FORMAT, "bounces+joe=example.com@h.example", false, NULL, NULL, false, false },
	{ OTHER_FORMAT, "bnc+joe%example.com@h.example", false, NULL, NULL, false, false },
	/* Not VERP, or broken. */
	{ UNSIGNED, "joe@example.com", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces@bounce.example.org", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+@bounce.example.org", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces-joe=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bouncesx+joe=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounce+joe=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=exa mple.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=example..com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=.example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=example.com.@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=ex<ample.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+jo\x01=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+jo\xff=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=example.com", false, NULL, NULL, false, false },
	{ UNSIGNED, "bounces+joe=example.com@", false, NULL, NULL, false, false },
	{ UNSIGNED, "@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "\"bounces+joe=example.com@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "\"bounces+joe\"x=example.com\"@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "\"\"@h.example", false, NULL, NULL, false, false },
	{ UNSIGNED, "<>", false, NULL, NULL, false, false },
	{ UNSIGNED, "", false, NULL, NULL, false, false },
	{ UNSIGNED, "=", false, NULL, NULL, false, false },
	{ UNSIGNED, "@", false, NULL, NULL, false, false },
};

/* Round trips: each recipient is encoded unsigned, signed and signed with a tag, then decoded:
 * { recipient, canonical address decoded }. */
static const struct {
	const char *rcpt, *want;
} trips[] = {
	{ "joe@example.com", "joe@example.com" },
	{ "Joe.Smith@EXAMPLE.COM", "Joe.Smith@example.com" },
	{ "joe+news@example.com", "joe+news@example.com" },
	{ "a=b@example.com", "a=b@example.com" },
	{ "a=b=c@example.com", "a=b=c@example.com" },
	{ "first-last@ex-ample.com", "first-last@ex-ample.com" },
	{ "bounces+joe=example.com@example.com", "bounces+joe=example.com@example.com" },
	{ "s1=x@example.com", "s1=x@example.com" },
	{ "s1=a=b@example.com", "s1=a=b@example.com" },
	{ "user%host@example.com", "user%host@example.com" },
	{ "!#$&'*/?^_`{|}~@example.com", "!#$&'*/?^_`{|}~@example.com" },
	{ "\"john doe\"@example.com", "\"john doe\"@example.com" },
	{ "\"a@b\"@example.com", "\"a@b\"@example.com" },
	{ "\"q\\\"t\\\\\"@example.com", "\"q\\\"t\\\\\"@example.com" },
	{ "\"a..b\"@example.com", "\"a..b\"@example.com" },
	{ "\"joe.\"@example.com", "\"joe.\"@example.com" },
	{ "\"plain\"@example.com", "plain@example.com" },
	{ "jörg@exämple.de", "jörg@exämple.de" },
	{ "用户@例子.广告", "用户@例子.广告" },
	{ "joe@xn--exmple-cua.de", "joe@xn--exmple-cua.de" },
	{ "<joe@example.com>", "joe@example.com" },
};

/* Encoding refused: { config, return path, recipient, tag }. */
static const struct {
	enum cfg cfg;
	const char *rp, *rcpt, *tag;
} refused[] = {
	{ UNSIGNED, RP, "joe@example.com", "c42" },	/* a tag needs a key */
	{ SIGNED, RP, "joe@example.com", "c 42" },
	{ SIGNED, RP, "joe@example.com", "c=42" },
	{ SIGNED, RP, "joe@example.com", "c..42" },
	{ SIGNED, RP, "joe@example.com", "c:42" },
	{ SIGNED, RP, "joe@example.com",
	    "12345678901234567890123456789012345678901234567890123456789012345" },
	{ SIGNED, RP, "joe", NULL },
	{ SIGNED, RP, "joe@", NULL },
	{ SIGNED, RP, "@example.com", NULL },
	{ SIGNED, RP, "jo\ne@example.com", NULL },
	{ SIGNED, RP, "joe@exa mple.com", NULL },
	{ SIGNED, RP, "\"joe@example.com", NULL },
	{ SIGNED, "bounces", "joe@example.com", NULL },
	{ SIGNED, "bou nces@h.example", "joe@example.com", NULL },
	{ SIGNED, "bounces@h example", "joe@example.com", NULL },
	/* Unsigned local parts that would read back as signed. */
	{ UNSIGNED, RP, "s1=aaaaaaaaaaaaaaaa=x=y@example.com", NULL },
	{ UNSIGNED, RP, "S1=a=b=c@example.com", NULL },
};

/* Configurations verp_config_check refuses: { prefix, separator, at-char, key length }. */
static const struct {
	const char *prefix;
	char sep, at;
	size_t key_len;
} badcfg[] = {
	{ "", '+', '=', 0 },
	{ NULL, '+', '=', 0 },
	{ "b@d", '+', '=', 0 },
	{ "b d", '+', '=', 0 },
	{ "bounces", '+', '.', 0 },
	{ "bounces", '+', '-', 0 },
	{ "bounces", '+', '_', 0 },
	{ "bounces", '+', 'x', 0 },
	{ "bounces", '+', '@', 0 },
	{ "bounces", '+', '"', 0 },
	{ "bounces", '+', '\0', 0 },
	{ "bounces", 'a', '=', 0 },
	{ "bounces", '.', '=', 0 },
	{ "bounces", '@', '=', 0 },
	{ "bounces", '+', '=', 15 },
};

static void
test_decode(void)
{
	for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
		struct verp_config c;
		make_cfg(dec[i].cfg, &c);
		struct verp_result r = { NULL, NULL, false, false };
		bool ok = verp_decode(&c, dec[i].in, &r);
		CHECK_INT(dec[i].in, ok, dec[i].ok);
		if (!ok)
			continue;
		CHECK_STR(dec[i].in, r.address, dec[i].address);
		CHECK_STR(dec[i].in, r.tag, dec[i].tag);
		CHECK_INT(dec[i].in, r.signed_, dec[i].signed_);
		CHECK_INT(dec[i].in, r.verified, dec[i].verified);
		verp_result_clear(&r);
	}
}

static void
one_trip(enum cfg which, const char *rcpt, const char *tag, const char *want)
{
	struct verp_config c;
	make_cfg(which, &c);
	char *enc = verp_encode(&c, RP, rcpt, tag);
	CHECK_INT(rcpt, enc != NULL, 1);
	if (enc == NULL)
		return;
	struct verp_result r = { NULL, NULL, false, false };
	CHECK_INT(enc, verp_decode(&c, enc, &r), 1);
	CHECK_STR(enc, r.address, want);
	CHECK_STR(enc, r.tag, tag);
	CHECK_INT(enc, r.signed_, which == SIGNED);
	CHECK_INT(enc, r.verified, 1);
	verp_result_clear(&r);
	if (which != SIGNED) {
		free(enc);
		return;
	}
	/* A relay that case-folds the whole return path. */
	for (int up = 0; up < 2; up++) {
		char *f = strdup(enc);
		for (char *p = f; *p; p++)
			if (up && *p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
			else if (!up && *p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		CHECK_INT(f, verp_decode(&c, f, &r), 1);
		CHECK_INT(f, r.verified, 1);
		verp_result_clear(&r);
		free(f);
	}
	/* Any single character changed in the encoded part (prefix and host excepted: they are
	 * not signed) breaks it, or makes it something that is not this address. */
	size_t start = strlen("bounces+"), end = (size_t)(strrchr(enc, '@') - enc);
	for (size_t k = start; k < end; k++) {
		char *f = strdup(enc);
		f[k] = f[k] == 'x' ? 'y' : 'x';
		if (verp_decode(&c, f, &r)) {
			/* Verified means the very same recipient and tag, in another case at most. */
			if (r.verified && (strcasecmp(r.address, want) != 0 || (r.tag == NULL) !=
			    (tag == NULL) || (tag != NULL && strcasecmp(r.tag, tag) != 0)))
				CHECK_STR("tampering accepted", f, "");
			verp_result_clear(&r);
		}
		free(f);
	}
	/* The wrong key. */
	make_cfg(WRONG_KEY, &c);
	CHECK_INT(enc, verp_decode(&c, enc, &r), 1);
	CHECK_INT(enc, r.verified, 0);
	verp_result_clear(&r);
	free(enc);
}

static void
test_round_trips(void)
{
	for (size_t i = 0; i < sizeof trips / sizeof trips[0]; i++) {
		one_trip(UNSIGNED, trips[i].rcpt, NULL, trips[i].want);
		one_trip(SIGNED, trips[i].rcpt, NULL, trips[i].want);
		one_trip(SIGNED, trips[i].rcpt, "c42", trips[i].want);
		one_trip(SIGNED, trips[i].rcpt, "2026-11.news_letter", trips[i].want);
	}
}

/* The encoder's exact output equals contrib/verp_example.py's. */
static void
test_known_answers(void)
{
	static const struct {
		enum cfg cfg;
		const char *rcpt, *tag, *want;
	} kat[] = {
		{ SIGNED, "joe@example.com", "c42",
		    "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org" },
		{ SIGNED, "joe@example.com", NULL,
		    "bounces+s1=b3cx7tugjlldzpet==joe=example.com@bounce.example.org" },
		{ SIGNED, "Joe.Smith@Example.COM", "C42",
		    "bounces+s1=57cjkcny5oglcnxu=c42=Joe.Smith=example.com@bounce.example.org" },
		{ SIGNED, "a=b+c-d@example.com", NULL,
		    "bounces+s1=s5pp532klncqba5p==a=b+c-d=example.com@bounce.example.org" },
		{ SIGNED, "jörg@exämple.de", "c42",
		    "bounces+s1=httf4sh3omp3slnd=c42=jörg=exämple.de@bounce.example.org" },
		{ UNSIGNED, "joe@example.com", NULL, "bounces+joe=example.com@bounce.example.org" },
		{ UNSIGNED, "\"john doe\"@example.com", NULL,
		    "\"bounces+john doe=example.com\"@bounce.example.org" },
		{ OTHER_FORMAT, "joe@example.com", NULL, "bounces-joe%example.com@bounce.example.org" },
	};
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		struct verp_config c;
		make_cfg(kat[i].cfg, &c);
		char *enc = verp_encode(&c, RP, kat[i].rcpt, kat[i].tag);
		CHECK_STR(kat[i].rcpt, enc, kat[i].want);
		free(enc);
	}
}

static void
test_refused(void)
{
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct verp_config c;
		make_cfg(refused[i].cfg, &c);
		char *enc = verp_encode(&c, refused[i].rp, refused[i].rcpt, refused[i].tag);
		CHECK_STR(refused[i].rcpt, enc, NULL);
		free(enc);
	}
	/* Too long to come back under LIMIT_ADDRESS_BYTES. */
	char big[LIMIT_ADDRESS_BYTES];
	memset(big, 'a', sizeof big);
	strcpy(big + sizeof big - 20, "@example.com");
	struct verp_config c;
	make_cfg(UNSIGNED, &c);
	char *enc = verp_encode(&c, RP, big, NULL);
	CHECK_STR("long recipient", enc, NULL);
	free(enc);
	struct verp_result r;
	char huge[LIMIT_ADDRESS_BYTES + 64];
	memset(huge, 'a', sizeof huge);
	memcpy(huge, "bounces+", 8);
	strcpy(huge + sizeof huge - 30, "=example.com@h.example");
	CHECK_INT("long input", verp_decode(&c, huge, &r), 0);
}

static void
test_config_check(void)
{
	for (size_t i = 0; i < sizeof badcfg / sizeof badcfg[0]; i++) {
		struct verp_config c;
		make_cfg(SIGNED, &c);
		c.prefix = badcfg[i].prefix;
		c.separator = badcfg[i].sep;
		c.at_char = badcfg[i].at;
		if (badcfg[i].key_len > 0)
			c.key_len = badcfg[i].key_len;
		const char *err = NULL;
		CHECK_INT(badcfg[i].prefix ? badcfg[i].prefix : "(null)", verp_config_check(&c, &err), 0);
		CHECK_INT("error set", err != NULL, 1);
		struct verp_result r;
		CHECK_INT("decode refuses", verp_decode(&c, "bounces+joe=example.com@h.example", &r), 0);
		char *enc = verp_encode(&c, RP, "joe@example.com", NULL);
		CHECK_STR("encode refuses", enc, NULL);
		free(enc);
	}
	for (int w = UNSIGNED; w <= OTHER_FORMAT; w++) {
		struct verp_config c;
		make_cfg((enum cfg)w, &c);
		const char *err = NULL;
		CHECK_INT("good config", verp_config_check(&c, &err), 1);
	}
	verp_result_clear(NULL);
}

int
main(void)
{
	test_decode();
	test_round_trips();
	test_known_answers();
	test_refused();
	test_config_check();
	return TEST_DONE();
}
