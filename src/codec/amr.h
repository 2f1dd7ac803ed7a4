/* RFC 4867 RTP payload format for AMR and AMR-WB: bandwidth-efficient and
 * octet-aligned modes, several frames per packet, CMR, ToC.  The speech bits
 * are opaque here: frames are exchanged with the codec libraries in the
 * "storage" (IF1/MIME file) format, one header byte (FT<<3)|(Q<<2) followed
 * by the frame's bits packed MSB-first and padded to a byte; that is what
 * opencore-amr's Decoder_Interface_Decode / D_IF_decode consume and
 * Encoder_Interface_Encode / E_IF_encode produce.  Not supported: CRC,
 * robust sorting, interleaving, more than one channel (refused in SDP). */
#ifndef WIMS_CODEC_AMR_H
#define WIMS_CODEC_AMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

#define WIMS_AMR_MAX_FRAMES 16
/* Frame types with a meaning beyond speech (RFC 4867 §4.3.2 / 26.101, 26.201). */
#define WIMS_AMR_NB_SID 8
#define WIMS_AMR_WB_SID 9
#define WIMS_AMR_WB_SPEECH_LOST 14
#define WIMS_AMR_NO_DATA 15
#define WIMS_AMR_CMR_NONE 15
/* Largest storage-format frame: 1 + ceil(477 / 8) = 61 octets (AMR-WB 23.85). */
#define WIMS_AMR_MAX_STORAGE 61

enum wims_amr_kind { WIMS_AMR_NB = 0, WIMS_AMR_WB = 1 };

struct wims_amr_frame {
	uint8_t ft;
	bool q;
	const uint8_t *bits;
	size_t nbits; /* view into the packet (BE: not byte aligned -> see unpack) */
};

struct wims_amr_params {
	enum wims_amr_kind kind;
	bool octet_align;
	uint16_t mode_set;			/* bitmask of allowed modes, 0 = all */
	bool crc, robust_sorting, interleaving; /* not supported -> refuse in SDP */
	/* Echoed in the answer when the offer had them (RFC 4867 §8.3.1). */
	uint8_t mode_change_period;  /* 0 = absent, else 1 or 2 */
	bool mode_change_capability; /* 2 when set */
	bool mode_change_neighbor;
	uint16_t max_red; /* ms; 0 = absent */
	uint8_t channels; /* from a=rtpmap (not fmtp), set by the caller; >1 unsupported */
};

/** Bits of speech for frame type ft (AMR-NB: 95,103,118,134,148,159,204,244,
 * SID 39; AMR-WB: 132,177,253,285,317,365,397,461,477, SID 40; NO_DATA and
 * SPEECH_LOST (WB 14) 0), or -1 for an invalid/reserved ft. */
int wims_amr_frame_bits(enum wims_amr_kind k, unsigned ft);

/** Unpack an RTP payload into storage-format frames (one header byte + bits,
 * written into out, total at most cap); fills *cmr and per-frame offsets into
 * out and lengths in storage format (NO_DATA frames are 1 octet).  Returns the
 * number of frames (>= 1), or -EBADMSG (truncated, bad FT, ToC chain too
 * long, padding wrong), -ENOSPC (cap too small).  Never reads beyond len. */
int wims_amr_unpack(const struct wims_amr_params *p, const uint8_t *payload, size_t len, uint8_t *cmr,
		    uint8_t *out, size_t cap, size_t off[WIMS_AMR_MAX_FRAMES],
		    size_t flen[WIMS_AMR_MAX_FRAMES]) __attribute__((warn_unused_result));

/** Pack n (1..WIMS_AMR_MAX_FRAMES) storage-format frames (each: header byte +
 * bits as the encoder produced; flen[i] must be at least 1 + ceil(bits/8))
 * into an RTP payload with the given CMR (15 = no request).  Returns the
 * payload length or -ENOSPC/-EINVAL (bad FT, short frame, n out of range). */
int wims_amr_pack(const struct wims_amr_params *p, uint8_t cmr, const uint8_t *const frames[],
		  const size_t flen[], unsigned n, uint8_t *out, size_t cap)
    __attribute__((warn_unused_result));

/** Parse the a=fmtp of an AMR/AMR-WB payload type (octet-align, mode-set,
 * mode-change-period, mode-change-capability, mode-change-neighbor, crc,
 * robust-sorting, interleaving, max-red; unknown ones are ignored): 0, -ENOTSUP
 * (crc/robust-sorting/interleaving requested: we answer without the codec),
 * -EBADMSG.  An empty fmtp gives the defaults (bandwidth-efficient, all
 * modes).  p->kind is set to k. */
int wims_amr_fmtp_parse(struct wims_str fmtp, enum wims_amr_kind k, struct wims_amr_params *p)
    __attribute__((warn_unused_result));

/** The fmtp an answerer must send back (RFC 4867 §8.3.1: echo octet-align,
 * crc, robust-sorting, interleaving; mode-set as agreed; channels is echoed
 * by the caller in a=rtpmap) into buf,
 * NUL-terminated, without the "a=fmtp:<pt> " prefix.  Returns its length
 * (possibly 0) or -ENOSPC. */
int wims_amr_fmtp_answer(const struct wims_amr_params *p, char *buf, size_t cap)
    __attribute__((warn_unused_result));

#endif
