/* Half-band 2x interpolation/decimation.  h[0] = 1/2, h[k] = 0 for even
 * k != 0, h[k] = sin(pi k/2)/(pi k) * w(k) for odd |k| <= 2L-1: only L taps
 * per side are nonzero, and even output phases are plain copies. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "codec/resample.h"

#define L WIMS_RS_HALF

void wims_resampler_init(struct wims_resampler *r, int up)
{
	const double pi = 3.14159265358979323846;
	double sum = 0;

	memset(r, 0, sizeof(*r));
	r->up = up;
	for (int i = 0; i < L; i++) {
		int k = 2 * i + 1;
		double n = 4 * L; /* window spans |k| <= 2L */
		double w = 0.42 + 0.5 * cos(2 * pi * k / n) + 0.08 * cos(4 * pi * k / n);
		double h = sin(pi * k / 2) / (pi * k) * w;
		r->c[i] = (float)h;
		sum += 2 * h;
	}
	/* Normalise so DC gain is exactly 1 (h[0] + odd taps = 1). */
	for (int i = 0; i < L; i++)
		r->c[i] = (float)(r->c[i] * 0.5 / sum);
	r->nhist = up ? 2 * L - 1 : 4 * L - 3;
}

static int16_t sat(float v)
{
	if (v > 32767.f)
		return 32767;
	if (v < -32768.f)
		return -32768;
	return (int16_t)lrintf(v);
}

/* Upsampling: window work[j .. j+2L-1], work[j+L-1] is the sample emitted
 * as is, the odd phase sits between it and work[j+L]. */
static void up_chunk(struct wims_resampler *r, const int16_t *in, size_t n, int16_t *out)
{
	float *w = r->work;

	for (size_t i = 0; i < n; i++)
		w[r->nhist + i] = in[i];
	for (size_t j = 0; j < n; j++) {
		const float *h = w + j;
		float acc = 0;
		for (int i = 0; i < L; i++)
			acc += r->c[i] * (h[L - 1 - i] + h[L + i]);
		out[2 * j] = sat(h[L - 1]);
		out[2 * j + 1] = sat(2 * acc);
	}
	memmove(w, w + n, r->nhist * sizeof(*w));
}

/* Downsampling: window work[2k .. 2k+4L-2] centred on work[2k+2L-1]. */
static void down_chunk(struct wims_resampler *r, const int16_t *in, size_t n, int16_t *out)
{
	float *w = r->work;

	for (size_t i = 0; i < n; i++)
		w[r->nhist + i] = in[i];
	for (size_t k = 0; k < n / 2; k++) {
		const float *h = w + 2 * k + 2 * L - 1;
		float acc = 0.5f * h[0];
		for (int i = 0; i < L; i++)
			acc += r->c[i] * (h[-1 - 2 * i] + h[1 + 2 * i]);
		out[k] = sat(acc);
	}
	memmove(w, w + n, r->nhist * sizeof(*w));
}

int wims_resample(struct wims_resampler *r, const int16_t *in, size_t n, int16_t *out, size_t cap)
{
	size_t made = 0;

	if (r->up ? cap < 2 * n : (n % 2 || cap < n / 2))
		return -EINVAL;
	for (size_t off = 0; off < n; off += WIMS_RS_CHUNK) {
		size_t k = n - off < WIMS_RS_CHUNK ? n - off : WIMS_RS_CHUNK;
		if (r->up) {
			up_chunk(r, in + off, k, out + made);
			made += 2 * k;
		} else {
			down_chunk(r, in + off, k, out + made);
			made += k / 2;
		}
	}
	return (int)made;
}
