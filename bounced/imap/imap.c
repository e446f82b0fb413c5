/* IMAP client session on libetpan's mailimap API, over a tls.c connection. */
#include "imap.h"

#include <libetpan/libetpan.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "codec.h"
#include "imap_guard.h"
#include "limits.h"
#include "strbuf.h"
#include "tls.h"

/* UID ranges per command: keeps command lines short on sparse UID sets (a server may refuse
 * lines over 8 KiB; 500 ranges of 10-digit UIDs stay under 11 KiB, Dovecot takes 64 KiB). */
#define IMAP_RANGES_PER_COMMAND	500
/* UIDs per command: bounds the response libetpan parses into memory at once. */
#define IMAP_UIDS_PER_COMMAND	10000
/* Buffer of libetpan's stream. */
#define IMAP_STREAM_BUFFER	16384
/* Largest literal ({N}) accepted outside a body fetch: mailbox names, flags. */
#define IMAP_LITERAL_MAX	(1024u * 1024)
/* Bytes one command's response may take outside a body fetch: a UID SEARCH of a million
 * messages is about 8 MiB. */
#define IMAP_RESPONSE_MAX	(64u * 1024 * 1024)

struct imap {
	mailimap *mi;
	struct tls_conn *conn;
	struct imap_guard guard;
	char *host;
	bool has_move;
	bool has_uidplus;
	bool keywords_ok;	/* PERMANENTFLAGS of the selected mailbox has \* */
	char delim;		/* hierarchy delimiter, 0 until known */
	bool delim_known;
	bool broken;		/* connection lost or cut: no LOGOUT */
	unsigned int timeout_s;	/* per command, see imap_open */
	bool selected;
	uint32_t uidvalidity;	/* of the selected mailbox, as SELECT gave it */
	/* Why the server's UIDs are no longer trusted (UIDVALIDITY changed, UIDs out of order, a
	 * body not asked for or given twice), or NULL. Once set, no UID command is sent. */
	char *distrust;
};

/* ---- URL ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [p, p+len); NULL on a bad escape or a decoded NUL or control character. */
static char *
pct_decode(const char *p, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			if ((h = hexval(p[i + 1])) < 0 || (l = hexval(p[i + 2])) < 0) {
				free(out);
				return NULL;
			}
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			free(out);
			return NULL;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

void
imap_url_clear(struct imap_url *u)
{
	if (u == NULL)
		return;
	free(u->user);
	free(u->host);
	free(u->port);
	free(u->mailbox);
	memset(u, 0, sizeof *u);
}

int
imap_url_parse(const char *url, struct imap_url *u_r, char **error_r)
{
	struct imap_url u = { 0 };
	const char *p;
	if (strlen(url) > IMAP_URL_MAX) {
		error_set(error_r, "IMAP URL longer than %d bytes", IMAP_URL_MAX);
		return -1;
	}
	if (strncmp(url, "imaps://", 8) == 0) {
		u.implicit_tls = true;
		p = url + 8;
	} else if (strncmp(url, "imap://", 7) == 0) {
		p = url + 7;
	} else {
		error_set(error_r, "'%s': the URL must start with imaps:// or imap://", url);
		return -1;
	}
	const char *slash = strchr(p, '/');
	const char *auth_end = slash ? slash : p + strlen(p);
	const char *at = NULL;
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at == NULL || at == p) {
		error_set(error_r, "'%s': no user name (imaps://USER@HOST/MAILBOX)", url);
		return -1;
	}
	u.user = pct_decode(p, (size_t)(at - p));
	const char *h = at + 1, *h_end, *port = NULL;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(auth_end - h));
		if (rb == NULL)
			goto bad;
		u.host = xstrndup(h + 1, (size_t)(rb - h - 1));
		h_end = rb + 1;
		if (h_end < auth_end && *h_end != ':')
			goto bad;
	} else {
		h_end = memchr(h, ':', (size_t)(auth_end - h));
		if (h_end == NULL)
			h_end = auth_end;
		u.host = xstrndup(h, (size_t)(h_end - h));
	}
	if (h_end < auth_end && *h_end == ':')
		port = h_end + 1;
	if (port != NULL) {
		size_t plen = (size_t)(auth_end - port);
		if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen)
			goto bad;
		u.port = xstrndup(port, plen);
		long v = strtol(u.port, NULL, 10);
		if (v < 1 || v > 65535)
			goto bad;
	} else {
		u.port = xstrdup(u.implicit_tls ? IMAP_PORT_IMAPS : IMAP_PORT_IMAP);
	}
	if (u.user == NULL || u.host[0] == '\0' || strpbrk(u.host, "/?#@ ") != NULL)
		goto bad;
	if (slash != NULL && slash[1] != '\0')
		u.mailbox = pct_decode(slash + 1, strlen(slash + 1));
	else
		u.mailbox = xstrdup("INBOX");
	if (u.mailbox == NULL || strpbrk(u.mailbox, "*%") != NULL)
		goto bad;
	*u_r = u;
	return 0;
