/* Level accuracy: G.711 alone, and PCMU <-> Opus through the transcoder as
 * wimsd runs it, decoded by libopus (the RFC 6716 reference decoder, the one
 * browsers use).
 *
 * The tone and the level are defined as the integration tests define them:
 * the generator is ffmpeg's aevalsrc=0.1*sin(2*PI*f*t), a sine of amplitude
 * 0.1 of full scale, and tests/integration/tone_check.py measures
 * 20*log10(rms * sqrt(2) / 32767), 0 dBFS being a full-scale sine (peak, not
 * RMS: a -20 dBFS sine has an RMS of -23.01 dB re full scale).
 *
 * Why this test exists: test_ng_transcode_g711 measured the PCMU -> Opus
 * direction at -17.1 dBFS for a -20 dBFS tone.  wimsd's own packets, captured
 * there, decode with libopus at -20.17 dBFS; it was ffmpeg's native Opus
 * decoder (5.1) that played them 3 dB hot.  This pins wimsd's side to within
 * 0.5 dB of what went in. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <opus/opus.h>

#include "codec/g711.h"
#include "codec/transcode.h"
#include "tone.h"

#define FS 32767.0 /* tone_check.py's full scale */
#define PT_PCMU 0
#define PT_OPUS 111
/* the Opus fmtp of test_ng_transcode_g711's offer: wimsd's encoder toward
 * the offerer gets it (mediactl/alg_xcode.c: side_cfg) */
#define OFFER_FMTP "minptime=10;useinbandfec=1"

/* tone_check.py's level: dBFS of the tone from the RMS, 0 dBFS = a
 * full-scale sine; every `stride`th sample (the first channel). */
static double level_dbfs(const int16_t *pcm, size_t n, size_t stride)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)pcm[i * stride] * pcm[i * stride];
	return 20 * log10(sqrt(s / (double)n) * sqrt(2.0) / FS);
}

static double amp_of(double dbfs)
{
	return FS * pow(10, dbfs / 20);
}

/* ---- G.711 alone ---- */

static void g711_round_trip(bool ulaw, double freq, double dbfs)
{
	enum { N = 8000 * 2 };
	static int16_t pcm[N], back[N];
	static uint8_t code[N];
	struct tone t;

	tone_init(&t, freq, 8000, amp_of(dbfs));
	tone_fill(&t, pcm, N);
	if (ulaw) {
		wims_g711_ulaw_encode(pcm, code, N);
		wims_g711_ulaw_decode(code, back, N);
	} else {
		wims_g711_alaw_encode(pcm, code, N);
		wims_g711_alaw_decode(code, back, N);
	}
	double in = level_dbfs(pcm, N, 1), out = level_dbfs(back, N, 1);
	print_message("%s %g Hz %g dBFS: in %.3f, out %.3f dBFS (%+.3f dB)\n", ulaw ? "PCMU" : "PCMA", freq,
		      dbfs, in, out, out - in);
	assert_true(fabs(in - dbfs) < 0.01); /* the generator itself */
	assert_true(fabs(out - in) < 0.1);
}

/* The tables' scale (mu-law 14-bit magnitudes << 2, A-law 13-bit << 3) is
 * checked code by code against the G.711 formulas in test_g711.c; this is
 * what that scale does to a tone's level. */
static void test_g711_round_trip(void **state)
{
	/* 1004 Hz: ITU-T O.133's test tone, not a sub-multiple of 8 kHz;
	 * 700 Hz: test_ng_transcode_g711's */
	static const double freqs[] = {1004, 700};
	static const double levels[] = {-10, -20, -30};

	for (unsigned f = 0; f < 2; f++)
		for (unsigned l = 0; l < 3; l++) {
			g711_round_trip(true, freqs[f], levels[l]);
			g711_round_trip(false, freqs[f], levels[l]);
		}
	/* 1000 Hz is 8 samples repeated, so the quantisation errors never
	 * average out (+0.07 dB here, +0.16 dB at -30 dBFS): at -20 only */
	g711_round_trip(true, 1000, -20);
	g711_round_trip(false, 1000, -20);
}

