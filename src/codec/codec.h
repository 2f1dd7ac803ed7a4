/* Speech codec engines behind one small interface: a descriptor per codec
 * (name, RTP clock, native PCM rate, frame length) and per-direction state
 * objects allocated once per stream.  Decoders and encoders do no allocation
 * after _new: a media worker calls them per packet.
 *
 * Frame units at this interface:
 *   PCMU/PCMA  any number of octets (one octet per sample, 8 kHz);
 *   AMR/AMR-WB one frame in opencore's storage format (header byte
 *              (FT<<3)|(Q<<2) + bits), as amr.h's pack/unpack exchange;
 *   Opus       one Opus packet (RFC 7587 payload, 2.5..120 ms).
 * PCM is mono 16-bit at the rate chosen when the object was made: Opus runs
 * at 8/12/16/24/48 kHz (RTP clock stays 48000, RFC 7587), the others at their
 * native rate only. */
#ifndef WIMS_CODEC_CODEC_H
#define WIMS_CODEC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

enum wims_codec_id {
	WIMS_CODEC_PCMU = 0,
	WIMS_CODEC_PCMA,
	WIMS_CODEC_AMR,
	WIMS_CODEC_AMRWB,
	WIMS_CODEC_OPUS,
	WIMS_CODEC__COUNT,
};

/* Largest PCM frame a decoder can produce from one unit: Opus 120 ms at 48 kHz. */
#define WIMS_CODEC_MAX_PCM 5760
/* Largest encoded 20..60 ms unit we produce (Opus max packet is 1275 per frame). */
#define WIMS_CODEC_MAX_ENC 1500

struct wims_codec_params {
	uint32_t pcm_rate; /* PCM rate at this interface; 0 = the codec's native rate */
	/* Opus, from the fmtp of the side that receives what we encode (RFC 7587 §7). */
	bool useinbandfec;	  /* encoder adds in-band FEC (LBRR) */
	bool usedtx;		  /* encoder may use DTX */
	uint32_t maxplaybackrate; /* 0 = 48000; caps the encoded bandwidth */
	uint32_t bitrate;	  /* bit/s, 0 = codec's choice */
	uint8_t loss_pct;	  /* expected loss, tunes FEC (0 = 5 when FEC) */
	/* AMR / AMR-WB encoder. */
	uint16_t mode_set; /* bitmask of allowed modes, 0 = all */
	int8_t mode;	   /* starting mode; -1 = highest allowed */
	bool amr_dtx;	   /* encoder emits SID/NO_DATA in silence */
};

struct wims_codec_ops;

struct wims_codec_desc {
	const char *name;     /* SDP encoding name: PCMU, PCMA, AMR, AMR-WB, opus */
	enum wims_codec_id id;
	uint32_t rtp_clock;   /* RTP timestamp rate */
	uint32_t pcm_rate;    /* native PCM rate */
	unsigned frame_ms;    /* codec frame: 20 */
	int static_pt;	      /* RFC 3551 static payload type, -1 when dynamic */
	const struct wims_codec_ops *ops;
};

struct wims_dec;
struct wims_enc;

/** Descriptor of codec id, or NULL when id is out of range. */
const struct wims_codec_desc *wims_codec_get(enum wims_codec_id id);

/** Descriptor by SDP encoding name (case-insensitive: "opus", "AMR-WB"), or NULL. */
const struct wims_codec_desc *wims_codec_find(struct wims_str name);

/** Default parameters: native rate, mode -1, no FEC/DTX. */
void wims_codec_params_init(struct wims_codec_params *p);

/** Make a decoder for desc with p (NULL = defaults).  0, -EINVAL (rate the
 * codec cannot run at), -ENOMEM.  Free with wims_dec_free. */
int wims_dec_new(struct wims_dec **dp, const struct wims_codec_desc *desc,
		 const struct wims_codec_params *p) __attribute__((warn_unused_result));
/** Free a decoder (NULL is fine). */
void wims_dec_free(struct wims_dec *d);
/** PCM rate of the decoder's output. */
uint32_t wims_dec_rate(const struct wims_dec *d);

