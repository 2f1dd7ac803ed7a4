/* One direction of a transcoded stream: RTP in (one codec, payload type,
 * clock) -> reorder buffer -> decoder (+ loss concealment) -> [2x resampler]
 * -> PCM FIFO -> encoder -> RTP out (own SSRC, sequence, timestamps, ptime).
 * RFC 4733 telephone-event packets are passed through with their timestamp
 * and duration rescaled to the output clock.  Everything is allocated in
 * wims_xcode_new; input/output do no allocation and take no lock, so a media
 * worker calls them per packet.
 *
 * Timing: packets are released from the reorder buffer in sequence order; a
 * missing sequence number is declared lost when `reorder_depth` later packets
 * wait behind it, and concealed for the duration of the last packet (Opus
 * uses the FEC of the packet after the gap).  A timestamp jump without a
 * sequence gap (DTX, up to WIMS_XCODE_MAX_FILL_MS) is filled by the decoder's
 * concealment/comfort noise, so output timestamps stay continuous; a larger
 * jump or a jump backwards restarts the timeline (marker set). */
#ifndef WIMS_CODEC_TRANSCODE_H
#define WIMS_CODEC_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/amr.h"
#include "codec/codec.h"

#define WIMS_XCODE_MAX_DEPTH 8
#define WIMS_XCODE_MAX_PAYLOAD 1500
#define WIMS_XCODE_MAX_FILL_MS 600
#define WIMS_XCODE_MAX_PTIME 120

struct wims_xcode_side {
	const struct wims_codec_desc *codec;
	struct wims_codec_params params; /* output: encoder params; input: pcm_rate ignored */
	struct wims_amr_params amr;	 /* AMR payload format (kind is set from codec) */
	uint8_t pt;			 /* audio payload type */
	int te_pt;			 /* telephone-event payload type, -1 = none */
	uint32_t clock;			 /* RTP clock, 0 = codec's */
	unsigned ptime;			 /* output ms per packet (frame multiple), 0 = 20 */
};

struct wims_xcode_cfg {
	struct wims_xcode_side in, out;
	uint32_t ssrc;		/* output SSRC */
	uint16_t seq;		/* first output sequence number */
	uint32_t ts;		/* first output timestamp */
	unsigned reorder_depth; /* 1..WIMS_XCODE_MAX_DEPTH, 0 = 4 */
};

struct wims_xcode_stats {
	uint64_t in_packets;	/* accepted audio + event packets */
	uint64_t out_packets;
	uint64_t bad_header;	/* not RTP v2 or truncated */
	uint64_t bad_payload;	/* decoder/unpacker refused: concealed */
	uint64_t wrong_pt;	/* neither audio nor telephone-event PT */
	uint64_t late;		/* behind the playout point */
	uint64_t duplicate;
	uint64_t lost;		/* sequence numbers concealed */
	uint64_t plc_samples;	/* concealed samples at the encoder rate */
	uint64_t resync;	/* timeline restarts */
	uint64_t overflow;	/* PCM dropped: output not drained */
	uint64_t enc_errors;
	uint64_t dtmf_in, dtmf_out;
	int last_cmr;		/* last CMR received from an AMR peer, -1 none */
};

struct wims_xcode;

/** Make a pipeline for cfg.  0, -EINVAL (unknown codec, rates with no
 * conversion, ptime not a multiple of the output frame), -ENOTSUP (Opus ptime
 * over 60), -ENOMEM.  Free with wims_xcode_free. */
int wims_xcode_new(struct wims_xcode **xp, const struct wims_xcode_cfg *cfg)
	__attribute__((warn_unused_result));

/** Free a pipeline and its codec states (NULL is fine). */
void wims_xcode_free(struct wims_xcode *x);

/** Take one RTP packet (header checked here: version, CSRC, extension,
 * padding).  Late and duplicate packets are dropped; released packets are
 * decoded now.  0, -EBADMSG (bad header), -EPROTONOSUPPORT (unknown PT),
 * -EALREADY (late or duplicate).  Bad payloads are concealed and return 0. */
int wims_xcode_input(struct wims_xcode *x, const uint8_t *rtp, size_t len);

/** Next RTP packet to send, written to out (cap octets, >= 12 + payload):
 * its length, or 0 when none is ready.  Call until 0 after each input. */
size_t wims_xcode_output(struct wims_xcode *x, uint8_t *out, size_t cap);

/** Apply a CMR received on the other direction's AMR input to this
 * direction's AMR encoder (15 = no request: ignored).  0 or -ENOTSUP. */
int wims_xcode_set_out_mode(struct wims_xcode *x, unsigned mode);

/** CMR to send in this direction's AMR packets (15 = none, the default). */
void wims_xcode_set_cmr(struct wims_xcode *x, uint8_t cmr);

/** The last CMR an AMR peer sent on this direction's input, -1 none (cheap:
 *  for the packet path, where copying the counters is not). */
int wims_xcode_last_cmr(const struct wims_xcode *x);

/** Counters so far. */
void wims_xcode_stats(const struct wims_xcode *x, struct wims_xcode_stats *st);

#endif