bad:
	imap_url_clear(&u);
	error_set(error_r, "'%s' is not a valid IMAP URL (imaps://USER@HOST[:PORT]/MAILBOX)", url);
	return -1;
}

/* ---- libetpan stream over tls_conn ---- */

/* What the alarm handler writes: made before the alarm is first set, so the handler only
 * calls write(2) and _exit(2). */
static char alarm_msg[128];
static size_t alarm_msg_len;

static void
on_alarm(int sig)
{
	(void)sig;
	(void)!write(STDERR_FILENO, alarm_msg, alarm_msg_len);
	_exit(EXIT_TEMPFAIL);
}

static void
guard_set(struct imap *im, uint64_t literal_max, uint64_t budget)
{
	alarm(im->timeout_s);
	imap_guard_set(&im->guard, literal_max, budget);
}

/* Before each command other than a body fetch. */
static void
guard_default(struct imap *im)
{
	guard_set(im, IMAP_LITERAL_MAX, IMAP_RESPONSE_MAX);
}

static ssize_t
low_read(mailstream_low *s, void *buf, size_t len)
{
	struct imap *im = s->data;
	if (im->guard.error != NULL)
		return -1;
	ssize_t n = tls_read(im->conn, buf, len);
	/* End of file is an error to an IMAP client (libetpan reads nothing past the tagged
	 * reply, LOGOUT's too). Handed on as 0, libetpan 1.9.4 reads again for ever when it comes
	 * inside a literal: a server that announces {N} and closes early kept fetch spinning
	 * until the command timeout (found by fuzz/fuzz-imap.c). */
	if (n == 0)
		return -1;
	if (n > 0 && !imap_guard_scan(&im->guard, buf, (size_t)n))
		return -1;
	return n;
}

static ssize_t
low_write(mailstream_low *s, const void *buf, size_t len)
{
	struct imap *im = s->data;
	return tls_write(im->conn, buf, len);
}

/* The connection belongs to struct imap and is closed by imap_close. */
static int
low_close(mailstream_low *s)
{
	return 0;
}

static int
low_get_fd(mailstream_low *s)
{
	return tls_fd(((struct imap *)s->data)->conn);
}

static void
low_free(mailstream_low *s)
{
	free(s);
}

static void
low_cancel(mailstream_low *s)
{
}

static struct mailstream_cancel *
low_get_cancel(mailstream_low *s)
{
	return NULL;
}

static carray *
low_get_certificate_chain(mailstream_low *s)
{
	return NULL;
}

static int
low_idle(mailstream_low *s)
{
	return -1;
}

static mailstream_low_driver low_driver = {
	.mailstream_read = low_read,
	.mailstream_write = low_write,
	.mailstream_close = low_close,
	.mailstream_get_fd = low_get_fd,
	.mailstream_free = low_free,
	.mailstream_cancel = low_cancel,
	.mailstream_get_cancel = low_get_cancel,
	.mailstream_get_certificate_chain = low_get_certificate_chain,
	.mailstream_setup_idle = low_idle,
	.mailstream_unsetup_idle = low_idle,
	.mailstream_interrupt_idle = low_idle,
};

/* ---- errors ---- */

static bool
is_connection_error(int r)
{
	return r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE ||
	    r == MAILIMAP_ERROR_FATAL || r == MAILIMAP_ERROR_CONNECTION_REFUSED ||
	    r == MAILIMAP_ERROR_MEMORY;
}

/* Server's last response text, made printable and short. */
static void
response_text(struct imap *im, char *out, size_t size)
{
	const char *t = im->mi != NULL && im->mi->imap_response != NULL ?
	    im->mi->imap_response : "";
	size_t i = 0;
	for (; t[i] != '\0' && i + 1 < size; i++)
		out[i] = (t[i] < 0x20 || t[i] == 0x7f) ? '?' : t[i];
	out[i] = '\0';
}

static int
fail(struct imap *im, int r, const char *what, char **error_r)
{
	if (im->guard.error != NULL || is_connection_error(r))
		im->broken = true;
	if (im->guard.error != NULL) {
		error_set(error_r, "%s: %s: %s; connection closed", what, im->host,
		    im->guard.error);
	} else if (is_connection_error(r)) {
		error_set(error_r, "%s: connection to %s lost or garbled (libetpan error %d)",
		    what, im->host, r);
	} else {
		char text[300];
		response_text(im, text, sizeof text);
		error_set(error_r, "%s: refused by %s: %s", what, im->host,
		    text[0] ? text : "(no text)");
	}
	return IMAP_ERR_TEMP;
}

/* ---- session ---- */

