/* Codec engines: each encoder/decoder pair carries a tone (frequency within
 * 2 %, level within 3 dB after warm-up); concealment; garbage input; the
 * 2x resampler. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec.h"
#include "codec/resample.h"
#include "tone.h"

#define AMP 8000.0

/* Encode then decode one second of a freq tone through codec id at rate
 * (0 = native) in frames of frame_ms; check the last half. */
static void roundtrip(enum wims_codec_id id, uint32_t rate, unsigned frame_ms, double freq)
{
	const struct wims_codec_desc *c = wims_codec_get(id);
	struct wims_codec_params p;
	struct wims_enc *enc = NULL;
	struct wims_dec *dec = NULL;
	static int16_t out[48000];
	int16_t in[2880];
	uint8_t buf[1500];
	struct tone t;
	size_t n = 0;

	wims_codec_params_init(&p);
	p.pcm_rate = rate;
	assert_int_equal(wims_enc_new(&enc, c, &p), 0);
	assert_int_equal(wims_dec_new(&dec, c, &p), 0);
	rate = wims_enc_rate(enc);
	assert_int_equal(wims_dec_rate(dec), rate);
	tone_init(&t, freq, rate, AMP);
	size_t fs = rate / 1000 * frame_ms;
	while (n + fs <= rate) {
		tone_fill(&t, in, fs);
		int r = wims_enc_frame(enc, in, fs, buf, sizeof(buf));
		assert_true(r > 0);
		int k = wims_dec_frame(dec, buf, (size_t)r, out + n, sizeof(out) / 2 - n);
		assert_int_equal(k, (int)fs);
		n += (size_t)k;
	}
	double f = tone_freq(out + n / 2, n / 2, rate);
	double db = tone_rms_db(out + n / 2, n / 2) - tone_amp_db(AMP);
	print_message("%s@%u %ums: %.1f Hz, %+.2f dB\n", c->name, rate, frame_ms, f, db);
	assert_true(fabs(f - freq) < freq * 0.02);
	assert_true(fabs(db) < 3.0);
	wims_enc_free(enc);
	wims_dec_free(dec);
}

static void test_pcmu(void **state)
{
	roundtrip(WIMS_CODEC_PCMU, 0, 20, 1000);
}

static void test_pcma(void **state)
{
	roundtrip(WIMS_CODEC_PCMA, 0, 20, 440);
}

static void test_amrnb(void **state)
{
	roundtrip(WIMS_CODEC_AMR, 0, 20, 1000);
	roundtrip(WIMS_CODEC_AMR, 0, 20, 440);
}

static void test_amrwb(void **state)
{
	roundtrip(WIMS_CODEC_AMRWB, 0, 20, 1000);
	roundtrip(WIMS_CODEC_AMRWB, 0, 20, 440);
}

static void test_opus_rates(void **state)
{
	roundtrip(WIMS_CODEC_OPUS, 0, 20, 1000);
	roundtrip(WIMS_CODEC_OPUS, 16000, 20, 1000);
	roundtrip(WIMS_CODEC_OPUS, 8000, 20, 440);
	roundtrip(WIMS_CODEC_OPUS, 16000, 60, 1000);
	roundtrip(WIMS_CODEC_OPUS, 48000, 40, 440);
}

static void test_lookup(void **state)
{
	assert_ptr_equal(wims_codec_find(wims_str_c("AMR-WB")), wims_codec_get(WIMS_CODEC_AMRWB));
	assert_ptr_equal(wims_codec_find(wims_str_c("OPUS")), wims_codec_get(WIMS_CODEC_OPUS));
	assert_null(wims_codec_find(wims_str_c("G729")));
	assert_null(wims_codec_get(WIMS_CODEC__COUNT));
	assert_int_equal(wims_codec_get(WIMS_CODEC_OPUS)->rtp_clock, 48000);
	assert_int_equal(wims_codec_get(WIMS_CODEC_PCMA)->static_pt, 8);
}

