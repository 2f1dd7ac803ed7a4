/* Codec preference lists ([media] codec_prefer, the ng codec -> transcode
 * list) and the Opus fmtp of the side that receives what we encode. */
#include <errno.h>

#include "codec/codec.h"

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

int wims_codec_pref_parse(struct wims_codec_pref *p, struct wims_str s, struct wims_str *bad)
{
	size_t i = 0;

	p->n = 0;
	while (i < s.l) {
		while (i < s.l && is_sep(s.p[i]))
			i++;
		size_t b = i;
		while (i < s.l && !is_sep(s.p[i]))
			i++;
		if (i == b)
			break;
		struct wims_str name = wims_str_make(s.p + b, i - b);
		const struct wims_codec_desc *d = wims_codec_find(name);
		if (!d || wims_codec_pref_rank(p, d->id) >= 0 || p->n >= WIMS_CODEC__COUNT) {
			if (bad)
				*bad = name;
			return -EINVAL;
		}
		p->id[p->n++] = d->id;
	}
	return 0;
}

int wims_codec_pref_rank(const struct wims_codec_pref *p, enum wims_codec_id id)
{
	for (unsigned i = 0; i < p->n && i < WIMS_CODEC__COUNT; i++)
		if (p->id[i] == id)
			return (int)i;
	return -1;
}

bool wims_codec_is_amr(enum wims_codec_id id)
{
	return id == WIMS_CODEC_AMR || id == WIMS_CODEC_AMRWB;
}

static bool flag_of(struct wims_str v, bool *out)
{
	v = wims_str_trim(v);
	if (wims_str_eqc(v, "0") || wims_str_eqc(v, "1")) {
		*out = v.p[0] == '1';
		return true;
	}
	return false;
}

static bool num_of(struct wims_str v, unsigned long long lo, unsigned long long hi, uint32_t *out)
{
	unsigned long long x;

	if (wims_str_to_u64(wims_str_trim(v), UINT32_MAX, &x) || x < lo || x > hi)
		return false;
	*out = (uint32_t)x;
	return true;
}

/* One name=value pair: true when taken. */
static bool opus_param(struct wims_str n, struct wims_str v, struct wims_codec_params *p)
{
	bool ignored;

	if (wims_str_eqic(n, "useinbandfec"))
		return flag_of(v, &p->useinbandfec);
	if (wims_str_eqic(n, "usedtx"))
		return flag_of(v, &p->usedtx);
	if (wims_str_eqic(n, "maxplaybackrate"))
		return num_of(v, 8000, 48000, &p->maxplaybackrate);
	if (wims_str_eqic(n, "maxaveragebitrate"))
		return num_of(v, 6000, 510000, &p->bitrate);
	if (wims_str_eqic(n, "stereo") || wims_str_eqic(n, "sprop-stereo"))
		return flag_of(v, &ignored);
	return false;
}

int wims_opus_fmtp_apply(struct wims_str fmtp, struct wims_codec_params *p)
{
	int taken = 0;

	p->useinbandfec = false;
	p->usedtx = false;
	p->maxplaybackrate = 0;
	p->bitrate = 0;
	while (fmtp.l) {
		const char *semi = memchr(fmtp.p, ';', fmtp.l);
		size_t l = semi ? (size_t)(semi - fmtp.p) : fmtp.l;
		struct wims_str kv = wims_str_make(fmtp.p, l);
		const char *eq = memchr(kv.p, '=', kv.l);
		if (eq) {
			struct wims_str n = wims_str_trim(wims_str_make(kv.p, (size_t)(eq - kv.p)));
			struct wims_str v = wims_str_make(eq + 1, kv.l - (size_t)(eq - kv.p) - 1);
			taken += opus_param(n, v, p);
		}
		if (!semi)
			break;
		fmtp = wims_str_make(semi + 1, fmtp.l - l - 1);
	}
	return taken;
}