static int
refresh_capabilities(struct imap *im, char **error_r)
{
	struct mailimap_capability_data *caps = NULL;
	guard_default(im);
	/* libetpan 1.9.4 dereferences NULL in mailimap_capability when the connection knows no
	 * capability by the end of the reply (a server that answers CAPABILITY with a bare OK or
	 * an empty list, as RFC 3501 forbids; found by fuzz/fuzz-imap.c): start it from an
	 * empty list, which such a reply leaves as it is (no STARTTLS, no MOVE). */
	struct mailimap_connection_info *ci = im->mi->imap_connection_info;
	if (ci != NULL && ci->imap_capability == NULL &&
	    (ci->imap_capability = mailimap_capability_data_new(clist_new())) == NULL)
		abort();
	int r = mailimap_capability(im->mi, &caps);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "CAPABILITY", error_r);
	mailimap_capability_data_free(caps);
	return IMAP_OK;
}

int
imap_open(const struct imap_url *u, enum imap_security sec, const char *password,
    const char *ca_file, unsigned int timeout_s, struct imap **imap_r, char **error_r)
{
	struct tls_conn *conn;
	if (tls_connect(u->host, u->port, &conn, error_r) != TLS_OK)
		return IMAP_ERR_TEMP;
	return imap_open_conn(conn, u, sec, password, ca_file, timeout_s, imap_r, error_r);
}

int
imap_open_conn(struct tls_conn *conn, const struct imap_url *u, enum imap_security sec,
    const char *password, const char *ca_file, unsigned int timeout_s, struct imap **imap_r,
    char **error_r)
{
	struct imap *im = xcalloc(1, sizeof *im);
	im->host = xstrdup(u->host);
	im->conn = conn;
	im->timeout_s = timeout_s != 0 ? timeout_s : IMAP_COMMAND_TIMEOUT_S;
	int n = snprintf(alarm_msg, sizeof alarm_msg, "bounced: fetch: an IMAP command took "
	    "longer than %u s; giving up, the next run goes on\n", im->timeout_s);
	alarm_msg_len = n > 0 && (size_t)n < sizeof alarm_msg ? (size_t)n : 0;
	int ret = IMAP_ERR_TEMP, r;

	if (sec == IMAP_SEC_IMPLICIT) {
		r = tls_start(im->conn, u->host, ca_file, error_r);
		if (r != TLS_OK) {
			ret = r == TLS_ERR_VERIFY ? IMAP_ERR_AUTH :
			    r == TLS_ERR_CONFIG ? IMAP_ERR_CONFIG : IMAP_ERR_TEMP;
			goto out;
		}
	}
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, NULL);
	guard_set(im, IMAP_LITERAL_MAX, IMAP_RESPONSE_MAX);
	im->guard.greeting = true;
	mailstream_low *low = mailstream_low_new(im, &low_driver);
	mailstream *stream = low ? mailstream_new(low, IMAP_STREAM_BUFFER) : NULL;
	im->mi = mailimap_new(0, NULL);
	if (stream == NULL || im->mi == NULL) {
		fputs("bounced: out of memory\n", stderr);
		abort();
	}
	r = mailimap_connect(im->mi, stream);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		ret = fail(im, r, "greeting", error_r);
		goto out;
	}
	if (sec == IMAP_SEC_STARTTLS) {
		if ((ret = refresh_capabilities(im, error_r)) != IMAP_OK)
			goto out;
		if (!mailimap_has_extension(im->mi, "STARTTLS")) {
			error_set(error_r, "%s does not offer STARTTLS; use imaps:// (or "
			    "allow_plaintext = yes to send the password in the clear)", u->host);
			ret = IMAP_ERR_AUTH;
			goto out;
		}
		guard_default(im);
		r = mailimap_starttls(im->mi);
		/* Bytes already buffered after the STARTTLS reply were sent in the clear by
		 * someone in the middle (CVE-2011-0411 style injection): refuse, whether libetpan
		 * already did (1.9.4 answers MAILIMAP_ERROR_STARTTLS then) or not. Bytes that come
		 * later are read by the handshake as TLS records, and fail it. Exit 75: the run
		 * stops before LOGIN, with nothing done; a retry is safe. */
		if (im->mi->imap_stream != NULL && im->mi->imap_stream->read_buffer_len != 0) {
			error_set(error_r, "%s sent data after STARTTLS before the TLS handshake; "
			    "refusing (possible command injection)", u->host);
			im->broken = true;	/* no LOGOUT in the clear either */
			ret = IMAP_ERR_TEMP;
			goto out;
		}
		if (r != MAILIMAP_NO_ERROR) {
			ret = fail(im, r, "STARTTLS", error_r);
			goto out;
		}
		r = tls_start(im->conn, u->host, ca_file, error_r);
		if (r != TLS_OK) {
			ret = r == TLS_ERR_VERIFY ? IMAP_ERR_AUTH :
			    r == TLS_ERR_CONFIG ? IMAP_ERR_CONFIG : IMAP_ERR_TEMP;
			goto out;
		}
	}
	if ((ret = refresh_capabilities(im, error_r)) != IMAP_OK)
		goto out;
	guard_default(im);
	r = mailimap_login(im->mi, u->user, password);
	if (r != MAILIMAP_NO_ERROR) {
		if (is_connection_error(r)) {
			ret = fail(im, r, "LOGIN", error_r);
		} else {
			char text[300];
			response_text(im, text, sizeof text);
			error_set(error_r, "login as %s on %s refused: %s", u->user, u->host,
			    text[0] ? text : "(no text)");
			ret = IMAP_ERR_AUTH;
		}
		goto out;
	}
	/* Capabilities may grow after login (MOVE, UIDPLUS on Dovecot). */
	if ((ret = refresh_capabilities(im, error_r)) != IMAP_OK)
		goto out;
	im->has_move = mailimap_has_extension(im->mi, "MOVE");
	im->has_uidplus = mailimap_has_extension(im->mi, "UIDPLUS");
	*imap_r = im;
	return IMAP_OK;
