/* HTTP/1.1 request head parser (RFC 7230 §3).
 *
 *   request-line = method SP request-target SP "HTTP/1." DIGIT CRLF
 *   *( field-name ":" OWS field-value OWS CRLF )
 *   CRLF
 *
 * Written by hand rather than on libhttp-parser: http-parser hands header
 * names and values out in pieces split at read boundaries, so a caller has to
 * copy and glue them anyway, its head limit is a compile-time 80 KiB, and it
 * has no "incomplete" result to resume from.  The only HTTP this listener
 * takes is a bounded GET/HEAD head, so a picohttpparser-style parser over the
 * whole (≤ 8 KiB) buffer is shorter, zero-copy, and resumes by parsing again
 * when more bytes arrive.  Lines may end in CRLF or a bare LF (§3.5);
 * obs-fold is refused (§3.2.4 allows that).
 */
#include "http/http.h"

#include <errno.h>

static bool is_tchar(unsigned char c)
{
	/* RFC 7230 §3.2.6 tchar */
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* One line [p, end-of-line) from [p, e); *next after its LF.  false: no LF yet. */
static bool next_line(const char *p, const char *e, struct wims_str *line, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(e - p));

	if (!lf)
		return false;
	*next = lf + 1;
	if (lf > p && lf[-1] == '\r')
		lf--;
	*line = wims_str_make(p, (size_t)(lf - p));
	return true;
}

static int bad(struct wims_http_req *r, const char *why)
{
	r->err = why;
	return -EBADMSG;
}

static int parse_request_line(struct wims_http_req *r, struct wims_str l)
{
	size_t i = 0, s;

	while (i < l.l && is_tchar((unsigned char)l.p[i]))
		i++;
	if (i == 0 || i >= l.l || l.p[i] != ' ')
		return bad(r, "bad request method");
	r->method = wims_str_make(l.p, i);
	s = ++i;
	while (i < l.l && is_vchar((unsigned char)l.p[i]))
		i++;
	if (i == s || i >= l.l || l.p[i] != ' ')
		return bad(r, "bad request target");
	r->target = wims_str_make(l.p + s, i - s);
	r->path = r->target;
	const char *q = memchr(r->target.p, '?', r->target.l);
	if (q)
		r->path.l = (size_t)(q - r->target.p);
	i++;
	if (l.l - i != 8 || memcmp(l.p + i, "HTTP/1.", 7) != 0 || l.p[i + 7] < '0' || l.p[i + 7] > '9')
		return bad(r, "bad HTTP version");
	r->minor = (unsigned)(l.p[i + 7] - '0');
	return 0;
}

static void remember(struct wims_str *slot, struct wims_str v)
{
	if (!wims_str_isset(*slot))
		*slot = v;
}

static void index_header(struct wims_http_req *r, const struct wims_http_header *h)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
	    {"host", offsetof(struct wims_http_req, host)},
	    {"upgrade", offsetof(struct wims_http_req, upgrade)},
	    {"connection", offsetof(struct wims_http_req, connection)},
	    {"sec-websocket-key", offsetof(struct wims_http_req, ws_key)},
	    {"sec-websocket-version", offsetof(struct wims_http_req, ws_version)},
	    {"sec-websocket-protocol", offsetof(struct wims_http_req, ws_protocol)},
	    {"origin", offsetof(struct wims_http_req, origin)},
	    {"cookie", offsetof(struct wims_http_req, cookie)},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (wims_str_eqic(h->name, known[i].name)) {
			remember((struct wims_str *)(void *)((char *)r + known[i].off), h->value);
			return;
		}
	}
}

static int parse_header_line(struct wims_http_req *r, struct wims_str l)
{
	struct wims_http_header *h;
	size_t i = 0;

	if (l.p[0] == ' ' || l.p[0] == '\t')
		return bad(r, "obsolete header line folding");
	while (i < l.l && is_tchar((unsigned char)l.p[i]))
		i++;
	if (i == 0 || i >= l.l || l.p[i] != ':')
		return bad(r, "bad header name");
	for (size_t j = i + 1; j < l.l; j++) {
		unsigned char c = (unsigned char)l.p[j];
		if (c < 0x20 && c != '\t')
			return bad(r, "control character in header value");
		if (c == 0x7f)
			return bad(r, "control character in header value");
	}
	if (r->nheaders >= WIMS_HTTP_MAX_HEADERS) {
		r->err = "too many header lines";
		return -EMSGSIZE;
	}
	h = &r->h[r->nheaders++];
	h->name = wims_str_make(l.p, i);
	h->value = wims_str_trim(wims_str_make(l.p + i + 1, l.l - i - 1));
	index_header(r, h);
	return 0;
}

int wims_http_parse_req(struct wims_http_req *r, const char *buf, size_t len)
{
	const char *p = buf, *e = buf + (len > WIMS_HTTP_MAX_HEAD ? WIMS_HTTP_MAX_HEAD : len);
	struct wims_str l;
	int err;

	memset(r, 0, offsetof(struct wims_http_req, h));
	r->err = NULL;
	/* RFC 7230 §3.5: ignore at least one empty line before the request-line. */
	if (p < e && p[0] == '\n')
		p++;
	else if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	if (!next_line(p, e, &l, &p))
		goto more;
	if ((err = parse_request_line(r, l)) != 0)
		return err;
	for (;;) {
		if (!next_line(p, e, &l, &p))
			goto more;
		if (l.l == 0)
			break;
		if ((err = parse_header_line(r, l)) != 0)
			return err;
	}
	r->head_len = (size_t)(p - buf);
	return (int)r->head_len;
more:
	if (len >= WIMS_HTTP_MAX_HEAD) {
		r->err = "request head too large";
		return -EMSGSIZE;
	}
	return -EAGAIN;
}

struct wims_str wims_http_header_get(const struct wims_http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (wims_str_eqic(r->h[i].name, name))
			return r->h[i].value;
	return WIMS_STR_NULL;
}

size_t wims_http_header_count(const struct wims_http_req *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nheaders; i++)
		n += wims_str_eqic(r->h[i].name, name);
	return n;
}

bool wims_http_list_has(struct wims_str list, struct wims_str token)
{
	size_t i = 0;

	while (i < list.l) {
		size_t s = i;
		while (i < list.l && list.p[i] != ',')
			i++;
		if (wims_str_eqi(wims_str_trim(wims_str_make(list.p + s, i - s)), token))
			return true;
		i++;
	}
	return false;
}

bool wims_http_has_token(const struct wims_http_req *r, const char *name, const char *token)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (wims_str_eqic(r->h[i].name, name) && wims_http_list_has(r->h[i].value, wims_str_c(token)))
			return true;
	return false;
}
