/* Test helpers for the codec tests: tone generation and measurement, an RTP
 * sender that encodes a tone, and a receiver that decodes and checks timing. */
#ifndef WIMS_TEST_CODEC_TONE_H
#define WIMS_TEST_CODEC_TONE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/amr.h"
#include "codec/codec.h"

#define TONE_PI 3.14159265358979323846

struct tone {
	double phase, step, amp;
};

static inline void tone_init(struct tone *t, double freq, uint32_t rate, double amp)
{
	t->phase = 0;
	t->step = 2 * TONE_PI * freq / rate;
	t->amp = amp;
}

static inline void tone_fill(struct tone *t, int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pcm[i] = (int16_t)lrint(t->amp * sin(t->phase));
		t->phase += t->step;
		if (t->phase > 2 * TONE_PI)
			t->phase -= 2 * TONE_PI;
	}
}

/* Frequency from positive-going zero crossings (interpolated). */
static inline double tone_freq(const int16_t *pcm, size_t n, uint32_t rate)
{
	double first = -1, last = -1;
	unsigned k = 0;

	for (size_t i = 1; i < n; i++) {
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			double t = (double)(i - 1) + (double)-pcm[i - 1] / (pcm[i] - pcm[i - 1]);
			if (first < 0)
				first = t;
			last = t;
			k++;
		}
	}
	if (k < 2)
		return 0;
	return (k - 1) * (double)rate / (last - first);
}

static inline double tone_rms_db(const int16_t *pcm, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)pcm[i] * pcm[i];
	return 10 * log10(s / (double)n + 1e-9);
}

/* Expected RMS in dB of a sine of amplitude amp. */
static inline double tone_amp_db(double amp)
{
	return 20 * log10(amp / sqrt(2.0));
}

/* ---- RTP sender: encodes a tone at the codec's native rate ---- */

struct sender {
	const struct wims_codec_desc *c;
	struct wims_enc *enc;
	struct wims_amr_params amr;
	struct tone tone;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	unsigned ptime;
	uint32_t rate;
};

static inline int sender_init(struct sender *s, enum wims_codec_id id, uint8_t pt, unsigned ptime,
			      double freq, double amp)
{
	memset(s, 0, sizeof(*s));
	s->c = wims_codec_get(id);
	s->rate = s->c->pcm_rate;
	s->pt = pt;
	s->ptime = ptime;
	s->seq = 1000;
	s->ts = 123456;
	s->amr.kind = id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB;
	tone_init(&s->tone, freq, s->rate, amp);
	return wims_enc_new(&s->enc, s->c, NULL);
}

static inline void rtp_hdr(uint8_t *p, uint8_t pt, int marker, uint16_t seq, uint32_t ts)
{
	p[0] = 0x80;
	p[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	p[8] = 0x12;
	p[9] = 0x34;
	p[10] = 0x56;
	p[11] = 0x78;
}

/* One RTP packet of s->ptime ms of tone; returns its length (0 on error). */
static inline size_t sender_next(struct sender *s, uint8_t *out, size_t cap)
{
	int16_t pcm[2880];
	size_t n = s->rate / 1000 * s->ptime, frame = s->rate / 50;
	int r;

	tone_fill(&s->tone, pcm, n);
	if (s->c->id == WIMS_CODEC_AMR || s->c->id == WIMS_CODEC_AMRWB) {
		uint8_t fb[16][64];
		const uint8_t *fr[16];
		size_t fl[16];
		unsigned k = (unsigned)(n / frame);
		for (unsigned i = 0; i < k; i++) {
			r = wims_enc_frame(s->enc, pcm + i * frame, frame, fb[i], sizeof(fb[i]));
			if (r <= 0)
				return 0;
			fr[i] = fb[i];
			fl[i] = (size_t)r;
		}
		r = wims_amr_pack(&s->amr, 15, fr, fl, k, out + 12, cap - 12);
	} else {
		r = wims_enc_frame(s->enc, pcm, n, out + 12, cap - 12);
	}
	if (r <= 0)
		return 0;
	rtp_hdr(out, s->pt, s->seq == 1000, s->seq, s->ts);
	s->seq++;
	s->ts += (uint32_t)(n * s->c->rtp_clock / s->rate);
	return 12 + (size_t)r;
}

/* ---- receiver: decodes output packets, checks seq/ts continuity ---- */

struct receiver {
	const struct wims_codec_desc *c;
	struct wims_dec *dec;
	struct wims_amr_params amr;
	uint8_t pt;
	int16_t *pcm;
	size_t n, cap;
	unsigned packets, ts_breaks, seq_breaks;
	int have;
	uint16_t seq;
	uint32_t next_ts;
	size_t last_samples;
};

static inline int receiver_init(struct receiver *r, enum wims_codec_id id, uint8_t pt, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->c = wims_codec_get(id);
	r->pt = pt;
	r->amr.kind = id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB;
	r->pcm = calloc(cap, sizeof(int16_t));
	r->cap = cap;
	return wims_dec_new(&r->dec, r->c, NULL);
}

static inline void receiver_free(struct receiver *r)
{
	wims_dec_free(r->dec);
	free(r->pcm);
}

/* Returns samples decoded from one RTP packet, or -1. */
static inline int receiver_put(struct receiver *r, const uint8_t *p, size_t len)
{
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	size_t got = 0;

	if ((p[1] & 0x7f) != r->pt)
		return -1;
	if (r->have && seq != (uint16_t)(r->seq + 1))
		r->seq_breaks++;
	if (r->have && ts != r->next_ts)
		r->ts_breaks++;
	if (r->c->id == WIMS_CODEC_AMR || r->c->id == WIMS_CODEC_AMRWB) {
		uint8_t fr[16 * 64], cmr;
		size_t off[WIMS_AMR_MAX_FRAMES], fl[WIMS_AMR_MAX_FRAMES];
		int nf = wims_amr_unpack(&r->amr, p + 12, len - 12, &cmr, fr, sizeof(fr), off, fl);
		if (nf <= 0)
			return -1;
		for (int i = 0; i < nf; i++) {
			int k = wims_dec_frame(r->dec, fr + off[i], fl[i], r->pcm + r->n,
					       r->cap - r->n);
			if (k < 0)
				return -1;
			r->n += (size_t)k;
			got += (size_t)k;
		}
	} else {
		int k = wims_dec_frame(r->dec, p + 12, len - 12, r->pcm + r->n, r->cap - r->n);
		if (k < 0)
			return -1;
		r->n += (size_t)k;
		got = (size_t)k;
	}
	r->have = 1;
	r->seq = seq;
	r->next_ts = ts + (uint32_t)(got * r->c->rtp_clock / wims_dec_rate(r->dec));
	r->packets++;
	return (int)got;
}

#endif
