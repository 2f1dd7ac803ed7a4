/* AMR-NB (opencore-amrnb encoder and decoder), storage-format frames. */
#include <errno.h>

#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>

#include "codec/amr.h"
#include "codec/codec_int.h"

#define NB_FRAME 160

static int nb_dec_new(struct wims_dec *d, const struct wims_codec_params *p)
{
	d->st = Decoder_Interface_init();
	return d->st ? 0 : -ENOMEM;
}

static void nb_dec_free(struct wims_dec *d)
{
	Decoder_Interface_exit(d->st);
}

int wims__amr_storage_check(enum wims_amr_kind k, const uint8_t *in, size_t len)
{
	if (len < 1)
		return -EBADMSG;
	unsigned ft = (in[0] >> 3) & 0x0f;
	int bits = wims_amr_frame_bits(k, ft);
	if (bits < 0 || len < 1 + ((size_t)bits + 7) / 8)
		return -EBADMSG;
	return (int)ft;
}

static int nb_dec(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
{
	if (cap < NB_FRAME)
		return -ENOSPC;
	if (wims__amr_storage_check(WIMS_AMR_NB, in, len) < 0)
		return -EBADMSG;
	Decoder_Interface_Decode(d->st, in, pcm, 0);
	return NB_FRAME;
}

static int nb_plc(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		  size_t samples)
{
	static const uint8_t nodata[1] = {WIMS_AMR_NO_DATA << 3};

	for (size_t off = 0; off < samples; off += NB_FRAME)
		Decoder_Interface_Decode(d->st, nodata, pcm + off, 1);
	return (int)samples;
}

static int nb_enc_new(struct wims_enc *e, const struct wims_codec_params *p)
{
	e->st = Encoder_Interface_init(p->amr_dtx);
	return e->st ? 0 : -ENOMEM;
}

static void nb_enc_free(struct wims_enc *e)
{
	Encoder_Interface_exit(e->st);
}

static int nb_enc(struct wims_enc *e, const int16_t *pcm, size_t n, uint8_t *out, size_t cap)
{
	if (n != NB_FRAME)
		return -EINVAL;
	if (cap < 32) /* 12.2: 1 + 31 octets */
		return -ENOSPC;
	int r = Encoder_Interface_Encode(e->st, (enum Mode)e->mode, pcm, out, 0);
	if (r <= 0)
		return -EIO;
	return r;
}

const struct wims_codec_ops wims__codec_amrnb_ops = {
	.dec_new = nb_dec_new,
	.dec_free = nb_dec_free,
	.dec_frame = nb_dec,
	.dec_plc = nb_plc,
	.enc_new = nb_enc_new,
	.enc_free = nb_enc_free,
	.enc_frame = nb_enc,
	.max_mode = 7,
};
