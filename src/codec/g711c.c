/* PCMU/PCMA behind the codec interface (tables in g711.c).  Loss concealment
 * is the simplest that avoids a hole: the last 20 ms repeated, each repeat
 * 6 dB quieter, silence after four. */
#include <errno.h>
#include <string.h>

#include "codec/codec_int.h"
#include "codec/g711.h"

static int g711_dec_new(struct wims_dec *d, const struct wims_codec_params *p)
{
	return 0;
}

static void remember(struct wims_dec *d, const int16_t *pcm, size_t n)
{
	size_t keep = d->frame;

	if (n >= keep) {
		memcpy(d->last, pcm + n - keep, keep * sizeof(*pcm));
	} else {
		memmove(d->last, d->last + n, (keep - n) * sizeof(*pcm));
		memcpy(d->last + keep - n, pcm, n * sizeof(*pcm));
	}
	d->plc_run = 0;
}

static int dec_common(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm,
		      size_t cap, bool ulaw)
{
	if (len > cap)
		return -ENOSPC;
	if (len == 0)
		return 0;
	if (ulaw)
		wims_g711_ulaw_decode(in, pcm, len);
	else
		wims_g711_alaw_decode(in, pcm, len);
	remember(d, pcm, len);
	return (int)len;
}

static int pcmu_dec(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
{
	return dec_common(d, in, len, pcm, cap, true);
}

static int pcma_dec(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
{
	return dec_common(d, in, len, pcm, cap, false);
}

static int g711_plc(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		    size_t samples)
{
	for (size_t off = 0; off < samples; off += d->frame) {
		unsigned shift = ++d->plc_run;
		for (size_t i = 0; i < d->frame; i++)
			pcm[off + i] = shift > 4 ? 0 : (int16_t)(d->last[i] >> shift);
	}
	return (int)samples;
}

static int g711_enc_new(struct wims_enc *e, const struct wims_codec_params *p)
{
	return 0;
}

static int pcmu_enc(struct wims_enc *e, const int16_t *pcm, size_t n, uint8_t *out, size_t cap)
{
	if (n > cap)
		return -ENOSPC;
	wims_g711_ulaw_encode(pcm, out, n);
	return (int)n;
}

static int pcma_enc(struct wims_enc *e, const int16_t *pcm, size_t n, uint8_t *out, size_t cap)
{
	if (n > cap)
		return -ENOSPC;
	wims_g711_alaw_encode(pcm, out, n);
	return (int)n;
}

const struct wims_codec_ops wims__codec_pcmu_ops = {
	.dec_new = g711_dec_new,
	.dec_frame = pcmu_dec,
	.dec_plc = g711_plc,
	.enc_new = g711_enc_new,
	.enc_frame = pcmu_enc,
};

const struct wims_codec_ops wims__codec_pcma_ops = {
	.dec_new = g711_dec_new,
	.dec_frame = pcma_dec,
	.dec_plc = g711_plc,
	.enc_new = g711_enc_new,
	.enc_frame = pcma_enc,
};