out:
	imap_close(im);
	return ret;
}

void
imap_close(struct imap *im)
{
	if (im == NULL)
		return;
	if (im->mi != NULL) {
		if (im->mi->imap_stream != NULL && !im->broken) {
			guard_default(im);
			(void)mailimap_logout(im->mi);
		}
		mailimap_free(im->mi);
	}
	tls_close(im->conn);
	alarm(0);
	imap_guard_clear(&im->guard);
	free(im->host);
	free(im->distrust);
	free(im);
}

/* Modified BASE64 of RFC 3501 5.1.3: ',' where BASE64 has '/', and no padding. */
static const char mutf7_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Ends a run of UTF-16 units: the bits left over, then '-'. */
static void
mutf7_flush(struct strbuf *out, uint32_t bits, unsigned nbits)
{
	if (nbits > 0)
		strbuf_putc(out, mutf7_alphabet[(bits << (6 - nbits)) & 0x3f]);
	strbuf_putc(out, '-');
}

char *
imap_mutf7_encode(const char *utf8)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t len = strlen(utf8);
	struct strbuf out = STRBUF_INIT;
	uint32_t bits = 0;
	unsigned nbits = 0;
	bool in_run = false;
	while (len > 0) {
		if (*p >= 0x20 && *p <= 0x7e) {
			if (in_run)
				mutf7_flush(&out, bits, nbits);
			in_run = false;
			nbits = 0;
			strbuf_putc(&out, (char)*p);
			if (*p == '&')
				strbuf_putc(&out, '-');
			p++, len--;
			continue;
		}
		size_t n = codec_utf8_seq(p, len);
		if (n == 0) {
			strbuf_free(&out);
			return NULL;
		}
		uint32_t cp = codec_utf8_cp(p, n);
		p += n, len -= n;
		uint16_t units[2];
		size_t nunits = 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[0] = (uint16_t)(0xd800 | cp >> 10);
			units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			nunits = 2;
		} else
			units[0] = (uint16_t)cp;
		if (!in_run)
			strbuf_putc(&out, '&');
		in_run = true;
		for (size_t i = 0; i < nunits; i++) {
			bits = bits << 16 | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				strbuf_putc(&out, mutf7_alphabet[(bits >> nbits) & 0x3f]);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (in_run)
		mutf7_flush(&out, bits, nbits);
	return strbuf_detach(&out);
}

bool
imap_name_is_mutf7(const char *name)
{
	for (const char *amp = strchr(name, '&'); amp != NULL; amp = strchr(amp + 1, '&')) {
		const char *p = amp + 1;
		uint32_t bits = 0;
		unsigned nbits = 0;
		size_t units = 0;
		bool plausible = true;
		uint16_t hi = 0;	/* a high surrogate waiting for its low half */
		for (; *p != '-' && *p != '\0'; p++) {
			const char *c = strchr(mutf7_alphabet, *p);
			if (c == NULL || *p == '\0')
				break;
			bits = bits << 6 | (uint32_t)(c - mutf7_alphabet);
			nbits += 6;
			if (nbits >= 16) {
				nbits -= 16;
				uint16_t u = (uint16_t)(bits >> nbits);
				bits &= (1u << nbits) - 1;
				units++;
				/* RFC 3501: printable ASCII is never encoded; surrogates come paired. */
				if ((u >= 0x20 && u <= 0x7e) || (hi != 0) != (u >= 0xdc00 && u <= 0xdfff))
					plausible = false;
				hi = u >= 0xd800 && u <= 0xdbff ? u : 0;
			}
		}
		if (*p == '-' && units > 0 && plausible && hi == 0 && nbits < 6 && bits == 0)
			return true;
	}
	return false;
}

