/* Lazy parsers of SIP header values (RFC 3261 §7.3.1, §19.1, §20, §25.1):
 * comma-separated lists, parameters, SIP URIs, name-addr / addr-spec, Via,
 * CSeq, numbers.  No allocation, no I/O; every read is bounded by the view
 * length.  Values may contain the CRLF of folded lines, which count as LWS.
 */
#include "sip/msg.h"

#include <errno.h>
#include <string.h>

#include "sip/msg_int.h"

/* ---- lists ---- */

bool wims_sip_list_next(struct wims_str list, size_t *pos, struct wims_str *value)
{
	const char *p = list.p, *gt;
	size_t n = list.l, i = *pos, s;

	if (!p)
		return false;
	for (;;) {
		while (i < n && (wims_sip__is_lws(p[i]) || p[i] == ','))
			i++;
		if (i >= n) {
			*pos = n;
			return false;
		}
		s = i;
		while (i < n && p[i] != ',') {
			if (p[i] == '"') {
				if (!wims_sip__skip_quoted(p, n, &i))
					i = n;
				continue;
			}
			if (p[i] == '<') {
				gt = memchr(p + i, '>', n - i);
				i = gt ? (size_t)(gt - p) + 1 : n;
				continue;
			}
			i++;
		}
		*pos = i;
		*value = wims_sip__trim_lws(wims_str_make(p + s, i - s));
		if (value->l)
			return true;
	}
}

void wims_sip_vals_init(struct wims_sip_vals *it, const struct wims_sip_msg *m, enum wims_sip_hdr_id id)
{
	it->m = m;
	it->id = id;
	it->hdr = wims_sip_msg_hdr(m, id);
	it->pos = 0;
	it->value = WIMS_STR_NULL;
}

bool wims_sip_vals_next(struct wims_sip_vals *it)
{
	while (it->hdr) {
		if (wims_sip_list_next(it->hdr->value, &it->pos, &it->value))
			return true;
		it->hdr = wims_sip_msg_hdr_next(it->m, it->hdr);
		it->pos = 0;
	}
	it->value = WIMS_STR_NULL;
	return false;
}

/* ---- parameters ---- */

bool wims_sip_param_next(struct wims_str params, size_t *pos, struct wims_str *name, struct wims_str *value)
{
	const char *p = params.p;
	size_t n = params.l, i = *pos, s, start;

	if (!p)
		return false;
	wims_sip__skip_lws(p, n, &i);
	if (i >= n) {
		*pos = n;
		return false;
	}
	s = start = i;
	/* SEMI = SWS ";" SWS; the leading ';' may be left out at the start. */
	if (p[i] == ';') {
		i++;
		wims_sip__skip_lws(p, n, &i);
	} else if (*pos != 0) {
		*pos = s;
		return false;
	}
	if (i >= n || !wims_sip__is(p[i], WIMS_SIP__C_TOKEN)) {
		*pos = s; /* an empty parameter or junk: not at the end */
		return false;
	}
	s = i;
	while (i < n && wims_sip__is(p[i], WIMS_SIP__C_TOKEN))
		i++;
	*name = wims_str_make(p + s, i - s);
	*value = wims_str_make(p + i, 0);
	s = i;
	wims_sip__skip_lws(p, n, &s);
	if (s < n && p[s] == '=') {
		s++;
		wims_sip__skip_lws(p, n, &s);
		i = s;
		if (i < n && p[i] == '"') {
			if (!wims_sip__skip_quoted(p, n, &i)) {
				*pos = start;
				return false;
			}
		} else {
			while (i < n && p[i] != ';' && p[i] != ',' && !wims_sip__is_lws(p[i]))
				i++;
		}
		*value = wims_str_make(p + s, i - s);
	}
	*pos = i;
	return true;
}

bool wims_sip_params_valid(struct wims_str params)
{
	struct wims_str n, v;
	size_t pos = 0;

	while (wims_sip_param_next(params, &pos, &n, &v))
		;
	if (params.p)
		wims_sip__skip_lws(params.p, params.l, &pos);
	return pos == params.l;
}

