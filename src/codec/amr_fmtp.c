/* RFC 4867 §8 SDP parameters of AMR / AMR-WB:
 *   a=fmtp:<pt> octet-align=1; mode-set=0,2,5,7; mode-change-period=2; ...
 * Parameters are separated by ';', names are case-insensitive, unknown
 * ones are ignored (RFC 4855 §3).  We do not implement CRC, robust sorting
 * or interleaving: an offer asking for them gets -ENOTSUP and the caller
 * answers without that payload type. */
#include "codec/amr.h"

#include <errno.h>

#include "base/buf.h"

static int parse_uint(struct wims_str v, unsigned max, unsigned *out)
{
	unsigned long long x;

	/* the range is checked here: wims_str_to_u64 lets a last digit above a
	 * small max through (its (max - d) wraps) */
	if (wims_str_to_u64(wims_str_trim(v), UINT32_MAX, &x) || x > max)
		return -EBADMSG;
	*out = (unsigned)x;
	return 0;
}

static int parse_mode_set(struct wims_str v, enum wims_amr_kind k, uint16_t *set)
{
	unsigned max = k == WIMS_AMR_WB ? 8 : 7, m;
	uint16_t s = 0;

	for (;;) {
		const char *c = memchr(v.p, ',', v.l);
		size_t l = c ? (size_t)(c - v.p) : v.l;

		if (parse_uint(wims_str_make(v.p, l), max, &m))
			return -EBADMSG;
		s |= (uint16_t)(1u << m);
		if (!c)
			break;
		v = wims_str_make(c + 1, v.l - l - 1);
	}
	*set = s;
	return 0;
}

/* One name=value pair; the unsupported ones are only recorded here. */
static int parse_param(struct wims_str name, struct wims_str val, enum wims_amr_kind k,
		       struct wims_amr_params *p)
{
	unsigned v;

	if (wims_str_eqic(name, "mode-set"))
		return parse_mode_set(val, k, &p->mode_set);
	if (wims_str_eqic(name, "interleaving")) {
		p->interleaving = true; /* its value is a frame count; any means interleaving */
		return parse_uint(val, 65535, &v);
	}
	if (wims_str_eqic(name, "max-red")) {
		if (parse_uint(val, 65535, &v))
			return -EBADMSG;
		p->max_red = (uint16_t)v;
		return 0;
	}
	if (wims_str_eqic(name, "mode-change-period") || wims_str_eqic(name, "mode-change-capability")) {
		if (parse_uint(val, 2, &v) || v == 0)
			return -EBADMSG;
		if (wims_str_eqic(name, "mode-change-period"))
			p->mode_change_period = (uint8_t)v;
		else
			p->mode_change_capability = v == 2;
		return 0;
	}
	if (wims_str_eqic(name, "octet-align") || wims_str_eqic(name, "crc") ||
	    wims_str_eqic(name, "robust-sorting") || wims_str_eqic(name, "mode-change-neighbor")) {
		if (parse_uint(val, 1, &v))
			return -EBADMSG;
		if (wims_str_eqic(name, "octet-align"))
			p->octet_align = v;
		else if (wims_str_eqic(name, "crc"))
			p->crc = v;
		else if (wims_str_eqic(name, "robust-sorting"))
			p->robust_sorting = v;
		else
			p->mode_change_neighbor = v;
		return 0;
	}
	return 0; /* unknown: ignored */
}

int wims_amr_fmtp_parse(struct wims_str fmtp, enum wims_amr_kind k, struct wims_amr_params *p)
{
	struct wims_str rest = fmtp;

	memset(p, 0, sizeof(*p));
	p->kind = k;
	while (rest.l > 0) {
		const char *semi = memchr(rest.p, ';', rest.l);
		size_t l = semi ? (size_t)(semi - rest.p) : rest.l;
		struct wims_str item = wims_str_trim(wims_str_make(rest.p, l));
		const char *eq;

		rest = semi ? wims_str_make(semi + 1, rest.l - l - 1) : wims_str_make(rest.p + l, 0);
		if (item.l == 0)
			continue; /* "a; ;b" or a trailing ';' */
		eq = memchr(item.p, '=', item.l);
		if (!eq)
			return -EBADMSG;
		if (parse_param(wims_str_trim(wims_str_make(item.p, (size_t)(eq - item.p))),
				wims_str_trim(wims_str_make(eq + 1, item.l - (size_t)(eq - item.p) - 1)), k,
				p))
			return -EBADMSG;
	}
	if (p->crc || p->robust_sorting || p->interleaving)
		return -ENOTSUP;
	return 0;
}

static void put_sep(struct wims_wbuf *b)
{
	if (b->len > 0)
		wims_wbuf_puts(b, "; ");
}

int wims_amr_fmtp_answer(const struct wims_amr_params *p, char *buf, size_t cap)
{
	struct wims_wbuf b;

	if (cap == 0)
		return -ENOSPC;
	wims_wbuf_init(&b, buf, cap - 1); /* room for the NUL */
	/* §8.3.1: octet-align, crc, robust-sorting and interleaving are echoed
	 * (an absent one means 0, so only those set are written). */
	if (p->octet_align)
		wims_wbuf_puts(&b, "octet-align=1");
	if (p->mode_set) {
		const char *sep = "";

		put_sep(&b);
		wims_wbuf_puts(&b, "mode-set=");
		for (unsigned m = 0; m < 16; m++)
			if (p->mode_set & (1u << m)) {
				wims_wbuf_printf(&b, "%s%u", sep, m);
				sep = ",";
			}
	}
	if (p->mode_change_period) {
		put_sep(&b);
		wims_wbuf_printf(&b, "mode-change-period=%u", p->mode_change_period);
	}
	if (p->mode_change_neighbor) {
		put_sep(&b);
		wims_wbuf_puts(&b, "mode-change-neighbor=1");
	}
	if (p->crc) {
		put_sep(&b);
		wims_wbuf_puts(&b, "crc=1");
	}
	if (p->robust_sorting) {
		put_sep(&b);
		wims_wbuf_puts(&b, "robust-sorting=1");
	}
	if (b.err)
		return -ENOSPC;
	buf[b.len] = '\0';
	return (int)b.len;
}
