#include "base/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

int wims_addr_parse(struct wims_addr *a, struct wims_str s, uint16_t defport)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct wims_str h = s, port = WIMS_STR_NULL;
	unsigned long long p = defport;

	memset(a, 0, sizeof(*a));
	s = wims_str_trim(s);
	if (s.l && s.p[0] == '[') {
		const char *e = memchr(s.p, ']', s.l);
		if (!e)
			return -EINVAL;
		h = wims_str_make(s.p + 1, (size_t)(e - s.p - 1));
		size_t rest = s.l - (size_t)(e - s.p) - 1;
		if (rest) {
			if (e[1] != ':')
				return -EINVAL;
			port = wims_str_make(e + 2, rest - 1);
		}
	} else {
		const char *c = s.l ? memchr(s.p, ':', s.l) : NULL; /* s.p may be NULL when empty */
		if (c) {
			h = wims_str_make(s.p, (size_t)(c - s.p));
			port = wims_str_make(c + 1, s.l - (size_t)(c - s.p) - 1);
		} else {
			h = s;
		}
	}
	if (wims_str_isset(port) && (wims_str_to_u64(port, 65535, &p) || p == 0))
		return -EINVAL;
	if (wims_str_copy(host, sizeof(host), h))
		return -EINVAL;
	if (inet_pton(AF_INET, host, &a->u.in.sin_addr) == 1) {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) == 1) {
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons((uint16_t)p);
		return 0;
	}
	return -EINVAL;
}

int wims_addr_from_sa(struct wims_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET)
		memcpy(&a->u.in, sa, sizeof(a->u.in));
	else if (sa->sa_family == AF_INET6)
		memcpy(&a->u.in6, sa, sizeof(a->u.in6));
	else
		return -EAFNOSUPPORT;
	return 0;
}

uint16_t wims_addr_port(const struct wims_addr *a)
{
	return ntohs(a->u.sa.sa_family == AF_INET6 ? a->u.in6.sin6_port : a->u.in.sin_port);
}

void wims_addr_set_port(struct wims_addr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
	else
		a->u.in.sin_port = htons(port);
}

socklen_t wims_addr_len(const struct wims_addr *a)
{
	return a->u.sa.sa_family == AF_INET6 ? sizeof(a->u.in6) : sizeof(a->u.in);
}

bool wims_addr_same_host(const struct wims_addr *a, const struct wims_addr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	if (a->u.sa.sa_family == AF_INET6)
		return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
	return false;
}

bool wims_addr_eq(const struct wims_addr *a, const struct wims_addr *b)
{
	return wims_addr_same_host(a, b) && wims_addr_port(a) == wims_addr_port(b);
}

int wims_addr_host(const struct wims_addr *a, char *buf, size_t cap, bool brackets)
{
	char h[INET6_ADDRSTRLEN];
	int n;

	if (a->u.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, h, sizeof(h));
		n = snprintf(buf, cap, brackets ? "[%s]" : "%s", h);
	} else if (a->u.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->u.in.sin_addr, h, sizeof(h));
		n = snprintf(buf, cap, "%s", h);
	} else {
		n = snprintf(buf, cap, "?");
	}
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}

int wims_addr_str(const struct wims_addr *a, char *buf, size_t cap)
{
	char h[INET6_ADDRSTRLEN + 2];
	int n;

	if (wims_addr_host(a, h, sizeof(h), true))
		return -ENOSPC;
	n = snprintf(buf, cap, "%s:%u", h, wims_addr_port(a));
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}
