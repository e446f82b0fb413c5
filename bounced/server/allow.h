/* The client allow list of a TCP listener ([lmtp] allow): IPv4 and IPv6 addresses and CIDR
 * prefixes, parsed with inet_pton at load and compared as bits, so every spelling of an address
 * matches ("2001:db8::0:1" is "2001:db8::1"), and an IPv4 client seen on an IPv6 socket as
 * ::ffff:a.b.c.d matches an IPv4 entry. Pure: no I/O. */
#ifndef BOUNCED_ALLOW_H
#define BOUNCED_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Entries in one list at most: a list longer than this is a typo or belongs in a firewall. */
#define ALLOW_MAX_ENTRIES	256

struct allow_list;

/* Parses text: entries "ADDRESS" or "ADDRESS/PREFIX" separated by commas and blanks (NULL or
 * blank: an empty list). Returns 0 with *list_r (caller frees with allow_list_free), or -1 with
 * *error_r naming the entry that is wrong (caller frees). */
int allow_list_parse(const char *text, struct allow_list **list_r, char **error_r);
void allow_list_free(struct allow_list *l);	/* NULL-safe */
/* True when l (NULL: empty) has no entry. */
bool allow_list_empty(const struct allow_list *l);

/* Does a client at sa (AF_INET or AF_INET6; anything else never matches) match an entry? */
bool allow_list_match(const struct allow_list *l, const struct sockaddr *sa);

/* Is sa a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104)? */
bool allow_is_loopback(const struct sockaddr *sa);

#endif
