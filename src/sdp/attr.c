/* Accessors over a parsed SDP: attribute lookup with the session-level
 * fallbacks the RFCs allow, the codec list, and parsers of the attribute
 * values offer/answer needs.  All results are views into the SDP buffer. */
#include <errno.h>
#include <string.h>

#include "sdp/sdp.h"
#include "sdp/sdp_int.h"

const struct wims_sdp_attr *wims_sdp_attrs_next(const struct wims_sdp_attrs *a, const char *name,
						unsigned *it)
{
	struct wims_str n = wims_str_c(name);

	for (; *it < a->n && *it < WIMS_SDP_MAX_ATTRS; (*it)++)
		if (wims_str_eqi(a->a[*it].name, n))
			return &a->a[(*it)++];
	return NULL;
}

const struct wims_sdp_attr *wims_sdp_attrs_find(const struct wims_sdp_attrs *a, const char *name)
{
	unsigned it = 0;

	return wims_sdp_attrs_next(a, name, &it);
}

/* Attributes that may sit at session level and then apply to every m=
 * (RFC 8839 §5.4-5.6 ICE, RFC 8122 §5 fingerprint, RFC 4145 setup,
 * RFC 8842 tls-id, RFC 8285 §6 extmap-allow-mixed, RFC 8445 ice-pacing). */
static const char *const SESSION_FALLBACK[] = {
    "ice-ufrag",   "ice-pwd", "ice-lite", "ice-options",	"ice-pacing",
    "fingerprint", "setup",   "tls-id",	  "extmap-allow-mixed",
};

static bool falls_back(const char *name)
{
	for (size_t i = 0; i < sizeof(SESSION_FALLBACK) / sizeof(SESSION_FALLBACK[0]); i++)
		if (strcasecmp(name, SESSION_FALLBACK[i]) == 0)
			return true;
	return false;
}

const struct wims_sdp_attr *wims_sdp_attr(const struct wims_sdp *s, const struct wims_sdp_media *m,
					  const char *name)
{
	const struct wims_sdp_attr *a;

	if (!m)
		return wims_sdp_attrs_find(&s->attrs, name);
	a = wims_sdp_attrs_find(&m->attrs, name);
	if (!a && falls_back(name))
		a = wims_sdp_attrs_find(&s->attrs, name);
	return a;
}

bool wims_sdp_has(const struct wims_sdp *s, const struct wims_sdp_media *m, const char *name)
{
	return wims_sdp_attr(s, m, name) != NULL;
}

int wims_sdp_attr_u32(const struct wims_sdp *s, const struct wims_sdp_media *m, const char *name,
		      uint32_t *out)
{
	const struct wims_sdp_attr *a = wims_sdp_attr(s, m, name);

	if (!a)
		return -ENOENT;
	if (!wims_sdp__num(wims_str_trim(a->value), UINT32_MAX, out))
		return -EBADMSG;
	return 0;
}

const struct wims_sdp_conn *wims_sdp_conn(const struct wims_sdp *s, const struct wims_sdp_media *m)
{
	if (m && m->c.addr.p)
		return &m->c;
	return s->c.addr.p ? &s->c : NULL;
}

struct wims_str wims_sdp_mid(const struct wims_sdp_media *m)
{
	const struct wims_sdp_attr *a = wims_sdp_attrs_find(&m->attrs, "mid");

	return a && a->value.p ? wims_str_trim(a->value) : WIMS_STR_NULL;
}

int wims_sdp_media_by_mid(const struct wims_sdp *s, struct wims_str mid)
{
	for (unsigned i = 0; i < s->n_media && i < WIMS_SDP_MAX_MEDIA; i++) {
		struct wims_str x = wims_sdp_mid(&s->media[i]);

		if (x.p && wims_str_eq(x, mid))
			return (int)i;
	}
	return -ENOENT;
}

/* ---- codecs ---- */

bool wims_sdp_proto_is_rtp(struct wims_str proto)
{
	return wims_str_findi(proto, wims_str_c("RTP/")) >= 0;
}

struct static_pt {
	const char *enc;
	uint32_t clock;
	uint8_t pt;
};

