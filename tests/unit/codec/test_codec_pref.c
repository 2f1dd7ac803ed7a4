/* Codec preference lists, the Opus fmtp of the receiving side as encoder
 * parameters, and their effect: usedtx=1 makes the Opus encoder of a
 * transcoder send far fewer octets and packets in silence. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec/transcode.h"

static void test_pref_parse(void **state)
{
	(void)state;
	struct wims_codec_pref p;
	struct wims_str bad = WIMS_STR_NULL;

	assert_int_equal(wims_codec_pref_parse(&p, wims_str_c("opus, amr-wb, PCMA,pcmu  AMR"), &bad), 0);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.id[0], WIMS_CODEC_OPUS);
	assert_int_equal(p.id[1], WIMS_CODEC_AMRWB);
	assert_int_equal(p.id[2], WIMS_CODEC_PCMA);
	assert_int_equal(p.id[3], WIMS_CODEC_PCMU);
	assert_int_equal(p.id[4], WIMS_CODEC_AMR);
	assert_int_equal(wims_codec_pref_rank(&p, WIMS_CODEC_AMR), 4);

	assert_int_equal(wims_codec_pref_parse(&p, wims_str_c("AMR, , pcmu"), NULL), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(wims_codec_pref_rank(&p, WIMS_CODEC_OPUS), -1);
	assert_int_equal(wims_codec_pref_parse(&p, wims_str_c(""), NULL), 0);
	assert_int_equal(p.n, 0);

	assert_int_equal(wims_codec_pref_parse(&p, wims_str_c("opus, g729, amr"), &bad), -EINVAL);
	assert_true(wims_str_eqc(bad, "g729"));
	assert_int_equal(wims_codec_pref_parse(&p, wims_str_c("opus,AMR,amr"), &bad), -EINVAL);
	assert_true(wims_str_eqc(bad, "amr"));
	assert_true(wims_codec_is_amr(WIMS_CODEC_AMRWB));
	assert_false(wims_codec_is_amr(WIMS_CODEC_PCMA));
}

static void test_opus_fmtp(void **state)
{
	(void)state;
	struct wims_codec_params p;

	wims_codec_params_init(&p);
	assert_int_equal(wims_opus_fmtp_apply(wims_str_c("minptime=10;useinbandfec=1; usedtx=1;"
							 "maxplaybackrate=16000;sprop-maxcapturerate=16000;"
							 "maxaveragebitrate=20000;stereo=1;sprop-stereo=0"),
					      &p),
			 6);
	assert_true(p.useinbandfec);
	assert_true(p.usedtx);
	assert_int_equal(p.maxplaybackrate, 16000);
	assert_int_equal(p.bitrate, 20000);

	/* absent = RFC 7587 defaults; bad values ignored */
	assert_int_equal(wims_opus_fmtp_apply(wims_str_c("usedtx=2;maxaveragebitrate=100;maxplaybackrate=x"), &p),
			 0);
	assert_false(p.useinbandfec);
	assert_false(p.usedtx);
	assert_int_equal(p.maxplaybackrate, 0);
	assert_int_equal(p.bitrate, 0);
	assert_int_equal(wims_opus_fmtp_apply(WIMS_STR_NULL, &p), 0);
	assert_int_equal(wims_opus_fmtp_apply(wims_str_c("=;;=1;usedtx"), &p), 0);
}

/* 3 s of PCMU silence through a PCMU -> Opus transcoder */
static void silence_run(bool usedtx, uint64_t *packets, uint64_t *octets)
{
	struct wims_xcode_cfg c;
	struct wims_xcode *x = NULL;
	uint8_t in[12 + 160], out[1500];

	memset(&c, 0, sizeof(c));
	c.in.codec = wims_codec_get(WIMS_CODEC_PCMU);
	wims_codec_params_init(&c.in.params);
	c.in.pt = 0;
	c.in.te_pt = -1;
	c.out.codec = wims_codec_get(WIMS_CODEC_OPUS);
	wims_codec_params_init(&c.out.params);
	assert_int_equal(wims_opus_fmtp_apply(wims_str_c(usedtx ? "useinbandfec=1;usedtx=1" : "useinbandfec=1"),
					      &c.out.params),
			 usedtx ? 2 : 1);
	c.out.pt = 111;
	c.out.te_pt = -1;
	c.ssrc = 1;
	assert_int_equal(wims_xcode_new(&x, &c), 0);
	*packets = *octets = 0;
	for (unsigned i = 0; i < 150; i++) {
		memset(in, 0, 12);
		in[0] = 0x80;
		in[2] = (uint8_t)(i >> 8);
		in[3] = (uint8_t)i;
		uint32_t ts = i * 160;
		in[4] = (uint8_t)(ts >> 24);
		in[5] = (uint8_t)(ts >> 16);
		in[6] = (uint8_t)(ts >> 8);
		in[7] = (uint8_t)ts;
		in[11] = 7;
		memset(in + 12, 0xff, 160); /* mu-law zero */
		assert_int_equal(wims_xcode_input(x, in, sizeof(in)), 0);
		size_t n;
		while ((n = wims_xcode_output(x, out, sizeof(out))) > 0) {
			(*packets)++;
			*octets += n - 12;
		}
	}
	wims_xcode_free(x);
}

static void test_usedtx_silence(void **state)
{
	(void)state;
	uint64_t p0, o0, p1, o1;

	silence_run(false, &p0, &o0);
	silence_run(true, &p1, &o1);
	printf("silence 3 s: without DTX %llu packets %llu octets, usedtx=1 %llu packets %llu octets\n",
	       (unsigned long long)p0, (unsigned long long)o0, (unsigned long long)p1,
	       (unsigned long long)o1);
	assert_true(p0 >= 140);
	assert_true(p1 * 4 < p0);
	assert_true(o1 * 4 < o0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pref_parse),
	    cmocka_unit_test(test_opus_fmtp),
	    cmocka_unit_test(test_usedtx_silence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