static void test_bad_rate_and_sizes(void **state)
{
	struct wims_codec_params p;
	struct wims_enc *e;
	struct wims_dec *d;
	int16_t pcm[960] = {0};
	uint8_t out[64];

	wims_codec_params_init(&p);
	p.pcm_rate = 16000;
	assert_int_equal(wims_dec_new(&d, wims_codec_get(WIMS_CODEC_AMR), &p), -EINVAL);
	p.pcm_rate = 44100;
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_OPUS), &p), -EINVAL);
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_AMR), NULL), 0);
	assert_int_equal(wims_enc_frame(e, pcm, 159, out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_enc_frame(e, pcm, 160, out, 4), -ENOSPC);
	wims_enc_free(e);
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_OPUS), NULL), 0);
	assert_int_equal(wims_enc_frame(e, pcm, 100, out, sizeof(out)), -EINVAL);
	wims_enc_free(e);
}

static void test_amr_modes(void **state)
{
	struct wims_codec_params p;
	struct wims_enc *e;
	int16_t pcm[320] = {0};
	uint8_t out[64];

	wims_codec_params_init(&p);
	p.mode_set = (1 << 0) | (1 << 2) | (1 << 5);
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_AMR), &p), 0);
	assert_int_equal(wims_enc_mode(e), 5);
	assert_int_equal(wims_enc_set_mode(e, 4), 0);
	assert_int_equal(wims_enc_mode(e), 2);
	assert_int_equal(wims_enc_set_mode(e, 9), -EINVAL);
	int r = wims_enc_frame(e, pcm, 160, out, sizeof(out));
	assert_true(r > 0);
	assert_int_equal((out[0] >> 3) & 15, 2); /* 5.9 kbit/s frame */
	wims_enc_free(e);
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_AMRWB), NULL), 0);
	assert_int_equal(wims_enc_mode(e), 8);
	assert_int_equal(wims_enc_set_mode(e, 2), 0);
	r = wims_enc_frame(e, pcm, 320, out, sizeof(out));
	assert_int_equal(r, 1 + 32); /* 12.65: 253 bits */
	assert_int_equal((out[0] >> 3) & 15, 2);
	wims_enc_free(e);
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_PCMU), NULL), 0);
	assert_int_equal(wims_enc_set_mode(e, 2), -ENOTSUP);
	assert_int_equal(wims_enc_mode(e), -1);
	wims_enc_free(e);
}

static void test_plc(void **state)
{
	static const enum wims_codec_id ids[] = {WIMS_CODEC_PCMU, WIMS_CODEC_AMR,
						 WIMS_CODEC_AMRWB, WIMS_CODEC_OPUS};
	int16_t pcm[960];

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct wims_dec *d;
		assert_int_equal(wims_dec_new(&d, wims_codec_get(ids[i]), NULL), 0);
		size_t f = wims_dec_rate(d) / 50;
		for (int k = 0; k < 5; k++)
			assert_int_equal(wims_dec_plc(d, NULL, 0, pcm, f), (int)f);
		assert_int_equal(wims_dec_plc(d, NULL, 0, pcm, f + 1), -EINVAL);
		assert_int_equal(wims_dec_plc(d, NULL, 0, pcm, 0), -EINVAL);
		wims_dec_free(d);
	}
}

/* A lost packet is rebuilt from the next packet's FEC: the result differs
 * from plain PLC run on a twin decoder with the same history. */
static void test_opus_fec(void **state)
{
	struct wims_codec_params p;
	struct wims_enc *e;
	struct wims_dec *d, *twin;
	int16_t in[320], out[320], plc[320];
	uint8_t pk[400];
	struct tone t;
	bool differs = false;

	wims_codec_params_init(&p);
	p.pcm_rate = 16000;
	p.useinbandfec = true;
	p.loss_pct = 20;
	assert_int_equal(wims_enc_new(&e, wims_codec_get(WIMS_CODEC_OPUS), &p), 0);
	assert_int_equal(wims_dec_new(&d, wims_codec_get(WIMS_CODEC_OPUS), &p), 0);
	assert_int_equal(wims_dec_new(&twin, wims_codec_get(WIMS_CODEC_OPUS), &p), 0);
	tone_init(&t, 440, 16000, AMP);
	for (int i = 0; i < 50; i++) {
		tone_fill(&t, in, 320);
		int r = wims_enc_frame(e, in, 320, pk, sizeof(pk));
		assert_true(r > 0);
		if (i == 30) /* lost: recovered from the next packet's FEC */
			continue;
		if (i == 31) {
			assert_int_equal(wims_dec_plc(d, pk, (size_t)r, out, 320), 320);
			assert_int_equal(wims_dec_plc(twin, NULL, 0, plc, 320), 320);
			differs = memcmp(out, plc, sizeof(out)) != 0;
		}
		assert_int_equal(wims_dec_frame(d, pk, (size_t)r, out, 320), 320);
		assert_int_equal(wims_dec_frame(twin, pk, (size_t)r, plc, 320), 320);
	}
	assert_true(differs);
	wims_enc_free(e);
	wims_dec_free(d);
	wims_dec_free(twin);
}

