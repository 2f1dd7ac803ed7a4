/* AMR-WB: opencore-amrwb decoder, vo-amrwbenc encoder; storage-format frames. */
#include <errno.h>

#include <opencore-amrwb/dec_if.h>
#include <vo-amrwbenc/enc_if.h>

#include "codec/amr.h"
#include "codec/codec_int.h"

#define WB_FRAME 320

static int wb_dec_new(struct wims_dec *d, const struct wims_codec_params *p)
{
	d->st = D_IF_init();
	return d->st ? 0 : -ENOMEM;
}

static void wb_dec_free(struct wims_dec *d)
{
	D_IF_exit(d->st);
}

static int wb_dec(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
{
	if (cap < WB_FRAME)
		return -ENOSPC;
	if (wims__amr_storage_check(WIMS_AMR_WB, in, len) < 0)
		return -EBADMSG;
	D_IF_decode(d->st, in, pcm, _good_frame);
	return WB_FRAME;
}

static int wb_plc(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		  size_t samples)
{
	/* 26.201: a lost frame is SPEECH_LOST, which the decoder conceals. */
	static const uint8_t lost[1] = {WIMS_AMR_WB_SPEECH_LOST << 3};

	for (size_t off = 0; off < samples; off += WB_FRAME)
		D_IF_decode(d->st, lost, pcm + off, _good_frame);
	return (int)samples;
}

static int wb_enc_new(struct wims_enc *e, const struct wims_codec_params *p)
{
	e->st = E_IF_init();
	return e->st ? 0 : -ENOMEM;
}

static void wb_enc_free(struct wims_enc *e)
{
	E_IF_exit(e->st);
}

static int wb_enc(struct wims_enc *e, const int16_t *pcm, size_t n, uint8_t *out, size_t cap)
{
	if (n != WB_FRAME)
		return -EINVAL;
	if (cap < WIMS_AMR_MAX_STORAGE)
		return -ENOSPC;
	int r = E_IF_encode(e->st, e->mode, pcm, out, e->dtx);
	if (r <= 0)
		return -EIO;
	return r;
}

const struct wims_codec_ops wims__codec_amrwb_ops = {
	.dec_new = wb_dec_new,
	.dec_free = wb_dec_free,
	.dec_frame = wb_dec,
	.dec_plc = wb_plc,
	.enc_new = wb_enc_new,
	.enc_free = wb_enc_free,
	.enc_frame = wb_enc,
	.max_mode = 8,
};
