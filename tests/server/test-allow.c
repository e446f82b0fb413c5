/* The allow list as tables: what parses (and the error for what does not), and which clients
 * each list lets in, whatever the spelling of the entry or the family of the socket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"

static const struct {
	const char *text;
	const char *error;	/* NULL: parses */
} parses[] = {
	{ "", NULL },
	{ " , ,", NULL },
	{ "192.0.2.1", NULL },
	{ "192.0.2.1, 192.0.2.2\t198.51.100.0/24", NULL },
	{ "2001:db8::1,2001:db8::/32", NULL },
	{ "10.0.0.0/0", NULL },
	{ "::/0", NULL },
	{ "192.0.2.1/33", "'192.0.2.1/33' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
	{ "2001:db8::/129", "'2001:db8::/129' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
	{ "192.0.2.1, mail.example.com", "'mail.example.com' is not an IP address or prefix "
	    "(192.0.2.1, 198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
	{ "192.0.2.1/", "'192.0.2.1/' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
	{ "192.0.2.1/-8", "'192.0.2.1/-8' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
	{ "192.0.2.1/8/8", "'192.0.2.1/8/8' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
	{ "192.0.2", "'192.0.2' is not an IP address or prefix (192.0.2.1, 198.51.100.0/24, "
	    "2001:db8::1, 2001:db8::/32)" },
	{ "[2001:db8::1]", "'[2001:db8::1]' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)" },
};

static const struct {
	const char *allow;
	const char *client;	/* an IPv4 client on an IPv4 socket, or any on an IPv6 one */
	bool want;
} matches[] = {
	{ "192.0.2.1", "192.0.2.1", true },
	{ "192.0.2.1", "192.0.2.2", false },
	{ "192.0.2.1, 192.0.2.2", "192.0.2.2", true },
	{ "", "192.0.2.1", false },
	/* Another spelling of the same IPv6 address. */
	{ "2001:db8::0:1", "2001:db8::1", true },
	{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1", true },
	{ "2001:db8::1", "2001:db8::2", false },
	/* Prefixes. */
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "10.1.2.3/8", "10.9.9.9", true },		/* host bits past the prefix ignored */
	{ "198.51.100.0/25", "198.51.100.127", true },
	{ "198.51.100.0/25", "198.51.100.128", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },		/* IPv4's everything is not IPv6's */
	{ "::/0", "2001:db8::1", true },
	/* An IPv4 client seen on an IPv6 socket matches an IPv4 entry, and the other way. */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.1.2.3", "::ffff:10.1.2.3", true },
	{ "10.1.2.3", "::ffff:10.1.2.4", false },
	{ "::ffff:10.1.2.3", "10.1.2.3", true },
	/* An IPv4-compatible (not mapped) address is another address. */
	{ "10.1.2.3", "::10.1.2.3", false },
};

static const struct {
	const char *client;
	bool want;
} loopbacks[] = {
	{ "127.0.0.1", true }, { "127.255.0.9", true }, { "::1", true },
	{ "::ffff:127.0.0.1", true }, { "128.0.0.1", false }, { "::2", false },
	{ "::ffff:10.0.0.1", false }, { "10.0.0.1", false },
};

/* The client as the kernel hands it over: sockaddr_in for a dotted quad, else sockaddr_in6. */
static bool
client(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return true;
	}
	s6->sin6_family = AF_INET6;
	return inet_pton(AF_INET6, text, &s6->sin6_addr) == 1;
}

int
main(void)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof parses / sizeof parses[0]; i++) {
		struct allow_list *l = NULL;
		char *error = NULL;
		int r = allow_list_parse(parses[i].text, &l, &error);
		const char *want = parses[i].error;
		if ((r == 0) != (want == NULL) || (want != NULL && strcmp(error, want) != 0)) {
			printf("FAIL parse '%s': %s, want %s\n", parses[i].text,
			    r == 0 ? "parsed" : error, want != NULL ? want : "parsed");
			failures++;
		}
		free(error);
		allow_list_free(l);
	}
	for (size_t i = 0; i < sizeof matches / sizeof matches[0]; i++) {
		struct allow_list *l = NULL;
		char *error = NULL;
		struct sockaddr_storage ss;
		if (allow_list_parse(matches[i].allow, &l, &error) != 0 ||
		    !client(matches[i].client, &ss)) {
			printf("FAIL '%s' / '%s': the row does not parse (%s)\n", matches[i].allow,
			    matches[i].client, error != NULL ? error : "client");
			failures++;
		} else if (allow_list_match(l, (struct sockaddr *)&ss) != matches[i].want) {
			printf("FAIL allow '%s': client %s %s\n", matches[i].allow, matches[i].client,
			    matches[i].want ? "refused" : "let in");
			failures++;
		}
		free(error);
		allow_list_free(l);
	}
	for (size_t i = 0; i < sizeof loopbacks / sizeof loopbacks[0]; i++) {
		struct sockaddr_storage ss;
		if (!client(loopbacks[i].client, &ss) ||
		    allow_is_loopback((struct sockaddr *)&ss) != loopbacks[i].want) {
			printf("FAIL loopback %s: want %d\n", loopbacks[i].client, loopbacks[i].want);
			failures++;
		}
	}
	printf("%zu rows, %d failures\n", sizeof parses / sizeof parses[0] +
	    sizeof matches / sizeof matches[0] + sizeof loopbacks / sizeof loopbacks[0], failures);
	return failures != 0;
}