static void test_garbage(void **state)
{
	static const enum wims_codec_id ids[] = {WIMS_CODEC_PCMU, WIMS_CODEC_PCMA, WIMS_CODEC_AMR,
						 WIMS_CODEC_AMRWB, WIMS_CODEC_OPUS};
	static int16_t pcm[WIMS_CODEC_MAX_PCM];
	uint8_t junk[200];
	uint32_t seed = 12345;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct wims_dec *d;
		assert_int_equal(wims_dec_new(&d, wims_codec_get(ids[i]), NULL), 0);
		for (int k = 0; k < 2000; k++) {
			size_t len = (size_t)(seed >> 8) % sizeof(junk);
			for (size_t j = 0; j < len; j++) {
				seed = seed * 1103515245u + 12345u;
				junk[j] = (uint8_t)(seed >> 16);
			}
			int r = wims_dec_frame(d, junk, len, pcm, WIMS_CODEC_MAX_PCM);
			assert_true(r >= -ENOSPC || r == -EBADMSG);
			assert_true(r <= WIMS_CODEC_MAX_PCM);
		}
		/* Storage frame shorter than its FT says. */
		if (ids[i] == WIMS_CODEC_AMR || ids[i] == WIMS_CODEC_AMRWB) {
			uint8_t shortf[5] = {7 << 3};
			assert_int_equal(wims_dec_frame(d, shortf, sizeof(shortf), pcm, 960), -EBADMSG);
			assert_int_equal(wims_dec_frame(d, shortf, 0, pcm, 960), -EBADMSG);
		}
		wims_dec_free(d);
	}
}

static void test_resampler(void **state)
{
	struct wims_resampler up, down;
	static int16_t in[8000], mid[16000], out[8000];
	struct tone t;

	wims_resampler_init(&up, 1);
	wims_resampler_init(&down, 0);
	tone_init(&t, 1000, 8000, AMP);
	for (size_t off = 0; off < 8000; off += 160) {
		tone_fill(&t, in + off, 160);
		assert_int_equal(wims_resample(&up, in + off, 160, mid + 2 * off, 320), 320);
		assert_int_equal(wims_resample(&down, mid + 2 * off, 320, out + off, 160), 160);
	}
	double f16 = tone_freq(mid + 4000, 12000, 16000);
	double f8 = tone_freq(out + 2000, 6000, 8000);
	print_message("resampler: %.1f Hz at 16k, %.1f Hz back at 8k\n", f16, f8);
	assert_true(fabs(f16 - 1000) < 5);
	assert_true(fabs(f8 - 1000) < 5);
	assert_true(fabs(tone_rms_db(mid + 4000, 12000) - tone_amp_db(AMP)) < 0.5);
	assert_true(fabs(tone_rms_db(out + 2000, 6000) - tone_amp_db(AMP)) < 0.5);
	/* An image above 4 kHz is removed by the decimator: 6 kHz at 16k. */
	tone_init(&t, 6000, 16000, AMP);
	for (size_t off = 0; off < 16000; off += 320) {
		tone_fill(&t, mid, 320);
		assert_int_equal(wims_resample(&down, mid, 320, out + off / 2, 160), 160);
	}
	assert_true(tone_rms_db(out + 2000, 6000) < tone_amp_db(AMP) - 40);
	assert_int_equal(wims_resample(&down, mid, 3, out, 10), -EINVAL);
	assert_int_equal(wims_resample(&up, in, 10, mid, 19), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_pcmu),
		cmocka_unit_test(test_pcma),
		cmocka_unit_test(test_amrnb),
		cmocka_unit_test(test_amrwb),
		cmocka_unit_test(test_opus_rates),
		cmocka_unit_test(test_bad_rate_and_sizes),
		cmocka_unit_test(test_amr_modes),
		cmocka_unit_test(test_plc),
		cmocka_unit_test(test_opus_fec),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_resampler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