int
imap_select(struct imap *im, const char *mailbox, uint32_t *uidvalidity_r, char **error_r)
{
	if (imap_name_is_mutf7(mailbox)) {
		error_set(error_r, "mailbox name '%s' is written in IMAP's modified UTF-7: write it "
		    "in UTF-8, as a mail client shows it (bounced encodes it)", mailbox);
		return IMAP_ERR_CONFIG;
	}
	char *wire = imap_mutf7_encode(mailbox);
	if (wire == NULL) {
		error_set(error_r, "mailbox name '%s' is not valid UTF-8", mailbox);
		return IMAP_ERR_CONFIG;
	}
	guard_default(im);
	int r = mailimap_select(im->mi, wire);
	free(wire);
	if (r != MAILIMAP_NO_ERROR) {
		char what[300];
		snprintf(what, sizeof what, "SELECT %s", mailbox);
		return fail(im, r, what, error_r);
	}
	struct mailimap_selection_info *si = im->mi->imap_selection_info;
	im->keywords_ok = false;
	if (si != NULL && si->sel_perm_flags != NULL) {
		for (clistiter *it = clist_begin(si->sel_perm_flags); it; it = clist_next(it)) {
			struct mailimap_flag_perm *fp = clist_content(it);
			if (fp->fl_type == MAILIMAP_FLAG_PERM_ALL)
				im->keywords_ok = true;
			else if (fp->fl_flag != NULL &&
			    fp->fl_flag->fl_type == MAILIMAP_FLAG_KEYWORD &&
			    fp->fl_flag->fl_data.fl_keyword != NULL &&
			    strcasecmp(fp->fl_flag->fl_data.fl_keyword, IMAP_DONE_KEYWORD) == 0)
				im->keywords_ok = true;
		}
	}
	*uidvalidity_r = si != NULL ? si->sel_uidvalidity : 0;
	im->selected = true;
	im->uidvalidity = *uidvalidity_r;
	return IMAP_OK;
}

/* Marks the server's UIDs untrusted, for the reason given (the first one stays). */
static void
distrust(struct imap *im, char *why)
{
	if (im->distrust == NULL)
		im->distrust = why;
	else
		free(why);
}

/* Called before and after every UID command. A UID names a message only under the UIDVALIDITY
 * it came with (RFC 3501 2.3.1.1): a server that announces another one mid-session (an untagged
 * OK [UIDVALIDITY n], the mailbox rebuilt or restored under us) has renamed every message, so
 * from then on no UID of ours is fetched, flagged, moved or expunged: that could touch a message
 * never recorded. The same once the server answered in a way that shows its UIDs cannot be
 * relied on (see check_fetch). The next run starts over; what was recorded is a duplicate. */
static int
uids_trusted(struct imap *im, const char *what, char **error_r)
{
	struct mailimap_selection_info *si = im->mi->imap_selection_info;
	if (im->selected && im->distrust == NULL &&
	    (si == NULL || si->sel_uidvalidity != im->uidvalidity)) {
		char *why = NULL;
		error_set(&why, "the mailbox's UIDVALIDITY changed from %u to %u during the run "
		    "(its UIDs now name other messages)", im->uidvalidity,
		    si != NULL ? si->sel_uidvalidity : 0);
		distrust(im, why);
	}
	if (im->distrust == NULL)
		return IMAP_OK;
	error_set(error_r, "%s: %s: %s; nothing more is fetched, moved or flagged in this run",
	    what, im->host, im->distrust);
	return IMAP_ERR_TEMP;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int
imap_search_pending(struct imap *im, uint32_t **uids_r, size_t *n_r, char **error_r)
{
	struct mailimap_search_key *all = mailimap_search_key_new_multiple_empty();
	struct mailimap_search_key *undeleted = mailimap_search_key_new(
	    MAILIMAP_SEARCH_KEY_UNDELETED, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
	    NULL);
	struct mailimap_search_key *unkw =
	    mailimap_search_key_new_unkeyword(xstrdup(IMAP_DONE_KEYWORD));
	if (all == NULL || undeleted == NULL || unkw == NULL ||
	    mailimap_search_key_multiple_add(all, undeleted) != MAILIMAP_NO_ERROR ||
	    mailimap_search_key_multiple_add(all, unkw) != MAILIMAP_NO_ERROR) {
		fputs("bounced: out of memory\n", stderr);
		abort();
	}
	clist *res = NULL;
	int ret;
	if ((ret = uids_trusted(im, "UID SEARCH", error_r)) != IMAP_OK) {
		mailimap_search_key_free(all);
		return ret;
	}
	guard_default(im);
	int r = mailimap_uid_search(im->mi, NULL, all, &res);
	mailimap_search_key_free(all);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "UID SEARCH", error_r);
	if ((ret = uids_trusted(im, "UID SEARCH", error_r)) != IMAP_OK) {
		mailimap_search_result_free(res);
		return ret;
	}
	size_t n = 0, cap = (size_t)clist_count(res);
	uint32_t *uids = xcalloc(cap ? cap : 1, sizeof *uids);
	for (clistiter *it = clist_begin(res); it != NULL; it = clist_next(it))
		if (n < cap && *(uint32_t *)clist_content(it) != 0)
			uids[n++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	qsort(uids, n, sizeof *uids, cmp_u32);
	size_t w = 0;	/* a server may repeat a UID */
	for (size_t i = 0; i < n; i++)
		if (w == 0 || uids[w - 1] != uids[i])
			uids[w++] = uids[i];
	*uids_r = uids;
	*n_r = w;
	return IMAP_OK;
}

/* A UID set of uids[0..n) (ascending), runs folded into ranges. */
static struct mailimap_set *
make_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	if (set == NULL)
		abort();
	for (size_t i = 0; i < n; ) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (mailimap_set_add_interval(set, uids[i], uids[j]) != MAILIMAP_NO_ERROR)
			abort();
		i = j + 1;
	}
	return set;
}