bool wims_sip_param_get(struct wims_str params, const char *name, struct wims_str *value)
{
	struct wims_str n, v;
	size_t pos = 0;

	while (wims_sip_param_next(params, &pos, &n, &v)) {
		if (wims_str_eqic(n, name)) {
			if (value)
				*value = v;
			return true;
		}
	}
	return false;
}

struct wims_str wims_sip_unquote(struct wims_str s)
{
	if (s.l >= 2 && s.p[0] == '"' && s.p[s.l - 1] == '"')
		return wims_str_make(s.p + 1, s.l - 2);
	return s;
}

/* ---- URIs ---- */

bool wims_sip__scan_host(const char *p, size_t n, size_t *i)
{
	size_t j = *i, s;
	bool colon = false;

	if (j < n && p[j] == '[') {
		s = ++j;
		while (j < n && (wims_sip__is(p[j], WIMS_SIP__C_ALNUM) || p[j] == ':' || p[j] == '.')) {
			char c = (char)(p[j] | 0x20);
			if (c > 'f' && c <= 'z')
				return false;
			colon |= p[j] == ':';
			j++;
		}
		if (j == s || j >= n || p[j] != ']' || !colon)
			return false;
		*i = j + 1;
		return true;
	}
	s = j;
	while (j < n && wims_sip__is(p[j], WIMS_SIP__C_HOST))
		j++;
	if (j == s)
		return false;
	*i = j;
	return true;
}

