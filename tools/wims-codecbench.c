/* wims-codecbench: the raw cost of each speech encoder and decoder, and of
 * each transcoding pipeline of src/codec/transcode.h, per 20 ms of audio.
 *
 *   wims-codecbench [--seconds S] [--json]
 *
 * Raw: a loop of wims_enc_frame / wims_dec_frame on a tone, at the PCM rate
 * the pipelines use (Opus at 16 kHz beside AMR-WB, 8 kHz beside AMR/G.711).
 * Pipeline: RTP packets prepared beforehand (the far end's encoder is not
 * counted) go through wims_xcode_input + wims_xcode_output, sequence numbers
 * and timestamps restamped per loop.  A call is both directions: calls per
 * core = 20 ms / (cost A->B + cost B->A per 20 ms), beside what the raw
 * codec cost alone allows (decoder A + encoder B + decoder B + encoder A).
 * Each figure is the best of three runs.  Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other load on
 * the machine does not count.  Output: a table, or one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/amr.h"
#include "codec/codec.h"
#include "codec/transcode.h"

#define PREP 250 /* prepared packets (5 s) */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void tone(int16_t *pcm, size_t n, uint32_t rate, size_t *t)
{
	for (size_t i = 0; i < n; i++, (*t)++)
		pcm[i] = (int16_t)(6000 * sin(2 * 3.14159265358979 * 440 * (double)*t / rate) +
				   2000 * sin(2 * 3.14159265358979 * 1230 * (double)*t / rate));
}

struct raw {
	double enc_us, dec_us; /* per 20 ms frame */
};

/* Decoder: packets the far end encoded at the codec's native rate (a browser
 * sends 48 kHz Opus), decoded at rate (0 = native); encoder: at rate. */
static int bench_raw(enum wims_codec_id id, uint32_t rate, unsigned frames, struct raw *out)
{
	const struct wims_codec_desc *c = wims_codec_get(id);
	static uint8_t enc[PREP][400], tmp[400];
	static size_t elen[PREP];
	static int16_t pcm[PREP][960], dec[960];
	struct wims_codec_params p;
	struct wims_enc *far, *e;
	struct wims_dec *d;
	size_t t = 0;

	wims_codec_params_init(&p);
	p.pcm_rate = rate;
	if (wims_enc_new(&far, c, NULL) || wims_enc_new(&e, c, &p) || wims_dec_new(&d, c, &p))
		return -1;
	size_t fs = c->pcm_rate / 50;
	for (unsigned i = 0; i < PREP; i++) {
		tone(pcm[i], fs, c->pcm_rate, &t);
		int r = wims_enc_frame(far, pcm[i], fs, enc[i], sizeof(enc[0]));
		if (r <= 0)
			return -1;
		elen[i] = (size_t)r;
	}
	fs = wims_enc_rate(e) / 50;
	t = 0;
	for (unsigned i = 0; i < PREP; i++)
		tone(pcm[i], fs, wims_enc_rate(e), &t);
	double t0 = now_us();
	for (unsigned i = 0; i < frames; i++)
		if (wims_enc_frame(e, pcm[i % PREP], fs, tmp, sizeof(tmp)) < 0)
			return -1;
	double t1 = now_us();
	for (unsigned i = 0; i < frames; i++)
		if (wims_dec_frame(d, enc[i % PREP], elen[i % PREP], dec, 960) < 0)
			return -1;
	double t2 = now_us();
	out->enc_us = (t1 - t0) / frames;
	out->dec_us = (t2 - t1) / frames;
	wims_enc_free(far);
	wims_enc_free(e);
	wims_dec_free(d);
	return 0;
}

/* RTP packets of 20 ms of codec id at its native rate. */
static int prepare(enum wims_codec_id id, uint8_t pk[PREP][400], size_t len[PREP])
{
	const struct wims_codec_desc *c = wims_codec_get(id);
	struct wims_amr_params amr = {.kind = id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB};
	struct wims_enc *e;
	int16_t pcm[960];
	uint8_t fr[64];
	size_t t = 0;

	if (wims_enc_new(&e, c, NULL))
		return -1;
	size_t fs = c->pcm_rate / 50;
	for (unsigned i = 0; i < PREP; i++) {
		int r;
		tone(pcm, fs, c->pcm_rate, &t);
		if (id == WIMS_CODEC_AMR || id == WIMS_CODEC_AMRWB) {
			r = wims_enc_frame(e, pcm, fs, fr, sizeof(fr));
			const uint8_t *f[1] = {fr};
			size_t fl[1] = {(size_t)r};
			if (r > 0)
				r = wims_amr_pack(&amr, 15, f, fl, 1, pk[i] + 12, 400 - 12);
		} else {
			r = wims_enc_frame(e, pcm, fs, pk[i] + 12, 400 - 12);
		}
		if (r <= 0)
			return -1;
		pk[i][0] = 0x80;
		pk[i][1] = 96;
		memset(pk[i] + 8, 0x11, 4);
		len[i] = 12 + (size_t)r;
	}
	wims_enc_free(e);
	return 0;
}

