/* 2x sample-rate conversion (8 kHz <-> 16 kHz) for the one pair without a
 * common rate, G.711 <-> AMR-WB.  A half-band FIR (47 taps, Blackman window),
 * polyphase so only the nonzero taps are computed; state kept across calls,
 * no allocation. */
#ifndef WIMS_CODEC_RESAMPLE_H
#define WIMS_CODEC_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define WIMS_RS_HALF 12 /* nonzero odd taps per side */
#define WIMS_RS_CHUNK 480 /* input samples filtered per pass */

struct wims_resampler {
	int up; /* 1: 8->16 kHz, 0: 16->8 kHz */
	float c[WIMS_RS_HALF];
	unsigned nhist; /* input samples kept between calls */
	/* History (nhist samples, oldest first) then the chunk being filtered. */
	float work[4 * WIMS_RS_HALF + WIMS_RS_CHUNK];
};

/** Initialise a 2x upsampler (up != 0) or downsampler (up == 0). */
void wims_resampler_init(struct wims_resampler *r, int up);

/** Convert n input samples into out (cap samples): 2n out when upsampling,
 * n/2 when downsampling (n must be even).  Output is delayed by the filter
 * (12 input samples up, 23 input samples down).  Returns the number written,
 * or -EINVAL (odd n downsampling, cap too small). */
int wims_resample(struct wims_resampler *r, const int16_t *in, size_t n, int16_t *out, size_t cap)
	__attribute__((warn_unused_result));

#endif