/** Decode one unit (see top of file) into pcm (cap samples).  Returns the
 * number of samples, or -EBADMSG (corrupt unit), -ENOSPC (cap too small).
 * AMR SID/NO_DATA units give a frame of comfort noise/concealment. */
int wims_dec_frame(struct wims_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t cap)
	__attribute__((warn_unused_result));

/** Conceal `samples` lost samples (a multiple of 2.5 ms; AMR: of 20 ms).
 * Opus uses the in-band FEC of next (the packet after the gap) when given,
 * else its PLC; AMR feeds NO_DATA / SPEECH_LOST frames; G.711 repeats the
 * last frame fading out.  Returns samples written or -EINVAL. */
int wims_dec_plc(struct wims_dec *d, const uint8_t *next, size_t next_len, int16_t *pcm,
		 size_t samples) __attribute__((warn_unused_result));

/** Make an encoder (see wims_dec_new). */
int wims_enc_new(struct wims_enc **ep, const struct wims_codec_desc *desc,
		 const struct wims_codec_params *p) __attribute__((warn_unused_result));
/** Free an encoder (NULL is fine). */
void wims_enc_free(struct wims_enc *e);
/** PCM rate the encoder takes. */
uint32_t wims_enc_rate(const struct wims_enc *e);

/** Encode `samples` PCM samples: G.711 any count; AMR exactly one 20 ms frame
 * (storage format out); Opus 10/20/40/60 ms as one packet.  Returns the
 * number of octets (0 = nothing to send, Opus/AMR DTX), -EINVAL (sample
 * count), -ENOSPC, -EIO (codec failure). */
int wims_enc_frame(struct wims_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
		   size_t cap) __attribute__((warn_unused_result));

/** Change the AMR encoder mode (e.g. from a received CMR); the mode is
 * clamped to the highest allowed by the mode-set at or below it.  0, or
 * -ENOTSUP (not AMR), -EINVAL (mode out of range). */
int wims_enc_set_mode(struct wims_enc *e, unsigned mode) __attribute__((warn_unused_result));

/** Current AMR encoder mode, or -1 for non-AMR encoders. */
int wims_enc_mode(const struct wims_enc *e);

/* ---- codec preference (issue 5: [media] codec_prefer, ng codec -> transcode) ---- */

/* An ordered list of distinct codecs, most preferred first. */
struct wims_codec_pref {
	uint8_t n;
	enum wims_codec_id id[WIMS_CODEC__COUNT];
};

/** Parse a comma- or space-separated list of SDP encoding names
 * ("opus, AMR-WB, PCMA, PCMU, AMR"; case-insensitive; empty entries skipped)
 * into p.  0, or -EINVAL (unknown name or one listed twice: its view in
 * *bad when bad is not NULL). */
int wims_codec_pref_parse(struct wims_codec_pref *p, struct wims_str s, struct wims_str *bad)
	__attribute__((warn_unused_result));

/** Position of id in p (0 = first), or -1 when p does not list it. */
int wims_codec_pref_rank(const struct wims_codec_pref *p, enum wims_codec_id id);

/** True for the codecs of the IMS side of a transcoded call (AMR, AMR-WB). */
bool wims_codec_is_amr(enum wims_codec_id id);

/** Apply an Opus a=fmtp (RFC 7587 §6.1) of the side that receives what we
 * encode to encoder parameters p: useinbandfec, usedtx, maxplaybackrate,
 * maxaveragebitrate (6000..510000, else ignored); stereo and sprop-stereo are
 * accepted and ignored (the encoder is mono: what it encodes comes from a mono
 * AMR/G.711 decoder, and mono is always acceptable to a stereo=1 receiver).
 * Parameters absent from fmtp are set to RFC 7587's defaults (FEC and DTX off,
 * 48000, codec's bitrate); malformed values are ignored.  Returns the number of
 * parameters taken. */
int wims_opus_fmtp_apply(struct wims_str fmtp, struct wims_codec_params *p);

#endif