/* RFC 3551 §6, the entries still met in practice. */
static const struct static_pt STATIC_PT[] = {
    {"PCMU", 8000, 0},	 {"GSM", 8000, 3},    {"G723", 8000, 4},   {"PCMA", 8000, 8},
    {"G722", 8000, 9},	 {"CN", 8000, 13},    {"G728", 8000, 15},  {"G729", 8000, 18},
    {"JPEG", 90000, 26}, {"H261", 90000, 31}, {"H263", 90000, 34},
};

static void codec_static(struct wims_sdp_codec *c)
{
	for (size_t i = 0; i < sizeof(STATIC_PT) / sizeof(STATIC_PT[0]); i++)
		if (STATIC_PT[i].pt == c->pt) {
			c->enc = wims_str_c(STATIC_PT[i].enc);
			c->clock = STATIC_PT[i].clock;
		}
}

/* "<pt> <rest>": the PT and the rest, trimmed. */
static bool pt_split(struct wims_str v, uint32_t *pt, struct wims_str *rest)
{
	struct wims_str t;

	if (!wims_sdp__tok(&v, &t))
		return false;
	*rest = wims_str_trim(v);
	if (wims_str_eqc(t, "*")) {
		*pt = 256; /* wildcard */
		return true;
	}
	return wims_sdp__num(t, 127, pt);
}

/* rtpmap value after the PT: <encoding name>/<clock rate>[/<channels>] */
static int codec_rtpmap(struct wims_sdp_codec *c, struct wims_str v)
{
	const char *s1 = memchr(v.p, '/', v.l), *s2;
	uint32_t x;
	struct wims_str rest;

	if (!s1 || s1 == v.p)
		return -EBADMSG;
	c->enc = wims_str_make(v.p, (size_t)(s1 - v.p));
	rest = wims_str_make(s1 + 1, v.l - c->enc.l - 1);
	s2 = memchr(rest.p, '/', rest.l);
	if (!wims_sdp__num(s2 ? wims_str_make(rest.p, (size_t)(s2 - rest.p)) : rest, UINT32_MAX, &x) ||
	    x == 0)
		return -EBADMSG;
	c->clock = x;
	if (s2) {
		if (!wims_sdp__num(wims_str_make(s2 + 1, rest.l - (size_t)(s2 + 1 - rest.p)), 255, &x) ||
		    x == 0)
			return -EBADMSG;
		c->channels = (uint8_t)x;
	}
	return 0;
}

static struct wims_sdp_codec *codec_by_pt(struct wims_sdp_codec *out, unsigned n, uint32_t pt)
{
	for (unsigned i = 0; i < n; i++)
		if (out[i].pt == pt)
			return &out[i];
	return NULL;
}

/* Join a=rtpmap, a=fmtp and a=rtcp-fb into the listed codecs.  The first
 * rtpmap/fmtp of a PT wins; attributes for unlisted PTs are ignored. */
static int codec_join(const struct wims_sdp_media *m, struct wims_sdp_codec *out, unsigned n)
{
	bool mapped[128] = {false}, fmtp[128] = {false};

	for (unsigned i = 0; i < m->attrs.n; i++) {
		const struct wims_sdp_attr *a = &m->attrs.a[i];
		struct wims_sdp_codec *c;
		struct wims_str rest;
		uint32_t pt;

		if (!a->value.p || !pt_split(a->value, &pt, &rest))
			continue;
		if (wims_str_eqic(a->name, "rtcp-fb")) {
			for (unsigned k = 0; k < n; k++)
				if ((pt == 256 || out[k].pt == pt) && out[k].n_rtcp_fb < WIMS_SDP_MAX_RTCP_FB)
					out[k].rtcp_fb[out[k].n_rtcp_fb++] = rest;
			continue;
		}
		if (pt > 127 || !(c = codec_by_pt(out, n, pt)))
			continue;
		if (wims_str_eqic(a->name, "rtpmap") && !mapped[pt]) {
			mapped[pt] = true;
			if (codec_rtpmap(c, rest) != 0)
				return -EBADMSG;
		} else if (wims_str_eqic(a->name, "fmtp") && !fmtp[pt]) {
			fmtp[pt] = true;
			c->fmtp = rest;
		}
	}
	return 0;
}

