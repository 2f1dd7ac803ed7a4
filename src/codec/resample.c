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
	r->nhist = up ? 2 * L : 4 * L - 1;
}

static int16_t sat(float v)
{
	if (v > 32767.f)
		return 32767;
	if (v < -32768.f)
		return -32768;
	return (int16_t)lrintf(v);
}

/* hist holds 2L samples: hist[L-1] is the sample being emitted, hist[L] the
 * next one; the new sample enters at the end. */
static void up1(struct wims_resampler *r, int16_t x, int16_t *out)
{
	float *h = r->hist;

	memmove(h, h + 1, (2 * L - 1) * sizeof(*h));
	h[2 * L - 1] = x;
	float acc = 0;
	for (int i = 0; i < L; i++)
		acc += r->c[i] * (h[L - 1 - i] + h[L + i]);
	out[0] = sat(h[L - 1]);
	out[1] = sat(2 * acc);
}

/* hist holds 4L-1 samples centred on hist[2L-1]; two samples enter per output. */
static int16_t down1(struct wims_resampler *r, int16_t a, int16_t b)
{
	float *h = r->hist;
	const int n = 4 * L - 1, c = 2 * L - 1;

	memmove(h, h + 2, (size_t)(n - 2) * sizeof(*h));
	h[n - 2] = a;
	h[n - 1] = b;
	float acc = 0.5f * h[c];
	for (int i = 0; i < L; i++)
		acc += r->c[i] * (h[c - 1 - 2 * i] + h[c + 1 + 2 * i]);
	return sat(acc);
}

int wims_resample(struct wims_resampler *r, const int16_t *in, size_t n, int16_t *out, size_t cap)
{
	if (r->up) {
		if (cap < 2 * n)
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			up1(r, in[i], out + 2 * i);
		return (int)(2 * n);
	}
	if (n % 2 || cap < n / 2)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++)
		out[i] = down1(r, in[2 * i], in[2 * i + 1]);
	return (int)(n / 2);
}
