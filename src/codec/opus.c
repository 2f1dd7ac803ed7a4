/* Opus (libopus), mono.  RFC 7587: the RTP clock is always 48000, but the
 * decoder and encoder run at the PCM rate the pair needs (8/16 kHz beside
 * AMR/G.711), so an Opus pair needs no resampler.  The fmtp of the side
 * that receives what we encode drives the encoder: useinbandfec,
 * usedtx, maxplaybackrate (RFC 7587 §6.1). */
#include <errno.h>

#include <opus/opus.h>

#include "codec/codec_int.h"

static int op_dec_new(struct wims_dec *d, const struct wims_codec_params *p)
{
	int err;

	d->st = opus_decoder_create((opus_int32)d->rate, 1, &err);
	if (!d->st)
		return err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
	return 0;
}

static void op_dec_free(struct wims_dec *d)
{
	opus_decoder_destroy(d->st);
}

static int op_dec(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
{
	if (len == 0 || len > 1275 * 3)
		return -EBADMSG;
	int n = opus_decoder_get_nb_samples(d->st, in, (opus_int32)len);
	if (n < 0)
		return -EBADMSG;
	if ((size_t)n > cap)
		return -ENOSPC;
	n = opus_decode(d->st, in, (opus_int32)len, pcm, n, 0);
	return n < 0 ? -EBADMSG : n;
}

static int op_plc(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		  size_t samples)
{
	int n = -1;

	/* FEC: the next packet's LBRR data rebuilds the last 20 ms of the gap;
	 * libopus conceals whatever comes before it. */
	if (next && next_len > 0 && next_len <= 1275 * 3)
		n = opus_decode(d->st, next, (opus_int32)next_len, pcm, (int)samples, 1);
	if (n < 0)
		n = opus_decode(d->st, NULL, 0, pcm, (int)samples, 0);
	return n < 0 ? -EINVAL : n;
}

static opus_int32 max_bandwidth(uint32_t maxplaybackrate)
{
	if (maxplaybackrate == 0 || maxplaybackrate > 24000)
		return OPUS_BANDWIDTH_FULLBAND;
	if (maxplaybackrate > 16000)
		return OPUS_BANDWIDTH_SUPERWIDEBAND;
	if (maxplaybackrate > 12000)
		return OPUS_BANDWIDTH_WIDEBAND;
	if (maxplaybackrate > 8000)
		return OPUS_BANDWIDTH_MEDIUMBAND;
	return OPUS_BANDWIDTH_NARROWBAND;
}

static int op_enc_new(struct wims_enc *e, const struct wims_codec_params *p)
{
	OpusEncoder *st;
	int err;

	st = opus_encoder_create((opus_int32)e->rate, 1, OPUS_APPLICATION_VOIP, &err);
	if (!st)
		return err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
	opus_encoder_ctl(st, OPUS_SET_MAX_BANDWIDTH(max_bandwidth(p->maxplaybackrate)));
	opus_encoder_ctl(st, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(5));
	if (p->bitrate)
		opus_encoder_ctl(st, OPUS_SET_BITRATE((opus_int32)p->bitrate));
	if (p->useinbandfec) {
		opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(1));
		opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(p->loss_pct ? p->loss_pct : 5));
	}
	if (p->usedtx)
		opus_encoder_ctl(st, OPUS_SET_DTX(1));
	e->dtx = p->usedtx;
	e->st = st;
	return 0;
}

static void op_enc_free(struct wims_enc *e)
{
	opus_encoder_destroy(e->st);
}

static int op_enc(struct wims_enc *e, const int16_t *pcm, size_t n, uint8_t *out, size_t cap)
{
	size_t ms25 = e->rate / 400; /* samples in 2.5 ms */

	if (n % ms25 || (n / ms25 != 4 && n / ms25 != 8 && n / ms25 != 16 && n / ms25 != 24))
		return -EINVAL;
	if (cap > 4000)
		cap = 4000;
	opus_int32 r = opus_encode(e->st, pcm, (int)n, out, (opus_int32)cap);
	if (r == OPUS_BUFFER_TOO_SMALL)
		return -ENOSPC;
	if (r < 0)
		return -EIO;
	/* libopus: a packet of 2 octets or less need not be sent (DTX) */
	return r <= 2 && e->dtx ? 0 : (int)r;
}

const struct wims_codec_ops wims__codec_opus_ops = {
	.dec_new = op_dec_new,
	.dec_free = op_dec_free,
	.dec_frame = op_dec,
	.dec_plc = op_plc,
	.enc_new = op_enc_new,
	.enc_free = op_enc_free,
	.enc_frame = op_enc,
};