/* How many of uids[0..n) (ascending) go into one command. */
static size_t
chunk_len(const uint32_t *uids, size_t n)
{
	size_t ranges = 0, i = 0;
	while (i < n && ranges < IMAP_RANGES_PER_COMMAND && i < IMAP_UIDS_PER_COMMAND) {
		size_t j = i;
		while (j + 1 < n && j + 1 < IMAP_UIDS_PER_COMMAND && uids[j + 1] == uids[j] + 1)
			j++;
		ranges++;
		i = j + 1;
	}
	return i;
}

static ptrdiff_t
find_uid(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && uids[lo] == uid ? (ptrdiff_t)lo : -1;
}

/* UID, size and body section of one FETCH response item. */
static void
msg_att_fields(struct mailimap_msg_att *ma, uint32_t *uid, uint32_t *size,
    struct mailimap_msg_att_body_section **body)
{
	for (clistiter *it = clist_begin(ma->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = item->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
			*size = st->att_data.att_rfc822_size;
		else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && body != NULL)
			*body = st->att_data.att_body_section;
	}
}

struct seq_uid {
	uint32_t seq, uid;
};

static int
cmp_seq_uid(const void *a, const void *b)
{
	const struct seq_uid *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Checks a FETCH response list before any of it is used: UIDs rise with the sequence numbers
 * (RFC 3501 2.3.1.1: a message added later has a higher UID, and no UID FETCH response may be
 * interleaved with an EXPUNGE), and, for a body fetch (asked != NULL, ascending), bodies come
 * only for UIDs asked for, each once. A server that breaks this has lost track of which UID
 * is which message: nothing of the response is used and its UIDs are no longer trusted.
 * FETCH responses without a body (flag updates, RFC 3501 7.4.2) are allowed. */
static int
check_fetch(struct imap *im, clist *res, const uint32_t *asked, size_t n, const char *what,
    char **error_r)
{
	size_t count = (size_t)clist_count(res), k = 0;
	struct seq_uid *v = xcalloc(count ? count : 1, sizeof *v);
	bool *given = asked != NULL ? xcalloc(n ? n : 1, sizeof *given) : NULL;
	char *why = NULL;
	for (clistiter *it = clist_begin(res); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		uint32_t uid = 0, size = 0;
		struct mailimap_msg_att_body_section *bs = NULL;
		msg_att_fields(ma, &uid, &size, &bs);
		if (uid != 0 && k < count)
			v[k++] = (struct seq_uid){ ma->att_number, uid };
		if (asked == NULL || bs == NULL || why != NULL)
			continue;
		ptrdiff_t i = find_uid(asked, n, uid);
		if (i < 0)
			error_set(&why, "it sent the body of UID %u, which was not asked for", uid);
		else if (given[i])
			error_set(&why, "it sent the body of UID %u twice", uid);
		else
			given[i] = true;
	}
	qsort(v, k, sizeof *v, cmp_seq_uid);
	for (size_t i = 1; i < k && why == NULL; i++)
		if (v[i].seq == v[i - 1].seq ? v[i].uid != v[i - 1].uid : v[i].uid <= v[i - 1].uid)
			error_set(&why, "its UIDs go backwards (message %u has UID %u, message %u UID %u)",
			    v[i - 1].seq, v[i - 1].uid, v[i].seq, v[i].uid);
	free(v);
	free(given);
	if (why == NULL)
		return IMAP_OK;
	distrust(im, why);
	return uids_trusted(im, what, error_r);
}

int
imap_fetch_sizes(struct imap *im, const uint32_t *uids, size_t n, uint32_t *sizes_r,
    char **error_r)
{
	int ret;
	for (size_t i = 0; i < n; i++)
		sizes_r[i] = UINT32_MAX;
	for (size_t off = 0, cnt; off < n; off += cnt) {
		cnt = chunk_len(uids + off, n - off);
		struct mailimap_set *set = make_set(uids + off, cnt);
		struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
		if (ft == NULL ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_rfc822_size()))
			abort();
		clist *res = NULL;
		if ((ret = uids_trusted(im, "UID FETCH RFC822.SIZE", error_r)) != IMAP_OK) {
			mailimap_fetch_type_free(ft);
			mailimap_set_free(set);
			return ret;
		}
		guard_default(im);
		int r = mailimap_uid_fetch(im->mi, set, ft, &res);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "UID FETCH RFC822.SIZE", error_r);
		if ((ret = uids_trusted(im, "UID FETCH RFC822.SIZE", error_r)) != IMAP_OK ||
		    (ret = check_fetch(im, res, NULL, 0, "UID FETCH RFC822.SIZE", error_r)) != IMAP_OK) {
			mailimap_fetch_list_free(res);
			return ret;
		}
		for (clistiter *it = clist_begin(res); it != NULL; it = clist_next(it)) {
			uint32_t uid = 0, size = UINT32_MAX;
			msg_att_fields(clist_content(it), &uid, &size, NULL);
			ptrdiff_t k = find_uid(uids + off, cnt, uid);
			if (k >= 0)
				sizes_r[off + (size_t)k] = size;
		}
		mailimap_fetch_list_free(res);
	}
	return IMAP_OK;
}