/* ---- PCMU -> transcoder -> Opus -> libopus ---- */

static void rtp_header(uint8_t *p, uint8_t pt, uint16_t seq, uint32_t ts)
{
	p[0] = 0x80;
	p[1] = pt;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	p[8] = p[9] = p[10] = p[11] = 0x5a;
}

static void side(struct wims_xcode_side *s, enum wims_codec_id id, uint8_t pt, const char *fmtp)
{
	memset(s, 0, sizeof(*s));
	s->codec = wims_codec_get(id);
	wims_codec_params_init(&s->params);
	s->pt = pt;
	s->te_pt = -1;
	s->ptime = 20;
	if (fmtp)
		assert_true(wims_opus_fmtp_apply(wims_str_c(fmtp), &s->params) > 0);
}

struct opus_rx {
	OpusDecoder *dec;
	int channels;
	int16_t *pcm;  /* interleaved */
	size_t n, cap; /* frames */
};

static void drain_opus(struct wims_xcode *x, struct opus_rx *rx)
{
	uint8_t pk[1500];
	size_t n;

	while ((n = wims_xcode_output(x, pk, sizeof(pk))) > 0) {
		assert_true(n > 12);
		assert_int_equal(pk[1] & 0x7f, PT_OPUS);
		assert_true(rx->n + 5760 <= rx->cap);
		int r = opus_decode(rx->dec, pk + 12, (opus_int32)(n - 12),
				    rx->pcm + rx->n * (size_t)rx->channels, 5760, 0);
		assert_true(r > 0);
		rx->n += (size_t)r;
	}
}

/* A tone as PCMU packets of `ptime_samples` (160: 20 ms; 1024: what ffmpeg's
 * RTP muxer sends, as in the integration test) into the transcoder toward
 * Opus with fmtp; wimsd's packets decoded by libopus at rate/channels. */
static void pcmu_to_opus(double freq, double dbfs, size_t ptime_samples, const char *fmtp, opus_int32 rate,
			 int channels)
{
	enum { SECONDS = 3 };
	struct wims_xcode_cfg cfg = {.ssrc = 0x1234, .seq = 65000, .ts = 0xffff0000u};
	struct wims_xcode *x;
	struct opus_rx rx = {.channels = channels};
	size_t total = 8000 * SECONDS;
	int16_t *in = calloc(total, sizeof(*in));
	uint8_t pk[12 + 1024];
	struct tone t;
	int err;

	assert_non_null(in);
	side(&cfg.in, WIMS_CODEC_PCMU, PT_PCMU, NULL);
	side(&cfg.out, WIMS_CODEC_OPUS, PT_OPUS, fmtp);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	rx.dec = opus_decoder_create(rate, channels, &err);
	assert_non_null(rx.dec);
	rx.cap = (size_t)rate * (SECONDS + 1);
	rx.pcm = calloc(rx.cap * (size_t)channels, sizeof(int16_t));
	assert_non_null(rx.pcm);

	tone_init(&t, freq, 8000, amp_of(dbfs));
	tone_fill(&t, in, total);
	uint16_t seq = 300;
	for (size_t off = 0; off + ptime_samples <= total; off += ptime_samples) {
		rtp_header(pk, PT_PCMU, seq++, (uint32_t)(7777 + off));
		wims_g711_ulaw_encode(in + off, pk + 12, ptime_samples);
		assert_int_equal(wims_xcode_input(x, pk, 12 + ptime_samples), 0);
		drain_opus(x, &rx);
	}
	/* past the codec's start-up (0.5 s, as tone_check.py's --skip), all channels */
	size_t skip = (size_t)rate / 2;
	assert_true(rx.n > skip + (size_t)rate);
	double lin = level_dbfs(in + 4000, total - 4000, 1);
	double lout[2];
	for (int c = 0; c < channels; c++)
		lout[c] =
		    level_dbfs(rx.pcm + skip * (size_t)channels + (size_t)c, rx.n - skip, (size_t)channels);
	print_message("PCMU(%zu) -> opus(%s) -> libopus %d Hz/%d: %g Hz in %.2f dBFS, out %.2f dBFS "
		      "(%+.2f dB)\n",
		      ptime_samples, fmtp ? fmtp : "-", rate, channels, freq, lin, lout[0], lout[0] - lin);
	assert_true(fabs(lin - dbfs) < 0.01);
	for (int c = 0; c < channels; c++)
		assert_true(fabs(lout[c] - lin) < 0.5);
	opus_decoder_destroy(rx.dec);
	free(rx.pcm);
	free(in);
	wims_xcode_free(x);
}

