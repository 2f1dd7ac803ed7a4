/* SDP line parser (RFC 8866 §5).
 *
 *   session-description = version-field origin-field session-name-field
 *                         [information-field] [uri-field] *email-field
 *                         *phone-field [connection-field] *bandwidth-field
 *                         1*time-description [key-field] *attribute-field
 *                         *media-description
 *   media-description   = media-field [information-field] *connection-field
 *                         *bandwidth-field [key-field] *attribute-field
 *   <type>=<value> CRLF        (LF alone is accepted, RFC 8866 §5)
 *
 * Every field is kept as a view into the input.  Order inside a section is
 * not enforced (real stacks get it wrong), but v= must come first and only
 * once, and the session-only lines (o s t r z u e p) must not appear in a
 * media section.  rtpengine #1958 crashed on "v=\nv=0": that is rejected.
 */
#include <errno.h>
#include <string.h>

#include "sdp/sdp.h"
#include "sdp/sdp_int.h"

struct pstate {
	struct wims_sdp *s;
	struct wims_sdp_media *m; /* current media section, NULL at session level */
	bool seen_v, seen_o, seen_s, seen_t;
};

typedef int(line_h)(struct pstate *ps, struct wims_str v);

static int fail(struct pstate *ps, int err, const char *why)
{
	ps->s->err = why;
	return err;
}

bool wims_sdp__tok(struct wims_str *rest, struct wims_str *tok)
{
	size_t i = 0, j;

	while (i < rest->l && (rest->p[i] == ' ' || rest->p[i] == '\t'))
		i++;
	j = i;
	while (j < rest->l && rest->p[j] != ' ' && rest->p[j] != '\t')
		j++;
	if (i == j) {
		*rest = wims_str_make(rest->p + rest->l, 0);
		return false;
	}
	*tok = wims_str_make(rest->p + i, j - i);
	*rest = wims_str_make(rest->p + j, rest->l - j);
	return true;
}

