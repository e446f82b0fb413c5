/* The allow list (see allow.h). Every entry is kept as 16 bytes of IPv6 and a prefix length in
 * bits: an IPv4 entry a.b.c.d/n is ::ffff:a.b.c.d/(96 + n), which is how the kernel shows an IPv4
 * client on an IPv6 socket, so one comparison serves both families. */
#include "allow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Longest entry text: an IPv6 address in its longest form with a /128. */
#define ALLOW_ENTRY_MAX	(INET6_ADDRSTRLEN + 4)

struct allow_entry {
	uint8_t addr[16];
	unsigned int bits;
};

struct allow_list {
	struct allow_entry e[ALLOW_MAX_ENTRIES];
	size_t n;
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses one entry of len bytes. */
static bool
parse_entry(const char *p, size_t len, struct allow_entry *e)
{
	char buf[ALLOW_ENTRY_MAX + 1];
	if (len == 0 || len > ALLOW_ENTRY_MAX)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	long prefix = -1;
	if (slash != NULL) {
		*slash = '\0';
		const char *d = slash + 1;
		if (*d == '\0' || strlen(d) > 3 || strspn(d, "0123456789") != strlen(d))
			return false;
		prefix = strtol(d, NULL, 10);
	}
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		if (prefix > 32)
			return false;
		memcpy(e->addr, v4mapped, sizeof v4mapped);
		memcpy(e->addr + 12, &a4, 4);
		e->bits = 96 + (unsigned int)(prefix < 0 ? 32 : prefix);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (prefix > 128)
			return false;
		memcpy(e->addr, &a6, 16);
		e->bits = (unsigned int)(prefix < 0 ? 128 : prefix);
	} else {
		return false;
	}
	/* Bits past the prefix are cleared: 10.1.2.3/8 is 10.0.0.0/8. */
	for (unsigned int i = e->bits; i < 128; i++)
		e->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return true;
}

int
allow_list_parse(const char *text, struct allow_list **list_r, char **error_r)
{
	struct allow_list *l = xcalloc(1, sizeof *l);
	const char *p = text != NULL ? text : "";
	for (;;) {
		p += strspn(p, " ,\t");
		if (*p == '\0')
			break;
		size_t len = strcspn(p, " ,\t");
		if (l->n == ALLOW_MAX_ENTRIES) {
			error_set(error_r, "more than %d addresses", ALLOW_MAX_ENTRIES);
			free(l);
			return -1;
		}
		if (!parse_entry(p, len, &l->e[l->n])) {
			error_set(error_r, "'%.*s' is not an IP address or prefix (192.0.2.1, "
			    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)", (int)len, p);
			free(l);
			return -1;
		}
		l->n++;
		p += len;
	}
	*list_r = l;
	return 0;
}

void
allow_list_free(struct allow_list *l)
{
	free(l);
}

bool
allow_list_empty(const struct allow_list *l)
{
	return l == NULL || l->n == 0;
}

/* The client's address as 16 bytes of IPv6 (IPv4 as ::ffff:a.b.c.d); false for other families. */
static bool
as_v6(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, v4mapped, sizeof v4mapped);
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static bool
in_prefix(const uint8_t a[16], const uint8_t net[16], unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[whole] & mask) == net[whole];
}

bool
allow_list_match(const struct allow_list *l, const struct sockaddr *sa)
{
	uint8_t a[16];
	if (l == NULL || !as_v6(sa, a))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (in_prefix(a, l->e[i].addr, l->e[i].bits))
			return true;
	return false;
}

bool
allow_is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v4lo[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 0 };
	uint8_t a[16];
	if (!as_v6(sa, a))
		return false;
	return in_prefix(a, v4lo, 104) || memcmp(a, &in6addr_loopback, 16) == 0;
}
