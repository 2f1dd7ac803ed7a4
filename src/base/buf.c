#include "base/buf.h"

#include <stdio.h>
#include <string.h>

void wims_wbuf_put(struct wims_wbuf *b, const void *data, size_t len)
{
	if (b->err || len > b->cap - b->len) {
		b->err = true;
		return;
	}
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

void wims_wbuf_puts(struct wims_wbuf *b, const char *s)
{
	wims_wbuf_put(b, s, strlen(s));
}

void wims_wbuf_putstr(struct wims_wbuf *b, struct wims_str s)
{
	wims_wbuf_put(b, s.p, s.l);
}

void wims_wbuf_printf(struct wims_wbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->err = true;
		return;
	}
	b->len += (size_t)n;
}