/* Cost of one direction per 20 ms packet, input + output. */
static double bench_pipe(enum wims_codec_id in, enum wims_codec_id out, unsigned packets)
{
	static uint8_t pk[PREP][400];
	static size_t len[PREP];
	struct wims_xcode_cfg cfg = {0};
	struct wims_xcode *x;
	uint8_t o[1500];

	if (prepare(in, pk, len))
		return -1;
	cfg.in.codec = wims_codec_get(in);
	cfg.out.codec = wims_codec_get(out);
	wims_codec_params_init(&cfg.in.params);
	wims_codec_params_init(&cfg.out.params);
	cfg.in.pt = 96;
	cfg.out.pt = 97;
	cfg.in.te_pt = cfg.out.te_pt = -1;
	cfg.out.ptime = 20;
	if (wims_xcode_new(&x, &cfg))
		return -1;
	uint32_t step = cfg.in.codec->rtp_clock / 50;
	double t0 = now_us();
	for (unsigned i = 0; i < packets; i++) {
		uint8_t *p = pk[i % PREP];
		uint32_t ts = i * step;
		p[2] = (uint8_t)(i >> 8);
		p[3] = (uint8_t)i;
		p[4] = (uint8_t)(ts >> 24);
		p[5] = (uint8_t)(ts >> 16);
		p[6] = (uint8_t)(ts >> 8);
		p[7] = (uint8_t)ts;
		if (wims_xcode_input(x, p, len[i % PREP]) < 0)
			return -1;
		while (wims_xcode_output(x, o, sizeof(o)) > 0)
			;
	}
	double us = (now_us() - t0) / packets;
	struct wims_xcode_stats st;
	wims_xcode_stats(x, &st);
	wims_xcode_free(x);
	if (st.out_packets + 2 < packets || st.enc_errors || st.bad_payload)
		return -1;
	return us;
}

struct pair {
	const char *name;
	enum wims_codec_id a, b;
	uint32_t rate_a, rate_b; /* PCM rates the pipeline runs the codecs at */
};

/* Best of three: the machine may be shared. */
static int measure(const struct pair *p, unsigned frames, struct raw *ra, struct raw *rb,
		   double *ab, double *ba)
{
	*ra = *rb = (struct raw){1e9, 1e9};
	*ab = *ba = 1e9;
	for (int run = 0; run < 3; run++) {
		struct raw a, b;
		if (bench_raw(p->a, p->rate_a, frames, &a) || bench_raw(p->b, p->rate_b, frames, &b)) {
			fprintf(stderr, "%s: raw codec run failed\n", p->name);
			return -1;
		}
		double x = bench_pipe(p->a, p->b, frames), y = bench_pipe(p->b, p->a, frames);
		if (x < 0 || y < 0) {
			fprintf(stderr, "%s: pipeline run failed\n", p->name);
			return -1;
		}
		ra->enc_us = fmin(ra->enc_us, a.enc_us);
		ra->dec_us = fmin(ra->dec_us, a.dec_us);
		rb->enc_us = fmin(rb->enc_us, b.enc_us);
		rb->dec_us = fmin(rb->dec_us, b.dec_us);
		*ab = fmin(*ab, x);
		*ba = fmin(*ba, y);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"seconds", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	static const struct pair pairs[] = {
		{"opus<->AMR-WB", WIMS_CODEC_OPUS, WIMS_CODEC_AMRWB, 16000, 16000},
		{"PCMU<->AMR", WIMS_CODEC_PCMU, WIMS_CODEC_AMR, 8000, 8000},
		{"PCMA<->AMR-WB", WIMS_CODEC_PCMA, WIMS_CODEC_AMRWB, 8000, 16000},
		{"opus<->AMR", WIMS_CODEC_OPUS, WIMS_CODEC_AMR, 8000, 8000},
	};
	unsigned seconds = 20;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's') {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 3600)
				goto usage;
			seconds = (unsigned)v;
		} else if (c == 'j') {
			json = true;
		} else {
			goto usage;
		}
	}
	unsigned frames = seconds * 50;
	if (json)
		printf("{\"seconds_of_audio\":%u,\"pairs\":[", seconds);
	else
		printf("%-15s %10s %10s %10s %10s %12s %12s %10s\n", "pair", "raw A->B", "raw B->A",
		       "gw A->B", "gw B->A", "raw calls", "gw calls", "gw/raw");
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair *p = &pairs[i];
		struct raw ra, rb;
		double ab, ba;
		if (measure(p, frames, &ra, &rb, &ab, &ba))
			return 1;
		double raw_ab = ra.dec_us + rb.enc_us, raw_ba = rb.dec_us + ra.enc_us;
		double raw_calls = 20000 / (raw_ab + raw_ba), gw_calls = 20000 / (ab + ba);
		if (json)
			printf("%s{\"pair\":\"%s\",\"enc_a_us\":%.2f,\"dec_a_us\":%.2f,"
			       "\"enc_b_us\":%.2f,\"dec_b_us\":%.2f,\"gw_ab_us\":%.2f,"
			       "\"gw_ba_us\":%.2f,\"raw_calls_per_core\":%.0f,"
			       "\"gw_calls_per_core\":%.0f}",
			       i ? "," : "", p->name, ra.enc_us, ra.dec_us, rb.enc_us, rb.dec_us, ab,
			       ba, raw_calls, gw_calls);
		else
			printf("%-15s %8.1fus %8.1fus %8.1fus %8.1fus %12.0f %12.0f %9.1f%%\n"
			       "  %-6s@%-5u enc %6.1fus dec %6.1fus | %-6s@%-5u enc %6.1fus "
			       "dec %6.1fus\n",
			       p->name, raw_ab, raw_ba, ab, ba, raw_calls, gw_calls,
			       100 * gw_calls / raw_calls, wims_codec_get(p->a)->name, p->rate_a,
			       ra.enc_us, ra.dec_us, wims_codec_get(p->b)->name, p->rate_b, rb.enc_us,
			       rb.dec_us);
	}
	if (json)
		printf("]}\n");
	else
		printf("(us per 20 ms; raw = decoder + encoder alone; calls per core count both "
		       "directions; CPU time of this thread)\n");
	return 0;
usage:
	fprintf(stderr, "usage: wims-codecbench [--seconds S] [--json]\n");
	return 1;
}
