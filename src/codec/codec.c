/* Codec registry and the dispatch of decoder/encoder calls to each codec. */
#include <errno.h>
#include <stdlib.h>

#include "codec/codec_int.h"

static const struct wims_codec_desc codecs[WIMS_CODEC__COUNT] = {
	[WIMS_CODEC_PCMU] = {"PCMU", WIMS_CODEC_PCMU, 8000, 8000, 20, 0, &wims__codec_pcmu_ops},
	[WIMS_CODEC_PCMA] = {"PCMA", WIMS_CODEC_PCMA, 8000, 8000, 20, 8, &wims__codec_pcma_ops},
	[WIMS_CODEC_AMR] = {"AMR", WIMS_CODEC_AMR, 8000, 8000, 20, -1, &wims__codec_amrnb_ops},
	[WIMS_CODEC_AMRWB] = {"AMR-WB", WIMS_CODEC_AMRWB, 16000, 16000, 20, -1,
			      &wims__codec_amrwb_ops},
	[WIMS_CODEC_OPUS] = {"opus", WIMS_CODEC_OPUS, 48000, 48000, 20, -1, &wims__codec_opus_ops},
};

const struct wims_codec_desc *wims_codec_get(enum wims_codec_id id)
{
	if ((unsigned)id >= WIMS_CODEC__COUNT)
		return NULL;
	return &codecs[id];
}

const struct wims_codec_desc *wims_codec_find(struct wims_str name)
{
	for (unsigned i = 0; i < WIMS_CODEC__COUNT; i++)
		if (wims_str_eqic(name, codecs[i].name))
			return &codecs[i];
	return NULL;
}

void wims_codec_params_init(struct wims_codec_params *p)
{
	*p = (struct wims_codec_params){.mode = -1};
}

int wims__amr_pick_mode(uint16_t set, int want, unsigned max_mode)
{
	if (set == 0)
		set = (uint16_t)((1u << (max_mode + 1)) - 1);
	if (want < 0 || (unsigned)want > max_mode)
		want = (int)max_mode;
	for (int m = want; m >= 0; m--)
		if (set & (1u << m))
			return m;
	for (unsigned m = 0; m <= max_mode; m++)
		if (set & (1u << m))
			return (int)m;
	return 0;
}

static int check_rate(const struct wims_codec_desc *desc, uint32_t rate)
{
	if (rate == desc->pcm_rate)
		return 0;
	if (desc->id == WIMS_CODEC_OPUS &&
	    (rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000))
		return 0;
	return -EINVAL;
}

int wims_dec_new(struct wims_dec **dp, const struct wims_codec_desc *desc,
		 const struct wims_codec_params *p)
{
	struct wims_codec_params def;
	struct wims_dec *d;
	int err;

	if (!desc || !desc->ops)
		return -EINVAL;
	if (!p) {
		wims_codec_params_init(&def);
		p = &def;
	}
	uint32_t rate = p->pcm_rate ? p->pcm_rate : desc->pcm_rate;
	if (check_rate(desc, rate))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->desc = desc;
	d->rate = rate;
	d->frame = rate * desc->frame_ms / 1000;
	err = desc->ops->dec_new(d, p);
	if (err) {
		free(d);
		return err;
	}
	*dp = d;
	return 0;
}

void wims_dec_free(struct wims_dec *d)
{
	if (!d)
		return;
	if (d->desc->ops->dec_free)
		d->desc->ops->dec_free(d);
	free(d);
}

uint32_t wims_dec_rate(const struct wims_dec *d)
{
	return d->rate;
}

int wims_dec_frame(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
{
	if (!in && len)
		return -EINVAL;
	return d->desc->ops->dec_frame(d, in, len, pcm, cap);
}

int wims_dec_plc(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		 size_t samples)
{
	/* Opus needs multiples of 2.5 ms; the frame-based codecs multiples of 20 ms. */
	size_t unit = d->desc->id == WIMS_CODEC_OPUS ? d->rate / 400 : d->frame;
	if (samples == 0 || samples % unit || samples > WIMS_CODEC_MAX_PCM)
		return -EINVAL;
	return d->desc->ops->dec_plc(d, next, next_len, pcm, samples);
}

int wims_enc_new(struct wims_enc **ep, const struct wims_codec_desc *desc,
		 const struct wims_codec_params *p)
{
	struct wims_codec_params def;
	struct wims_enc *e;
	int err;

	if (!desc || !desc->ops)
		return -EINVAL;
	if (!p) {
		wims_codec_params_init(&def);
		p = &def;
	}
	uint32_t rate = p->pcm_rate ? p->pcm_rate : desc->pcm_rate;
	if (check_rate(desc, rate))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->desc = desc;
	e->rate = rate;
	e->frame = rate * desc->frame_ms / 1000;
	e->mode_set = p->mode_set;
	e->dtx = p->amr_dtx;
	e->mode = desc->ops->max_mode
			  ? wims__amr_pick_mode(p->mode_set, p->mode, desc->ops->max_mode)
			  : -1;
	err = desc->ops->enc_new(e, p);
	if (err) {
		free(e);
		return err;
	}
	*ep = e;
	return 0;
}

void wims_enc_free(struct wims_enc *e)
{
	if (!e)
		return;
	if (e->desc->ops->enc_free)
		e->desc->ops->enc_free(e);
	free(e);
}

uint32_t wims_enc_rate(const struct wims_enc *e)
{
	return e->rate;
}

int wims_enc_frame(struct wims_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
		   size_t cap)
{
	if (!pcm || samples == 0 || samples > WIMS_CODEC_MAX_PCM)
		return -EINVAL;
	return e->desc->ops->enc_frame(e, pcm, samples, out, cap);
}

int wims_enc_set_mode(struct wims_enc *e, unsigned mode)
{
	unsigned max = e->desc->ops->max_mode;

	if (!max)
		return -ENOTSUP;
	if (mode > max)
		return -EINVAL;
	e->mode = wims__amr_pick_mode(e->mode_set, (int)mode, max);
	return 0;
}

int wims_enc_mode(const struct wims_enc *e)
{
	return e->desc->ops->max_mode ? e->mode : -1;
}
