/* Socket addresses: parse "host:port" / "[v6]:port", format, compare. */
#ifndef WIMS_BASE_ADDR_H
#define WIMS_BASE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/str.h"

/* IPv4 or IPv6 only: 28 bytes, not sockaddr_storage's 128 (a connection
 * holds several of these, and wims holds tens of thousands of connections). */
struct wims_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
};

/** Parse a numeric "a.b.c.d[:port]" or "[v6][:port]"; port defaults to defport. */
int wims_addr_parse(struct wims_addr *a, struct wims_str s, uint16_t defport)
	__attribute__((warn_unused_result));
int wims_addr_from_sa(struct wims_addr *a, const struct sockaddr *sa)
	__attribute__((warn_unused_result));
uint16_t wims_addr_port(const struct wims_addr *a);
void wims_addr_set_port(struct wims_addr *a, uint16_t port);
socklen_t wims_addr_len(const struct wims_addr *a);
bool wims_addr_eq(const struct wims_addr *a, const struct wims_addr *b);
/** Host only ("1.2.3.4" or "[::1]" when brackets is true) into buf. */
int wims_addr_host(const struct wims_addr *a, char *buf, size_t cap, bool brackets);
/** "host:port" (IPv6 bracketed) into buf. */
int wims_addr_str(const struct wims_addr *a, char *buf, size_t cap);
/** Same address family and host, ignoring the port. */
bool wims_addr_same_host(const struct wims_addr *a, const struct wims_addr *b);

#define WIMS_ADDR_STRLEN 64

#endif