bool wims_sdp__num(struct wims_str s, uint32_t max, uint32_t *out)
{
	unsigned long long v;

	if (wims_str_to_u64(s, max, &v) != 0)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Nothing but spaces/tabs left. */
static bool rest_empty(struct wims_str rest)
{
	return wims_str_trim(rest).l == 0;
}

static int on_v(struct pstate *ps, struct wims_str v)
{
	if (ps->seen_v)
		return fail(ps, -EBADMSG, "duplicate v= line");
	ps->seen_v = true;
	if (!wims_str_eqc(v, "0"))
		return fail(ps, -EBADMSG, "v= is not 0");
	ps->s->version = 0;
	return 0;
}

static int on_o(struct pstate *ps, struct wims_str v)
{
	struct wims_sdp_origin *o = &ps->s->o;

	if (ps->seen_o)
		return fail(ps, -EBADMSG, "duplicate o= line");
	ps->seen_o = true;
	if (!wims_sdp__tok(&v, &o->username) || !wims_sdp__tok(&v, &o->sess_id) ||
	    !wims_sdp__tok(&v, &o->sess_version) || !wims_sdp__tok(&v, &o->nettype) ||
	    !wims_sdp__tok(&v, &o->addrtype) || !wims_sdp__tok(&v, &o->addr) || !rest_empty(v))
		return fail(ps, -EBADMSG, "o= line without 6 fields");
	return 0;
}

static int on_s(struct pstate *ps, struct wims_str v)
{
	if (ps->seen_s)
		return fail(ps, -EBADMSG, "duplicate s= line");
	ps->seen_s = true;
	ps->s->name = v;
	return 0;
}

static int on_i(struct pstate *ps, struct wims_str v)
{
	struct wims_str *i = ps->m ? &ps->m->info : &ps->s->info;

	if (i->p)
		return fail(ps, -EBADMSG, "duplicate i= line");
	*i = v;
	return 0;
}

/* Lines kept by nobody (u= e= p= z= k= r=, unknown letters): RFC 8866 §5
 * lets a parser ignore a type letter it does not understand. */
static int on_ignore(struct pstate *ps, struct wims_str v)
{
	return 0;
}

static int on_c(struct pstate *ps, struct wims_str v)
{
	struct wims_sdp_conn *c = ps->m ? &ps->m->c : &ps->s->c;
	struct wims_str a;
	const char *slash;

	if (c->addr.p)
		return fail(ps, -EBADMSG, "duplicate c= line");
	if (!wims_sdp__tok(&v, &c->nettype) || !wims_sdp__tok(&v, &c->addrtype) || !wims_sdp__tok(&v, &a) ||
	    !rest_empty(v)) {
		*c = (struct wims_sdp_conn){0};
		return fail(ps, -EBADMSG, "c= line without 3 fields");
	}
	slash = memchr(a.p, '/', a.l);
	if (slash) {
		c->ttl = wims_str_make(slash + 1, a.l - (size_t)(slash + 1 - a.p));
		a.l = (size_t)(slash - a.p);
	}
	if (a.l == 0) {
		*c = (struct wims_sdp_conn){0};
		return fail(ps, -EBADMSG, "c= line with empty address");
	}
	c->addr = a;
	return 0;
}

static int on_b(struct pstate *ps, struct wims_str v)
{
	struct wims_sdp_bw *bw = ps->m ? ps->m->bw : ps->s->bw;
	unsigned *n = ps->m ? &ps->m->n_bw : &ps->s->n_bw;
	const char *colon = memchr(v.p, ':', v.l);
	struct wims_sdp_bw x;

	if (!colon || colon == v.p)
		return fail(ps, -EBADMSG, "b= line without type:value");
	x.type = wims_str_make(v.p, (size_t)(colon - v.p));
	if (!wims_sdp__num(wims_str_make(colon + 1, v.l - x.type.l - 1), UINT32_MAX, &x.value))
		return fail(ps, -EBADMSG, "b= value is not a number");
	if (*n >= WIMS_SDP_MAX_BW)
		return fail(ps, -E2BIG, "too many b= lines");
	bw[(*n)++] = x;
	return 0;
}

static int on_t(struct pstate *ps, struct wims_str v)
{
	struct wims_str a, b;
	uint32_t x;

	if (!wims_sdp__tok(&v, &a) || !wims_sdp__tok(&v, &b) || !rest_empty(v))
		return fail(ps, -EBADMSG, "t= line without 2 fields");
	/* NTP times: 10 digits today, allow up to 2^32-1 (and 0) */
	if (!wims_sdp__num(a, UINT32_MAX, &x) || !wims_sdp__num(b, UINT32_MAX, &x))
		return fail(ps, -EBADMSG, "t= time is not a number");
	if (!ps->seen_t) {
		ps->s->t_start = a;
		ps->s->t_stop = b;
	}
	ps->seen_t = true;
	return 0;
}

static int on_a(struct pstate *ps, struct wims_str v)
{
	struct wims_sdp_attrs *as = ps->m ? &ps->m->attrs : &ps->s->attrs;
	const char *colon = memchr(v.p, ':', v.l);
	struct wims_sdp_attr a = {.raw = v};

	a.name = colon ? wims_str_make(v.p, (size_t)(colon - v.p)) : v;
	if (colon)
		a.value = wims_str_make(colon + 1, v.l - a.name.l - 1);
	if (a.name.l == 0)
		return fail(ps, -EBADMSG, "a= line without attribute name");
	for (size_t i = 0; i < a.name.l; i++)
		if (a.name.p[i] == ' ' || a.name.p[i] == '\t' || (unsigned char)a.name.p[i] >= 0x80)
			return fail(ps, -EBADMSG, "a= attribute name is not a token");
	if (as->n >= WIMS_SDP_MAX_ATTRS)
		return fail(ps, -E2BIG, "too many a= lines in one section");
	as->a[as->n++] = a;
	return 0;
}

static int parse_port(struct pstate *ps, struct wims_sdp_media *m, struct wims_str t)
{
	const char *slash = memchr(t.p, '/', t.l);
	struct wims_str port = slash ? wims_str_make(t.p, (size_t)(slash - t.p)) : t;
	uint32_t x;

	if (!wims_sdp__num(port, 0xffffffffu, &x))
		return fail(ps, -EBADMSG, "m= port is not a number");
	if (x > 65535)
		return fail(ps, -EBADMSG, "m= port above 65535");
	m->port = (uint16_t)x;
	m->nports = 1;
	if (slash) {
		if (!wims_sdp__num(wims_str_make(slash + 1, t.l - port.l - 1), 0xffffffffu, &x))
			return fail(ps, -EBADMSG, "m= number of ports is not a number");
		if (x == 0 || x > 65535)
			return fail(ps, -EBADMSG, "m= number of ports out of range");
		m->nports = (uint16_t)x;
	}
	return 0;
}

static int on_m(struct pstate *ps, struct wims_str v)
{
	struct wims_sdp *s = ps->s;
	struct wims_sdp_media *m;
	struct wims_str rest = v, t;
	int rc;

	if (s->n_media >= WIMS_SDP_MAX_MEDIA)
		return fail(ps, -E2BIG, "too many m= lines");
	m = &s->media[s->n_media];
	*m = (struct wims_sdp_media){.line = v};
	if (!wims_sdp__tok(&rest, &m->type))
		return fail(ps, -EBADMSG, "m= line without media type");
	if (!wims_sdp__tok(&rest, &t))
		return fail(ps, -EBADMSG, "m= line without port");
	rc = parse_port(ps, m, t);
	if (rc)
		return rc;
	if (!wims_sdp__tok(&rest, &m->proto))
		return fail(ps, -EBADMSG, "m= line without proto");
	while (wims_sdp__tok(&rest, &t)) {
		if (m->n_fmts >= WIMS_SDP_MAX_FMTS)
			return fail(ps, -E2BIG, "too many formats on m= line");
		m->fmts[m->n_fmts++] = t;
	}
	if (m->n_fmts == 0)
		return fail(ps, -EBADMSG, "m= line without format");
	s->n_media++;
	ps->m = m;
	return 0;
}

struct line_kind {
	line_h *h;
	bool session_only;
	bool ascii_only;
};

static const struct line_kind KINDS[26] = {
    ['a' - 'a'] = {on_a, false, false},	    ['b' - 'a'] = {on_b, false, true},
    ['c' - 'a'] = {on_c, false, true},	    ['e' - 'a'] = {on_ignore, true, false},
    ['i' - 'a'] = {on_i, false, false},	    ['k' - 'a'] = {on_ignore, false, false},
    ['m' - 'a'] = {on_m, false, true},	    ['o' - 'a'] = {on_o, true, true},
    ['p' - 'a'] = {on_ignore, true, false}, ['r' - 'a'] = {on_ignore, true, true},
    ['s' - 'a'] = {on_s, true, false},	    ['t' - 'a'] = {on_t, true, true},
    ['u' - 'a'] = {on_ignore, true, false}, ['v' - 'a'] = {on_v, true, true},
    ['z' - 'a'] = {on_ignore, true, true},
};

/* Check the bytes of one line: no controls, no NUL; above 0x7f only in
 * free-text lines (s= i= a= may hold UTF-8, RFC 8866 §5.3). */
static int check_bytes(struct pstate *ps, struct wims_str line, bool ascii_only)
{
	for (size_t i = 0; i < line.l; i++) {
		unsigned char ch = (unsigned char)line.p[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(ps, -EBADMSG, "control character in line");
		if (ch >= 0x80 && ascii_only)
			return fail(ps, -EBADMSG, "non-ASCII byte in line");
	}
	return 0;
}

static int on_line(struct pstate *ps, struct wims_str line, bool first)
{
	const struct line_kind *k;
	unsigned char type;
	int rc;

	if (line.l > WIMS_SDP_MAX_LINE)
		return fail(ps, -E2BIG, "line too long");
	if (line.l < 2 || line.p[1] != '=')
		return fail(ps, -EBADMSG, "line without '='");
	type = (unsigned char)line.p[0];
	if (type < 'a' || type > 'z')
		return fail(ps, -EBADMSG, "line type is not a lowercase letter");
	if (first && type != 'v')
		return fail(ps, -EBADMSG, "first line is not v=");
	k = &KINDS[type - 'a'];
	rc = check_bytes(ps, line, k->ascii_only || !k->h);
	if (rc)
		return rc;
	if (!k->h)
		return 0; /* unknown letter: ignored */
	if (k->session_only && ps->m)
		return fail(ps, -EBADMSG, "session-level line inside a media section");
	return k->h(ps, wims_str_make(line.p + 2, line.l - 2));
}

static bool only_newlines(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

int wims_sdp_parse(struct wims_sdp *s, const char *p, size_t len)
{
	struct pstate ps = {.s = s};
	size_t pos = 0;
	unsigned no = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	s->raw = wims_str_make(p, len);
	if (len > WIMS_SDP_MAX_SIZE)
		return fail(&ps, -E2BIG, "SDP too large");
	if (len == 0 || !p)
		return fail(&ps, -EBADMSG, "empty SDP");
	while (pos < len) {
		const char *nl = memchr(p + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - p) : len;
		struct wims_str line = wims_str_make(p + pos, end - pos);

		no++;
		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;
		if (line.l == 0) {
			if (no > 1 && only_newlines(p + pos, len - pos))
				break;
			s->err_line = no;
			return fail(&ps, -EBADMSG, "empty line");
		}
		rc = on_line(&ps, line, no == 1);
		if (rc) {
			s->err_line = no;
			return rc;
		}
		pos = nl ? end + 1 : len;
	}
	if (!ps.seen_o)
		return fail(&ps, -EBADMSG, "no o= line");
	if (!ps.seen_s)
		return fail(&ps, -EBADMSG, "no s= line");
	return 0;
}