int wims_sdp_codecs(const struct wims_sdp_media *m, struct wims_sdp_codec *out, unsigned cap)
{
	unsigned n = 0;
	int rc;

	if (!wims_sdp_proto_is_rtp(m->proto))
		return 0;
	for (unsigned i = 0; i < m->n_fmts && i < WIMS_SDP_MAX_FMTS; i++) {
		uint32_t pt;

		if (!wims_sdp__num(m->fmts[i], 127, &pt))
			return -EBADMSG;
		if (codec_by_pt(out, n, pt))
			return -EBADMSG; /* rtpengine #1328: duplicate PT */
		if (n >= cap)
			return -E2BIG;
		out[n] = (struct wims_sdp_codec){.pt = (uint8_t)pt, .channels = 1};
		codec_static(&out[n]);
		n++;
	}
	rc = codec_join(m, out, n);
	return rc ? rc : (int)n;
}

const struct wims_sdp_codec *wims_sdp_codec_find(const struct wims_sdp_codec *c, unsigned n, const char *enc,
						 uint32_t clock)
{
	for (unsigned i = 0; i < n; i++)
		if (c[i].enc.p && wims_str_eqic(c[i].enc, enc) && (clock == 0 || c[i].clock == clock))
			return &c[i];
	return NULL;
}