int
imap_fetch_bodies(struct imap *im, const uint32_t *uids, size_t n, uint32_t max_bytes,
    uint64_t max_response, imap_body_fn *fn, void *ctx, char **error_r)
{
	int ret;
	guard_set(im, max_bytes > 0 ? max_bytes : LIMIT_MESSAGE_BYTES, max_response);
	for (size_t off = 0, cnt; off < n; off += cnt) {
		cnt = chunk_len(uids + off, n - off);
		struct mailimap_set *set = make_set(uids + off, cnt);
		struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
		struct mailimap_section *sec = mailimap_section_new(NULL);
		struct mailimap_fetch_att *body = max_bytes > 0 ?
		    mailimap_fetch_att_new_body_peek_section_partial(sec, 0, max_bytes) :
		    mailimap_fetch_att_new_body_peek_section(sec);
		if (ft == NULL || sec == NULL || body == NULL ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, body))
			abort();
		clist *res = NULL;
		if ((ret = uids_trusted(im, "UID FETCH BODY.PEEK[]", error_r)) != IMAP_OK) {
			mailimap_fetch_type_free(ft);
			mailimap_set_free(set);
			return ret;
		}
		int r = mailimap_uid_fetch(im->mi, set, ft, &res);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "UID FETCH BODY.PEEK[]", error_r);
		if ((ret = uids_trusted(im, "UID FETCH BODY.PEEK[]", error_r)) != IMAP_OK ||
		    (ret = check_fetch(im, res, uids + off, cnt, "UID FETCH BODY.PEEK[]",
		    error_r)) != IMAP_OK) {
			mailimap_fetch_list_free(res);
			return ret;
		}
		int stop = 0;
		for (clistiter *it = clist_begin(res); it != NULL && !stop; it = clist_next(it)) {
			uint32_t uid = 0, size = 0;
			struct mailimap_msg_att_body_section *bs = NULL;
			msg_att_fields(clist_content(it), &uid, &size, &bs);
			/* Unsolicited FETCH responses (flag changes) carry no body. */
			if (bs == NULL || find_uid(uids + off, cnt, uid) < 0)
				continue;
			/* BODY[] NIL: the server did not give the message. It is not handed on, so it
			 * is neither stored as empty nor moved or deleted: the next run tries again. */
			if (bs->sec_body_part == NULL)
				continue;
			stop = fn(ctx, uid, bs->sec_body_part, bs->sec_length);
		}
		mailimap_fetch_list_free(res);
		if (stop)
			return stop;
	}
	return IMAP_OK;
}

static int
learn_delimiter(struct imap *im, char **error_r)
{
	if (im->delim_known)
		return IMAP_OK;
	clist *res = NULL;
	guard_default(im);
	int r = mailimap_list(im->mi, "", "", &res);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "LIST \"\" \"\"", error_r);
	if (res != NULL && clist_begin(res) != NULL) {
		struct mailimap_mailbox_list *mb = clist_content(clist_begin(res));
		im->delim = mb->mb_delimiter;
	}
	if (res != NULL)
		mailimap_list_result_free(res);
	im->delim_known = true;
	return IMAP_OK;
}

static int
folder_exists(struct imap *im, const char *name, bool *exists_r, char **error_r)
{
	clist *res = NULL;
	guard_default(im);
	int r = mailimap_list(im->mi, "", name, &res);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "LIST", error_r);
	*exists_r = res != NULL && clist_begin(res) != NULL;
	if (res != NULL)
		mailimap_list_result_free(res);
	return IMAP_OK;
}