static void test_pcmu_to_opus(void **state)
{
	/* as the integration test: 700 Hz, 128 ms PCMU packets, the offer's
	 * fmtp, decoded as opus/48000/2 */
	pcmu_to_opus(700, -20, 1024, OFFER_FMTP, 48000, 2);
	pcmu_to_opus(1004, -20, 160, OFFER_FMTP, 48000, 2);
	pcmu_to_opus(1004, -20, 160, NULL, 48000, 1);
	pcmu_to_opus(1004, -20, 160, NULL, 8000, 1);
	pcmu_to_opus(1004, -10, 160, OFFER_FMTP, 48000, 2);
	pcmu_to_opus(1004, -30, 160, OFFER_FMTP, 48000, 2);
	pcmu_to_opus(300, -20, 160, OFFER_FMTP, 48000, 2);
	pcmu_to_opus(2000, -20, 160, OFFER_FMTP, 48000, 2);
}

/* ---- libopus -> transcoder -> PCMU -> our table ---- */

static void opus_to_pcmu(double freq, double dbfs)
{
	enum { SECONDS = 3 };
	struct wims_xcode_cfg cfg = {.ssrc = 0x4321, .seq = 9, .ts = 99};
	struct wims_xcode *x;
	OpusEncoder *enc;
	int err;
	size_t total = 48000 * SECONDS, got = 0;
	int16_t *in = calloc(total, sizeof(*in));
	int16_t *out = calloc(8000 * (SECONDS + 1), sizeof(*out));
	uint8_t pk[1500], o[1500];
	struct tone t;

	assert_non_null(in);
	assert_non_null(out);
	side(&cfg.in, WIMS_CODEC_OPUS, PT_OPUS, NULL);
	side(&cfg.out, WIMS_CODEC_PCMU, PT_PCMU, NULL);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	/* a browser's encoder: 48 kHz, 20 ms */
	enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	assert_non_null(enc);
	tone_init(&t, freq, 48000, amp_of(dbfs));
	tone_fill(&t, in, total);
	uint16_t seq = 1;
	for (size_t off = 0; off + 960 <= total; off += 960) {
		opus_int32 r = opus_encode(enc, in + off, 960, pk + 12, (opus_int32)sizeof(pk) - 12);
		assert_true(r > 0);
		rtp_header(pk, PT_OPUS, seq++, (uint32_t)off);
		assert_int_equal(wims_xcode_input(x, pk, 12 + (size_t)r), 0);
		size_t n;
		while ((n = wims_xcode_output(x, o, sizeof(o))) > 0) {
			assert_int_equal(o[1] & 0x7f, PT_PCMU);
			assert_true(got + n - 12 <= 8000 * (SECONDS + 1));
			wims_g711_ulaw_decode(o + 12, out + got, n - 12);
			got += n - 12;
		}
	}
	assert_true(got > 8000 * 2);
	double lin = level_dbfs(in + 24000, total - 24000, 1), lout = level_dbfs(out + 4000, got - 4000, 1);
	print_message("opus -> PCMU: %g Hz in %.2f dBFS, out %.2f dBFS (%+.2f dB)\n", freq, lin, lout,
		      lout - lin);
	assert_true(fabs(lout - lin) < 0.5);
	opus_encoder_destroy(enc);
	wims_xcode_free(x);
	free(in);
	free(out);
}

static void test_opus_to_pcmu(void **state)
{
	opus_to_pcmu(700, -20);
	opus_to_pcmu(1004, -20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_g711_round_trip),
	    cmocka_unit_test(test_pcmu_to_opus),
	    cmocka_unit_test(test_opus_to_pcmu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