static int scan_port(const char *p, size_t n, size_t *i, uint16_t *port)
{
	size_t s = *i;
	uint64_t v;

	while (*i < n && p[*i] >= '0' && p[*i] <= '9')
		(*i)++;
	if (*i - s > 5 || wims_sip__uint(wims_str_make(p + s, *i - s), 65535, &v) != 0 || v == 0)
		return -EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

static bool all_uric(const char *p, size_t l)
{
	for (size_t i = 0; i < l; i++)
		if (!wims_sip__is(p[i], WIMS_SIP__C_URIC))
			return false;
	return true;
}

/* sip:/sips: userinfo: the first character outside the userinfo set decides
 * whether there is one ('@' cannot appear unescaped in host, params or
 * headers, RFC 3261 §25.1), which also accepts ';' in the user part
 * (telephone-subscriber, RFC 4475 §3.1.1.9). */
static int uri_userinfo(struct wims_sip_uri *u, const char *p, size_t n, size_t *i)
{
	size_t j = *i;
	const char *c;

	while (j < n && wims_sip__is(p[j], WIMS_SIP__C_USER))
		j++;
	if (j >= n || p[j] != '@')
		return 0;
	c = memchr(p + *i, ':', j - *i);
	u->user = wims_str_make(p + *i, c ? (size_t)(c - (p + *i)) : j - *i);
	if (c)
		u->password = wims_str_make(c + 1, (size_t)(p + j - (c + 1)));
	if (u->user.l == 0)
		return -EBADMSG;
	*i = j + 1;
	return 0;
}

int wims_sip_uri_parse(struct wims_sip_uri *u, struct wims_str s)
{
	const char *p = s.p;
	size_t n = s.l, i = 0, hs, ps;

	memset(u, 0, sizeof(*u));
	u->raw = s;
	if (!p || n == 0 || !((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z'))
		return -EBADMSG;
	while (i < n && wims_sip__is(p[i], WIMS_SIP__C_SCHEME))
		i++;
	if (i >= n || p[i] != ':')
		return -EBADMSG;
	u->scheme = wims_str_make(p, i++);
	if (!wims_str_eqic(u->scheme, "sip") && !wims_str_eqic(u->scheme, "sips"))
		return i < n && all_uric(p + i, n - i) ? 0 : -EBADMSG;
	if (uri_userinfo(u, p, n, &i) != 0)
		return -EBADMSG;
	hs = i;
	if (!wims_sip__scan_host(p, n, &i))
		return -EBADMSG;
	u->host = wims_str_make(p + hs, i - hs);
	if (i < n && p[i] == ':') {
		i++;
		if (scan_port(p, n, &i, &u->port) != 0)
			return -EBADMSG;
	}
	u->hostport = wims_str_make(p + hs, i - hs);
	if (i < n && p[i] == ';') {
		const char *q = memchr(p + i, '?', n - i);
		ps = i;
		i = q ? (size_t)(q - p) : n;
		u->params = wims_str_make(p + ps, i - ps);
	}
	if (i < n && p[i] == '?') {
		u->headers = wims_str_make(p + i + 1, n - i - 1);
		i = n;
	}
	if (i != n || !all_uric(u->params.p, u->params.l) || !all_uric(u->headers.p, u->headers.l))
		return -EBADMSG;
	return 0;
}

/* ---- name-addr / addr-spec (RFC 3261 §20.10, §25.1) ---- */

static bool uri_shape_ok(struct wims_str u)
{
	size_t i = 0;

	if (u.l == 0 || !((u.p[0] | 0x20) >= 'a' && (u.p[0] | 0x20) <= 'z'))
		return false;
	while (i < u.l && wims_sip__is(u.p[i], WIMS_SIP__C_SCHEME))
		i++;
	if (i >= u.l || u.p[i] != ':')
		return false;
	return all_uric(u.p, u.l);
}

static int addr_spec(struct wims_sip_addr *a, const char *p, size_t n)
{
	size_t j = 0;

	/* "If the URI is not enclosed in angle brackets, any semicolon-delimited
	 * parameters are header-parameters, not URI parameters." */
	while (j < n && p[j] != ';' && !wims_sip__is_lws(p[j]))
		j++;
	a->uri = wims_str_make(p, j);
	wims_sip__skip_lws(p, n, &j);
	if (j < n && p[j] != ';')
		return -EBADMSG;
	a->params = wims_str_make(p + j, n - j);
	return uri_shape_ok(a->uri) ? 0 : -EBADMSG;
}

int wims_sip_addr_parse(struct wims_sip_addr *a, struct wims_str s)
{
	const char *p, *gt;
	size_t n, i = 0, j = 0;

	memset(a, 0, sizeof(*a));
	s = wims_sip__trim_lws(s);
	p = s.p;
	n = s.l;
	if (!p || n == 0)
		return -EBADMSG;
	if (n == 1 && p[0] == '*') {
		a->star = true;
		a->uri = s;
		return 0;
	}
	if (p[0] == '"') {
		if (!wims_sip__skip_quoted(p, n, &i))
			return -EBADMSG;
		a->display = wims_str_make(p, i);
		wims_sip__skip_lws(p, n, &i);
		if (i >= n || p[i] != '<')
			return -EBADMSG;
	} else {
		while (j < n && (wims_sip__is(p[j], WIMS_SIP__C_TOKEN) || wims_sip__is_lws(p[j])))
			j++;
		if (j >= n || p[j] != '<')
			return addr_spec(a, p, n);
		a->display = wims_sip__trim_lws(wims_str_make(p, j));
		i = j;
	}
	gt = memchr(p + i, '>', n - i);
	if (!gt)
		return -EBADMSG;
	a->angle = true;
	a->uri = wims_str_make(p + i + 1, (size_t)(gt - (p + i + 1)));
	if (!uri_shape_ok(a->uri))
		return -EBADMSG;
	i = (size_t)(gt - p) + 1;
	wims_sip__skip_lws(p, n, &i);
	if (i < n && p[i] != ';')
		return -EBADMSG;
	a->params = wims_str_make(p + i, n - i);
	return 0;
}

/* ---- Via (RFC 3261 §20.42) ---- */

static bool expect(const char *p, size_t n, size_t *i, const char *lit)
{
	size_t l = strlen(lit);

	wims_sip__skip_lws(p, n, i);
	if (n - *i < l || strncasecmp(p + *i, lit, l) != 0)
		return false;
	*i += l;
	wims_sip__skip_lws(p, n, i);
	return true;
}

static int via_params(struct wims_sip_via *v)
{
	struct wims_str name, val;
	size_t pos = 0;

	while (wims_sip_param_next(v->params, &pos, &name, &val)) {
		if (wims_str_eqic(name, "branch")) {
			v->branch = val;
		} else if (wims_str_eqic(name, "received")) {
			v->received = val;
		} else if (wims_str_eqic(name, "rport")) {
			v->rport = true;
			v->rport_value = val;
		}
	}
	/* Whatever stopped the scan must be the end: a ',' means the caller
	 * passed a whole Via line rather than one value, ";;" an empty
	 * parameter (RFC 4475 §3.1.2.1). */
	if (v->params.p)
		wims_sip__skip_lws(v->params.p, v->params.l, &pos);
	return pos == v->params.l ? 0 : -EBADMSG;
}

int wims_sip_via_parse(struct wims_sip_via *v, struct wims_str s)
{
	const char *p;
	size_t n, i = 0, ts, hs, e;

	memset(v, 0, sizeof(*v));
	s = wims_sip__trim_lws(s);
	p = s.p;
	n = s.l;
	if (!p || !expect(p, n, &i, "SIP") || !expect(p, n, &i, "/") || !expect(p, n, &i, "2.0") ||
	    !expect(p, n, &i, "/"))
		return -EBADMSG;
	ts = i;
	while (i < n && wims_sip__is(p[i], WIMS_SIP__C_TOKEN))
		i++;
	if (i == ts || i >= n || !wims_sip__is_lws(p[i]))
		return -EBADMSG;
	v->transport = wims_str_make(p + ts, i - ts);
	wims_sip__skip_lws(p, n, &i);
	hs = i;
	if (!wims_sip__scan_host(p, n, &i))
		return -EBADMSG;
	v->host = wims_str_make(p + hs, i - hs);
	e = i;
	wims_sip__skip_lws(p, n, &e);
	if (e < n && p[e] == ':') {
		i = e + 1;
		wims_sip__skip_lws(p, n, &i);
		if (scan_port(p, n, &i, &v->port) != 0)
			return -EBADMSG;
	}
	v->sent_by = wims_str_make(p + hs, i - hs);
	wims_sip__skip_lws(p, n, &i);
	if (i < n && p[i] != ';')
		return -EBADMSG;
	v->params = wims_str_make(p + i, n - i);
	return via_params(v);
}

/* ---- CSeq (RFC 3261 §20.16), numbers ---- */

int wims_sip_cseq_parse(struct wims_sip_cseq *c, struct wims_str s)
{
	const char *p;
	size_t n, i = 0, ms;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	s = wims_sip__trim_lws(s);
	p = s.p;
	n = s.l;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	/* §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit
	 * unsigned integer and MUST be less than 2**31." */
	if (i == 0 || i > 10 || wims_sip__uint(wims_str_make(p, i), 0x7fffffffu, &v) != 0)
		return -EBADMSG;
	if (i >= n || !wims_sip__is_lws(p[i]))
		return -EBADMSG;
	wims_sip__skip_lws(p, n, &i);
	ms = i;
	while (i < n && wims_sip__is(p[i], WIMS_SIP__C_TOKEN))
		i++;
	if (i == ms || i != n)
		return -EBADMSG;
	c->num = (uint32_t)v;
	c->method = wims_str_make(p + ms, i - ms);
	c->method_id = wims_sip_method_from_str(c->method);
	return 0;
}

int wims_sip_uint_parse(struct wims_str s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	s = wims_sip__trim_lws(s);
	if (!s.p || wims_sip__uint(s, max, &v) != 0)
		return -EBADMSG;
	*out = (uint32_t)v;
	return 0;
}

/* ---- message helpers ---- */

struct wims_str wims_sip_msg_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id from_or_to)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, from_or_to);
	struct wims_sip_addr a;
	struct wims_str tag;

	if (!h || wims_sip_addr_parse(&a, h->value) != 0 || !wims_sip_param_get(a.params, "tag", &tag))
		return WIMS_STR_NULL;
	return tag;
}

int wims_sip_msg_top_via(const struct wims_sip_msg *m, struct wims_sip_via *v)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_VIA);
	struct wims_str val;
	size_t pos = 0;

	if (!h || !wims_sip_list_next(h->value, &pos, &val)) {
		memset(v, 0, sizeof(*v));
		return -EBADMSG;
	}
	return wims_sip_via_parse(v, val);
}
