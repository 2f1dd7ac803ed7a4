/* Internal to the codec module: the per-codec operations table. */
#ifndef WIMS_CODEC_CODEC_INT_H
#define WIMS_CODEC_CODEC_INT_H

#include "codec/amr.h"
#include "codec/codec.h"

struct wims_dec {
	const struct wims_codec_desc *desc;
	uint32_t rate;	 /* PCM rate */
	unsigned frame;	 /* samples in frame_ms at rate */
	void *st;	 /* codec state */
	int16_t last[960]; /* G.711 PLC: last frame */
	unsigned plc_run;
};

struct wims_enc {
	const struct wims_codec_desc *desc;
	uint32_t rate;
	unsigned frame;
	void *st;
	uint16_t mode_set;
	int mode;
	bool dtx;
};

struct wims_codec_ops {
	int (*dec_new)(struct wims_dec *d, const struct wims_codec_params *p);
	void (*dec_free)(struct wims_dec *d);
	int (*dec_frame)(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm,
			 size_t cap);
	int (*dec_plc)(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		       size_t samples);
	int (*enc_new)(struct wims_enc *e, const struct wims_codec_params *p);
	void (*enc_free)(struct wims_enc *e);
	int (*enc_frame)(struct wims_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
			 size_t cap);
	unsigned max_mode; /* AMR: 7 (NB) / 8 (WB); 0 otherwise */
};

extern const struct wims_codec_ops wims__codec_pcmu_ops;
extern const struct wims_codec_ops wims__codec_pcma_ops;
extern const struct wims_codec_ops wims__codec_amrnb_ops;
extern const struct wims_codec_ops wims__codec_amrwb_ops;
extern const struct wims_codec_ops wims__codec_opus_ops;

/** Highest mode allowed by set at or below want (lowest allowed when none is). */
int wims__amr_pick_mode(uint16_t set, int want, unsigned max_mode);

/** The FT of a storage-format AMR frame whose length covers the bits its FT
 * says (opencore reads that many without checking), or -EBADMSG. */
int wims__amr_storage_check(enum wims_amr_kind k, const uint8_t *in, size_t len);

#endif
