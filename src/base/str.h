/* String views: every parsed field is a pointer and a length into the
 * buffer it came from (libre's struct pl, h2o's h2o_iovec_t). */
#ifndef WIMS_BASE_STR_H
#define WIMS_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct wims_str {
	const char *p;
	size_t l;
};

#define WIMS_STR_NULL ((struct wims_str){NULL, 0})

/** A view of a NUL-terminated C string. */
static inline struct wims_str wims_str_c(const char *s)
{
	return (struct wims_str){s, s ? strlen(s) : 0};
}

static inline struct wims_str wims_str_make(const char *p, size_t l)
{
	return (struct wims_str){p, l};
}

static inline bool wims_str_isset(struct wims_str s)
{
	return s.p != NULL;
}

static inline bool wims_str_eq(struct wims_str a, struct wims_str b)
{
	return a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0);
}

static inline bool wims_str_eqi(struct wims_str a, struct wims_str b)
{
	return a.l == b.l && (a.l == 0 || strncasecmp(a.p, b.p, a.l) == 0);
}

static inline bool wims_str_eqc(struct wims_str a, const char *c)
{
	return wims_str_eq(a, wims_str_c(c));
}

static inline bool wims_str_eqic(struct wims_str a, const char *c)
{
	return wims_str_eqi(a, wims_str_c(c));
}

/** Trim spaces and tabs from both ends. */
struct wims_str wims_str_trim(struct wims_str s);

/** Case-insensitive search of needle in s; returns offset or -1. */
long wims_str_findi(struct wims_str s, struct wims_str needle);

/** Parse an unsigned decimal number that fills all of s.  0 or -EINVAL/-ERANGE. */
int wims_str_to_u64(struct wims_str s, unsigned long long max, unsigned long long *out)
	__attribute__((warn_unused_result));

/** Copy s into dst (size cap) NUL-terminated; returns -ENOSPC when it does not fit. */
int wims_str_copy(char *dst, size_t cap, struct wims_str s) __attribute__((warn_unused_result));

#endif