int wims_sdp_fmtp_param(struct wims_str fmtp, const char *name, struct wims_str *val)
{
	struct wims_str rest = fmtp;

	while (rest.l) {
		const char *semi = memchr(rest.p, ';', rest.l);
		struct wims_str p = wims_str_make(rest.p, semi ? (size_t)(semi - rest.p) : rest.l);
		const char *eq;
		struct wims_str k;

		rest = semi ? wims_str_make(semi + 1, rest.l - p.l - 1) : wims_str_make(rest.p + rest.l, 0);
		p = wims_str_trim(p);
		eq = memchr(p.p, '=', p.l);
		k = wims_str_trim(wims_str_make(p.p, eq ? (size_t)(eq - p.p) : p.l));
		if (k.l && wims_str_eqic(k, name)) {
			*val = eq ? wims_str_trim(wims_str_make(eq + 1, p.l - (size_t)(eq + 1 - p.p)))
				  : wims_str_make(p.p + p.l, 0);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- typed attribute values ---- */

int wims_sdp_cand_parse(struct wims_str v, struct wims_sdp_cand *c)
{
	struct wims_str t, k;
	uint32_t x;

	*c = (struct wims_sdp_cand){0};
	if (!wims_sdp__tok(&v, &c->foundation) || !wims_sdp__tok(&v, &t) || !wims_sdp__num(t, 256, &x) ||
	    x == 0)
		return -EBADMSG;
	c->component = (uint16_t)x;
	if (!wims_sdp__tok(&v, &c->transport) || !wims_sdp__tok(&v, &t) ||
	    !wims_sdp__num(t, UINT32_MAX, &c->priority))
		return -EBADMSG;
	if (!wims_sdp__tok(&v, &c->addr) || !wims_sdp__tok(&v, &t) || !wims_sdp__num(t, 65535, &x))
		return -EBADMSG;
	c->port = (uint16_t)x;
	if (!wims_sdp__tok(&v, &k) || !wims_str_eqc(k, "typ") || !wims_sdp__tok(&v, &c->type))
		return -EBADMSG;
	for (;;) {
		struct wims_str save = v;

		if (!wims_sdp__tok(&v, &k))
			break;
		if (wims_str_eqc(k, "raddr") && wims_sdp__tok(&v, &c->raddr))
			continue;
		if (wims_str_eqc(k, "rport") && wims_sdp__tok(&v, &t)) {
			if (!wims_sdp__num(t, 65535, &x))
				return -EBADMSG;
			c->rport = (uint16_t)x;
			continue;
		}
		if (wims_str_eqc(k, "tcptype") && wims_sdp__tok(&v, &c->tcptype))
			continue;
		c->ext = wims_str_trim(save);
		break;
	}
	return 0;
}

bool wims_sdp_cand_is_mdns(const struct wims_sdp_cand *c)
{
	struct wims_str a = c->addr;

	return a.l > 6 && strncasecmp(a.p + a.l - 6, ".local", 6) == 0;
}

int wims_sdp_fingerprint_parse(struct wims_str v, struct wims_sdp_fingerprint *f)
{
	*f = (struct wims_sdp_fingerprint){0};
	if (!wims_sdp__tok(&v, &f->hash) || !wims_sdp__tok(&v, &f->value) || wims_str_trim(v).l)
		return -EBADMSG;
	return 0;
}

static const char *const SETUP_NAMES[] = {NULL, "actpass", "active", "passive", "holdconn"};

int wims_sdp_setup(const struct wims_sdp *s, const struct wims_sdp_media *m)
{
	const struct wims_sdp_attr *a = wims_sdp_attr(s, m, "setup");
	struct wims_str v;

	if (!a)
		return WIMS_SDP_SETUP_NONE;
	v = wims_str_trim(a->value);
	for (int i = 1; i < 5; i++)
		if (wims_str_eqic(v, SETUP_NAMES[i]))
			return i;
	return -EBADMSG;
}

const char *wims_sdp_setup_name(enum wims_sdp_setup r)
{
	return (unsigned)r < 5 ? SETUP_NAMES[r] : NULL;
}

static const char *const DIR_NAMES[] = {NULL, "sendrecv", "sendonly", "recvonly", "inactive"};

static enum wims_sdp_dir dir_of(const struct wims_sdp_attrs *as)
{
	enum wims_sdp_dir d = WIMS_SDP_DIR_UNSET;

	for (unsigned i = 0; i < as->n; i++)
		for (int k = 1; k < 5; k++)
			if (!as->a[i].value.p && wims_str_eqic(as->a[i].name, DIR_NAMES[k]))
				d = (enum wims_sdp_dir)k;
	return d;
}

enum wims_sdp_dir wims_sdp_direction(const struct wims_sdp *s, const struct wims_sdp_media *m)
{
	enum wims_sdp_dir d = m ? dir_of(&m->attrs) : WIMS_SDP_DIR_UNSET;

	if (d == WIMS_SDP_DIR_UNSET)
		d = dir_of(&s->attrs);
	return d == WIMS_SDP_DIR_UNSET ? WIMS_SDP_DIR_SENDRECV : d;
}

const char *wims_sdp_dir_name(enum wims_sdp_dir d)
{
	return (unsigned)d < 5 ? DIR_NAMES[d] : NULL;
}

int wims_sdp_group_parse(struct wims_str v, struct wims_sdp_group *g)
{
	struct wims_str t;

	*g = (struct wims_sdp_group){0};
	if (!wims_sdp__tok(&v, &g->semantics))
		return -EBADMSG;
	while (wims_sdp__tok(&v, &t)) {
		if (g->n >= WIMS_SDP_MAX_GROUP)
			return -E2BIG;
		g->mids[g->n++] = t;
	}
	return 0;
}

int wims_sdp_bundle(const struct wims_sdp *s, struct wims_sdp_group *g)
{
	const struct wims_sdp_attr *a;
	unsigned it = 0;

	while ((a = wims_sdp_attrs_next(&s->attrs, "group", &it))) {
		struct wims_str v = a->value, sem;

		if (!v.p || !wims_sdp__tok(&v, &sem) || !wims_str_eqic(sem, "BUNDLE"))
			continue;
		return wims_sdp_group_parse(a->value, g);
	}
	return -ENOENT;
}

int wims_sdp_rtcp_parse(struct wims_str v, struct wims_sdp_rtcp *r)
{
	struct wims_str t;
	uint32_t x;

	*r = (struct wims_sdp_rtcp){0};
	if (!wims_sdp__tok(&v, &t) || !wims_sdp__num(t, 65535, &x))
		return -EBADMSG;
	r->port = (uint16_t)x;
	if (!wims_sdp__tok(&v, &r->nettype))
		return 0;
	if (!wims_sdp__tok(&v, &r->addrtype) || !wims_sdp__tok(&v, &r->addr) || wims_str_trim(v).l)
		return -EBADMSG;
	return 0;
}

int wims_sdp_ssrc_parse(struct wims_str v, struct wims_sdp_ssrc *x)
{
	struct wims_str t;
	const char *colon;

	*x = (struct wims_sdp_ssrc){0};
	if (!wims_sdp__tok(&v, &t) || !wims_sdp__num(t, UINT32_MAX, &x->id))
		return -EBADMSG;
	v = wims_str_trim(v);
	if (v.l == 0)
		return -EBADMSG;
	colon = memchr(v.p, ':', v.l);
	x->attr = colon ? wims_str_make(v.p, (size_t)(colon - v.p)) : v;
	if (colon)
		x->value = wims_str_make(colon + 1, v.l - x->attr.l - 1);
	return x->attr.l ? 0 : -EBADMSG;
}

int wims_sdp_ssrc_group_parse(struct wims_str v, struct wims_sdp_ssrc_group *g)
{
	struct wims_str t;

	*g = (struct wims_sdp_ssrc_group){0};
	if (!wims_sdp__tok(&v, &g->semantics))
		return -EBADMSG;
	while (wims_sdp__tok(&v, &t)) {
		if (g->n >= WIMS_SDP_MAX_SSRC_GROUP)
			return -E2BIG;
		if (!wims_sdp__num(t, UINT32_MAX, &g->ssrcs[g->n]))
			return -EBADMSG;
		g->n++;
	}
	return 0;
}

int wims_sdp_msid_parse(struct wims_str v, struct wims_sdp_msid *x)
{
	*x = (struct wims_sdp_msid){0};
	if (!wims_sdp__tok(&v, &x->stream))
		return -EBADMSG;
	if (wims_sdp__tok(&v, &x->track) && wims_str_trim(v).l)
		return -EBADMSG;
	return 0;
}

int wims_sdp_extmap_parse(struct wims_str v, struct wims_sdp_extmap *x)
{
	struct wims_str t;
	const char *slash;
	uint32_t id;

	*x = (struct wims_sdp_extmap){0};
	if (!wims_sdp__tok(&v, &t))
		return -EBADMSG;
	slash = memchr(t.p, '/', t.l);
	if (slash) {
		x->dir = wims_str_make(slash + 1, t.l - (size_t)(slash + 1 - t.p));
		t.l = (size_t)(slash - t.p);
	}
	if (!wims_sdp__num(t, 255, &id) || id == 0 || !wims_sdp__tok(&v, &x->uri))
		return -EBADMSG;
	x->id = (uint16_t)id;
	v = wims_str_trim(v);
	if (v.l)
		x->params = v;
	return 0;
}

int wims_sdp_crypto_parse(struct wims_str v, struct wims_sdp_crypto *x)
{
	struct wims_str t;
	const char *bar;

	*x = (struct wims_sdp_crypto){0};
	if (!wims_sdp__tok(&v, &t) || !wims_sdp__num(t, 999999999, &x->tag))
		return -EBADMSG;
	if (!wims_sdp__tok(&v, &x->suite) || !wims_sdp__tok(&v, &x->key_params))
		return -EBADMSG;
	if (x->key_params.l > 7 && strncasecmp(x->key_params.p, "inline:", 7) == 0) {
		x->key = wims_str_make(x->key_params.p + 7, x->key_params.l - 7);
		bar = memchr(x->key.p, '|', x->key.l);
		if (bar)
			x->key.l = (size_t)(bar - x->key.p);
	}
	v = wims_str_trim(v);
	if (v.l)
		x->session_params = v;
	return 0;
}

int wims_sdp_precond_parse(struct wims_str v, bool is_des, struct wims_sdp_precond *x)
{
	*x = (struct wims_sdp_precond){0};
	if (!wims_sdp__tok(&v, &x->type))
		return -EBADMSG;
	if (is_des && !wims_sdp__tok(&v, &x->strength))
		return -EBADMSG;
	if (!wims_sdp__tok(&v, &x->status) || !wims_sdp__tok(&v, &x->dir) || wims_str_trim(v).l)
		return -EBADMSG;
	return 0;
}
