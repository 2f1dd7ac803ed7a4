/* A bounded output writer over caller memory: appends never overflow; once
 * something did not fit, `err` stays set and the result must be discarded. */
#ifndef WIMS_BASE_BUF_H
#define WIMS_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"

struct wims_wbuf {
	char *p;
	size_t len;
	size_t cap;
	bool err;
};

static inline void wims_wbuf_init(struct wims_wbuf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->err = false;
}

void wims_wbuf_put(struct wims_wbuf *b, const void *data, size_t len);
void wims_wbuf_puts(struct wims_wbuf *b, const char *s);
void wims_wbuf_putstr(struct wims_wbuf *b, struct wims_str s);
void wims_wbuf_printf(struct wims_wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline struct wims_str wims_wbuf_str(const struct wims_wbuf *b)
{
	return wims_str_make(b->p, b->len);
}

#endif