int
imap_ensure_folder(struct imap *im, const char *folder, char **server_name_r, char **error_r)
{
	int ret;
	if (folder[0] == '\0' || strpbrk(folder, "*%") != NULL || strlen(folder) > IMAP_URL_MAX) {
		error_set(error_r, "'%s' is not a usable folder name", folder);
		return IMAP_ERR_CONFIG;
	}
	if ((ret = learn_delimiter(im, error_r)) != IMAP_OK)
		return ret;
	char *name = xstrdup(folder);
	if (im->delim != 0 && im->delim != '/') {
		if (strchr(name, im->delim) != NULL) {
			error_set(error_r, "folder '%s' contains '%c', the server's hierarchy "
			    "delimiter; write levels with '/'", folder, im->delim);
			free(name);
			return IMAP_ERR_CONFIG;
		}
		for (char *p = name; *p; p++)
			if (*p == '/')
				*p = im->delim;
	}
	if (imap_name_is_mutf7(folder)) {
		error_set(error_r, "folder name '%s' is written in IMAP's modified UTF-7: write it in "
		    "UTF-8, as a mail client shows it (bounced encodes it)", folder);
		free(name);
		return IMAP_ERR_CONFIG;
	}
	char *wire = imap_mutf7_encode(name);
	free(name);
	if (wire == NULL) {
		error_set(error_r, "folder name '%s' is not valid UTF-8", folder);
		return IMAP_ERR_CONFIG;
	}
	name = wire;
	bool exists;
	if ((ret = folder_exists(im, name, &exists, error_r)) != IMAP_OK)
		goto err;
	if (!exists) {
		guard_default(im);
		int r = mailimap_create(im->mi, name);
		if (r != MAILIMAP_NO_ERROR) {
			/* A concurrent run may have created it just now. */
			char *e2 = NULL;
			if (is_connection_error(r) ||
			    folder_exists(im, name, &exists, &e2) != IMAP_OK || !exists) {
				free(e2);
				ret = fail(im, r, "CREATE", error_r);
				goto err;
			}
		} else {
			(void)mailimap_subscribe(im->mi, name);
		}
	}
	*server_name_r = name;
	return IMAP_OK;
err:
	free(name);
	return ret;
}

static int
store_flags(struct imap *im, const uint32_t *uids, size_t n, bool deleted, bool seen,
    bool keyword, char **error_r)
{
	for (size_t off = 0, cnt; off < n; off += cnt) {
		cnt = chunk_len(uids + off, n - off);
		struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
		if (fl == NULL ||
		    (deleted && mailimap_flag_list_add(fl, mailimap_flag_new_deleted())) ||
		    (seen && mailimap_flag_list_add(fl, mailimap_flag_new_seen())) ||
		    (keyword && mailimap_flag_list_add(fl,
		    mailimap_flag_new_flag_keyword(xstrdup(IMAP_DONE_KEYWORD)))))
			abort();
		struct mailimap_store_att_flags *sa =
		    mailimap_store_att_flags_new_add_flags_silent(fl);
		int ret;
		if ((ret = uids_trusted(im, "UID STORE", error_r)) != IMAP_OK) {
			mailimap_store_att_flags_free(sa);
			return ret;
		}
		struct mailimap_set *set = make_set(uids + off, cnt);
		guard_default(im);
		int r = mailimap_uid_store(im->mi, set, sa);
		mailimap_store_att_flags_free(sa);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "UID STORE", error_r);
	}
	return IMAP_OK;
}

static int
expunge(struct imap *im, const uint32_t *uids, size_t n, char **error_r)
{
	if (!im->has_uidplus)
		return IMAP_OK;	/* \Deleted mail is skipped by the search; never EXPUNGE all */
	for (size_t off = 0, cnt; off < n; off += cnt) {
		cnt = chunk_len(uids + off, n - off);
		int ret;
		if ((ret = uids_trusted(im, "UID EXPUNGE", error_r)) != IMAP_OK)
			return ret;
		struct mailimap_set *set = make_set(uids + off, cnt);
		guard_default(im);
		int r = mailimap_uid_expunge(im->mi, set);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "UID EXPUNGE", error_r);
	}
	return IMAP_OK;
}

int
imap_move(struct imap *im, const uint32_t *uids, size_t n, const char *folder, char **error_r)
{
	for (size_t off = 0, cnt; off < n; off += cnt) {
		cnt = chunk_len(uids + off, n - off);
		int ret;
		if ((ret = uids_trusted(im, im->has_move ? "UID MOVE" : "UID COPY", error_r)) != IMAP_OK)
			return ret;
		struct mailimap_set *set = make_set(uids + off, cnt);
		guard_default(im);
		int r = im->has_move ? mailimap_uid_move(im->mi, set, folder) :
		    mailimap_uid_copy(im->mi, set, folder);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, im->has_move ? "UID MOVE" : "UID COPY", error_r);
		if (!im->has_move) {
			ret = store_flags(im, uids + off, cnt, true, false, false, error_r);
			if (ret == IMAP_OK)
				ret = expunge(im, uids + off, cnt, error_r);
			if (ret != IMAP_OK)
				return ret;
		}
	}
	return IMAP_OK;
}

int
imap_delete(struct imap *im, const uint32_t *uids, size_t n, char **error_r)
{
	int ret = store_flags(im, uids, n, true, false, false, error_r);
	return ret == IMAP_OK ? expunge(im, uids, n, error_r) : ret;
}

int
imap_mark_done(struct imap *im, const uint32_t *uids, size_t n, bool seen, char **error_r)
{
	if (!seen && !im->keywords_ok)
		return IMAP_OK;	/* nothing to store: the mail will be read again, as a duplicate */
	return store_flags(im, uids, n, false, seen, im->keywords_ok, error_r);
}
