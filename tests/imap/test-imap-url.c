/* imap_url_parse: the URLs an operator writes in bounced.conf or on the command line. */
#include <stdbool.h>
#include <stdlib.h>

#include "../core/test.h"
#include "imap.h"

static const struct {
	const char *url;
	bool ok;
	const char *user, *host, *port, *mailbox;
	bool implicit_tls;
} rows[] = {
	{ "imaps://bounces@imap.example.com/INBOX", true,
	  "bounces", "imap.example.com", "993", "INBOX", true },
	{ "imap://bounces@imap.example.com/INBOX", true,
	  "bounces", "imap.example.com", "143", "INBOX", false },
	{ "imaps://bounces@localhost:10993/Bounces", true,
	  "bounces", "localhost", "10993", "Bounces", true },
	{ "imaps://bounces@example.com@imap.example.com/INBOX", true,
	  "bounces@example.com", "imap.example.com", "993", "INBOX", true },
	{ "imaps://bounces%40example.com@imap.example.com/INBOX", true,
	  "bounces@example.com", "imap.example.com", "993", "INBOX", true },
	{ "imaps://u@[::1]:993/INBOX", true, "u", "::1", "993", "INBOX", true },
	{ "imaps://u@host", true, "u", "host", "993", "INBOX", true },
	{ "imaps://u@host/", true, "u", "host", "993", "INBOX", true },
	{ "imaps://u@host/Lists/Bounces%20Archive", true,
	  "u", "host", "993", "Lists/Bounces Archive", true },
	/* refused */
	{ "http://u@host/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://host/INBOX", false, NULL, NULL, NULL, NULL, false },		/* no user */
	{ "imaps://@host/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@/INBOX", false, NULL, NULL, NULL, NULL, false },		/* no host */
	{ "imaps://u@host:/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@host:0/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@host:65536/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@host:99999999/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@host:12a/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@[::1/INBOX", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@host/IN%", false, NULL, NULL, NULL, NULL, false },		/* cut escape */
	{ "imaps://u@host/IN%zz", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u%00x@host/INBOX", false, NULL, NULL, NULL, NULL, false },	/* NUL */
	{ "imaps://u@host/INBOX%0d%0aA1%20LOGOUT", false, NULL, NULL, NULL, NULL, false },
	{ "imaps://u@host/*", false, NULL, NULL, NULL, NULL, false },		/* wildcard */
	{ "imaps://u@host/%25", false, NULL, NULL, NULL, NULL, false },
};

/* imap_mutf7_encode: RFC 3501 5.1.3, with the RFC's own example and names in several scripts
 * (checked against Python's imaplib-style encoder and Dovecot's on-disk names). */
static const struct {
	const char *utf8, *wire;
} mutf7_rows[] = {
	{ "INBOX", "INBOX" },
	{ "Bounces & Complaints", "Bounces &- Complaints" },
	{ "&", "&-" },
	{ "R\xc3\xbc" "ckl\xc3\xa4ufer", "R&APw-ckl&AOQ-ufer" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },			/* RFC 3501's example */
	{ "\xd0\x9e\xd1\x82\xd0\xba\xd0\xb0\xd0\xb7\xd1\x8b", "&BB4EQgQ6BDAENwRL-" },
	{ "\xc3\xa9", "&AOk-" },
	{ "a\xc3\xa9&b", "a&AOk-&-b" },
	{ "\xf0\x9f\x93\xa8", "&2D3c6A-" },			/* outside the BMP: a surrogate pair */
	{ "tab\there", "tab&AAk-here" },			/* controls are encoded too */
	{ "\xc3", NULL },					/* cut short */
	{ "\xff", NULL },
	{ "\xed\xa0\x80", NULL },				/* a lone surrogate in UTF-8 */
};

/* imap_name_is_mutf7: names an operator copied in their encoded form are refused. */
static const struct {
	const char *name;
	bool encoded;
} encoded_rows[] = {
	{ "R&APw-ckl&AOQ-ufer", true },
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-", true },
	{ "&2D3c6A-", true },			/* a surrogate pair */
	{ "R\xc3\xbc" "ckl\xc3\xa4ufer", false },
	{ "R&D-Team", false },			/* one sextet: no UTF-16 unit */
	{ "Bounces &- Complaints", false },	/* "&-" is an encoded '&', but as a name a plain one */
	{ "A&AEE-", false },			/* encodes 'A': printable ASCII is never encoded */
	{ "x&2D0-", false },			/* a high surrogate alone */
	{ "Tom&Jerry", false },			/* no '-' ends it */
	{ "INBOX", false },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof encoded_rows / sizeof encoded_rows[0]; i++)
		CHECK_INT(encoded_rows[i].name, imap_name_is_mutf7(encoded_rows[i].name),
		    encoded_rows[i].encoded);
	for (size_t i = 0; i < sizeof mutf7_rows / sizeof mutf7_rows[0]; i++) {
		char *w = imap_mutf7_encode(mutf7_rows[i].utf8);
		if (mutf7_rows[i].wire == NULL)
			CHECK_INT(mutf7_rows[i].utf8, w == NULL, true);
		else
			CHECK_STR(mutf7_rows[i].utf8, w, mutf7_rows[i].wire);
		free(w);
	}
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct imap_url u = { 0 };
		char *err = NULL;
		int r = imap_url_parse(rows[i].url, &u, &err);
		CHECK_INT(rows[i].url, r == 0, rows[i].ok);
		if (r == 0 && rows[i].ok) {
			CHECK_STR(rows[i].url, u.user, rows[i].user);
			CHECK_STR(rows[i].url, u.host, rows[i].host);
			CHECK_STR(rows[i].url, u.port, rows[i].port);
			CHECK_STR(rows[i].url, u.mailbox, rows[i].mailbox);
			CHECK_INT(rows[i].url, u.implicit_tls, rows[i].implicit_tls);
		}
		if (r != 0)
			CHECK_INT("error message set", err != NULL && err[0] != '\0', 1);
		free(err);
		imap_url_clear(&u);
	}
	/* Over IMAP_URL_MAX. */
	char *big = malloc(IMAP_URL_MAX + 100);
	memcpy(big, "imaps://u@h/", 12);
	memset(big + 12, 'a', IMAP_URL_MAX + 80);
	big[IMAP_URL_MAX + 92] = '\0';
	struct imap_url u = { 0 };
	char *err = NULL;
	CHECK_INT("URL over IMAP_URL_MAX", imap_url_parse(big, &u, &err), -1);
	free(err);
	free(big);
	return TEST_DONE();
}
